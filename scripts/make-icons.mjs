#!/usr/bin/env node
// Writes the static assets of public/ (favicon, app icons, social preview) from one drawing, with no
// download and no image library: the mark is defined once as geometry, written as SVG for browsers
// that take vector icons and rasterized here (anti-aliased by 4x4 supersampling) into PNGs encoded
// with node:zlib. The output is byte-for-byte deterministic; `npm run icons` re-creates it and a
// test (tests/stack/public-assets.test.ts) checks the committed files are what this script makes.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'public');

// The mark on a 64-unit square: a rounded tile, and three stacked layers (a model's weights) joined
// by a check (approved on chain).
const COLORS = { tile: [31, 58, 95], layer: [233, 240, 248], check: [94, 201, 140], bg: [246, 248, 251], ink: [31, 58, 95] };
const TILE_RADIUS = 14;
const LAYERS = [
  { x: 14, y: 15, w: 36, h: 7, r: 3.5 },
  { x: 14, y: 28.5, w: 36, h: 7, r: 3.5 },
  { x: 14, y: 42, w: 22, h: 7, r: 3.5 },
];
const CHECK = {
  points: [
    [39, 46],
    [44, 51],
    [53, 40],
  ],
  width: 4.5,
};

const hex = (c) => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');

function markSvg() {
  const layers = LAYERS.map((l) => `<rect x="${l.x}" y="${l.y}" width="${l.w}" height="${l.h}" rx="${l.r}" fill="${hex(COLORS.layer)}"/>`).join('');
  const check = `<polyline points="${CHECK.points.map((p) => p.join(',')).join(' ')}" fill="none" stroke="${hex(COLORS.check)}" stroke-width="${CHECK.width}" stroke-linecap="round" stroke-linejoin="round"/>`;
  return `<rect width="64" height="64" rx="${TILE_RADIUS}" fill="${hex(COLORS.tile)}"/>${layers}${check}`;
}

function svgIcon() {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64"><title>modeldao</title>${markSvg()}</svg>\n`;
}

// --- rasterizer: coverage of each shape in mark units, composited in order ---

function inRoundRect(x, y, r) {
  const { x: rx, y: ry, w, h, r: rad } = r;
  if (x < rx || y < ry || x > rx + w || y > ry + h) return false;
  const cx = Math.min(Math.max(x, rx + rad), rx + w - rad);
  const cy = Math.min(Math.max(y, ry + rad), ry + h - rad);
  return (x - cx) ** 2 + (y - cy) ** 2 <= rad * rad;
}

function distToSegment(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Color of the mark at (u, v) in mark units, or null outside the tile. */
function markAt(u, v) {
  if (!inRoundRect(u, v, { x: 0, y: 0, w: 64, h: 64, r: TILE_RADIUS })) return null;
  for (let i = 0; i < CHECK.points.length - 1; i++) {
    if (distToSegment(u, v, CHECK.points[i], CHECK.points[i + 1]) <= CHECK.width / 2) return COLORS.check;
  }
  for (const l of LAYERS) if (inRoundRect(u, v, l)) return COLORS.layer;
  return COLORS.tile;
}

/** RGBA pixels of a w×h image; `sample(u, v)` gives [r,g,b] or null (transparent) per sub-sample. */
function rasterize(w, h, sample, ss = 4) {
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = sample(x + (sx + 0.5) / ss, y + (sy + 0.5) / ss);
          if (!c) continue;
          r += c[0];
          g += c[1];
          b += c[2];
          a++;
        }
      }
      const o = (y * w + x) * 4;
      if (a > 0) {
        px[o] = Math.round(r / a);
        px[o + 1] = Math.round(g / a);
        px[o + 2] = Math.round(b / a);
      }
      px[o + 3] = Math.round((255 * a) / (ss * ss));
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(w, h, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(h * (w * 4 + 1));
  for (let y = 0; y < h; y++) rgba.copy(raw, y * (w * 4 + 1) + 1, y * w * 4, (y + 1) * w * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const iconPng = (size) =>
  png(
    size,
    size,
    rasterize(size, size, (x, y) => markAt((x / size) * 64, (y / size) * 64)),
  );

/** ICO holding PNG images (Vista+ and every current browser read PNG-in-ICO). */
function ico(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  const dir = Buffer.alloc(16 * images.length);
  let offset = 6 + dir.length;
  images.forEach(({ size, data }, i) => {
    const e = i * 16;
    dir[e] = size >= 256 ? 0 : size;
    dir[e + 1] = size >= 256 ? 0 : size;
    dir.writeUInt16LE(1, e + 4); // planes
    dir.writeUInt16LE(32, e + 6); // bpp
    dir.writeUInt32LE(data.length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, dir, ...images.map((i) => i.data)]);
}

/** 1200×630 social preview: the mark large on a light card, with three "weight layers" as a banner. */
function socialPreview() {
  const W = 1200;
  const H = 630;
  const markSize = 300;
  const mx = 150;
  const my = (H - markSize) / 2;
  const bars = [
    { x: 520, y: 215, w: 530, h: 48, r: 24, c: COLORS.ink },
    { x: 520, y: 295, w: 430, h: 36, r: 18, c: [120, 138, 160] },
    { x: 520, y: 355, w: 330, h: 36, r: 18, c: [170, 184, 200] },
  ];
  const rgba = rasterize(
    W,
    H,
    (x, y) => {
      if (x >= mx && x < mx + markSize && y >= my && y < my + markSize) {
        const c = markAt(((x - mx) / markSize) * 64, ((y - my) / markSize) * 64);
        if (c) return c;
      }
      for (const b of bars) if (inRoundRect(x, y, b)) return b.c;
      return COLORS.bg;
    },
    2,
  );
  return png(W, H, rgba);
}

export function buildAssets() {
  return {
    'favicon.svg': Buffer.from(svgIcon()),
    'favicon.ico': ico([16, 32, 48].map((size) => ({ size, data: iconPng(size) }))),
    'icon-192.png': iconPng(192),
    'icon-512.png': iconPng(512),
    'apple-touch-icon.png': iconPng(180),
    'og-image.png': socialPreview(),
    'site.webmanifest': Buffer.from(
      JSON.stringify(
        {
          name: 'modeldao',
          short_name: 'modeldao',
          description: 'Token holders decide, on chain, which weights of a community model are approved.',
          icons: [
            { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
            { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
            { src: '/favicon.svg', sizes: 'any', type: 'image/svg+xml' },
          ],
          theme_color: hex(COLORS.tile),
          background_color: hex(COLORS.bg),
          display: 'browser',
        },
        null,
        2,
      ) + '\n',
    ),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.mkdirSync(out, { recursive: true });
  for (const [name, bytes] of Object.entries(buildAssets())) {
    fs.writeFileSync(path.join(out, name), bytes);
    console.log(`public/${name} (${bytes.length} bytes)`);
  }
}
