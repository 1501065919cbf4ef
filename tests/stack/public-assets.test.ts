// public/ (favicon, app icons, social preview): committed, deterministic output of
// scripts/make-icons.mjs, and images of the sizes the metadata and the web manifest announce.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildAssets } from '../../scripts/make-icons.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function pngSize(b: Buffer): [number, number] {
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(b.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

describe('public/ assets', () => {
  const built = buildAssets() as Record<string, Buffer>;

  it('are committed exactly as scripts/make-icons.mjs makes them (run `npm run icons` after changing it)', () => {
    for (const [name, bytes] of Object.entries(built)) {
      const file = path.join(root, 'public', name);
      expect(fs.existsSync(file), `public/${name}`).toBe(true);
      expect(fs.readFileSync(file).equals(bytes), `public/${name} differs from the script's output`).toBe(true);
    }
    // and the script is deterministic
    const again = buildAssets() as Record<string, Buffer>;
    for (const name of Object.keys(built)) expect(again[name]!.equals(built[name]!)).toBe(true);
  });

  it('have the sizes the metadata announces', () => {
    expect(pngSize(built['icon-192.png']!)).toEqual([192, 192]);
    expect(pngSize(built['icon-512.png']!)).toEqual([512, 512]);
    expect(pngSize(built['apple-touch-icon.png']!)).toEqual([180, 180]);
    expect(pngSize(built['og-image.png']!)).toEqual([1200, 630]); // the 1.91:1 card size of Open Graph
    const ico = built['favicon.ico']!;
    expect(ico.readUInt16LE(2)).toBe(1);
    expect(ico.readUInt16LE(4)).toBe(3);
    expect([0, 1, 2].map((i) => ico[6 + i * 16])).toEqual([16, 32, 48]);
    const svg = built['favicon.svg']!.toString();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 64 64"/);
    expect(svg).not.toMatch(/<script|href=/);
    const manifest = JSON.parse(built['site.webmanifest']!.toString()) as { icons: { src: string }[] };
    for (const i of manifest.icons) expect(Object.keys(built)).toContain(i.src.slice(1));
  });

  it('are wired into the page metadata (icons, web manifest, social preview)', () => {
    const layout = fs.readFileSync(path.join(root, 'app', 'layout.tsx'), 'utf8');
    for (const url of ['/favicon.ico', '/favicon.svg', '/apple-touch-icon.png', '/site.webmanifest', '/og-image.png']) expect(layout).toContain(`'${url}'`);
    expect(layout).toMatch(/metadataBase: new URL\(getEnv\(\)\.publicBaseUrl\)/);
  });
});
