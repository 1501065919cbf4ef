import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAccessSecret } from '../../lib/access/token.ts';

const dirs: string[] = [];
const dataDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-secret-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('the access-token HMAC secret', () => {
  it('is generated once per data dir (32 random bytes, mode 0600) and read back after a restart', () => {
    const dir = dataDir();
    const first = loadAccessSecret({ dataDir: dir });
    expect(first.length).toBe(32);
    expect(fs.statSync(path.join(dir, 'access-token.secret')).mode & 0o777).toBe(0o600);
    expect(loadAccessSecret({ dataDir: dir }).equals(first)).toBe(true);
    expect(loadAccessSecret({ dataDir: dataDir() }).equals(first)).toBe(false);
  });

  it('refuses an empty or damaged secret file instead of signing tokens with a weak key', () => {
    for (const content of ['', '\n', 'zz', 'ab'.repeat(8)]) {
      const dir = dataDir();
      fs.writeFileSync(path.join(dir, 'access-token.secret'), content);
      expect(() => loadAccessSecret({ dataDir: dir })).toThrow(/does not hold a 32-byte hex secret/);
    }
  });
});
