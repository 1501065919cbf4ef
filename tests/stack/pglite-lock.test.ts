// The PGlite data-dir lock (db/client.ts): identified by pid and a random token, so a re-open in the
// same process never takes its own lock as stale, and a lock left by a dead process is taken over.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseLockedError, openDatabase } from '../../db/client.ts';

const dirs: string[] = [];
function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-pglite-lock-'));
  dirs.push(d);
  return path.join(d, 'pglite');
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('PGlite data-dir lock', () => {
  it('a re-open while the previous handle is still closing waits for it and keeps its own lock', async () => {
    const pgliteDir = dataDir();
    const lock = path.join(pgliteDir, '.modeldao.lock');
    const first = await openDatabase({ pgliteDir });
    const firstLock = fs.readFileSync(lock, 'utf8');
    expect(firstLock).toMatch(new RegExp(`^${process.pid} [0-9a-f]{32}$`));
    const closing = first.close();
    const second = await openDatabase({ pgliteDir });
    await closing;
    // The first handle's release must not have removed the second's lock.
    expect(fs.existsSync(lock)).toBe(true);
    const secondLock = fs.readFileSync(lock, 'utf8');
    expect(secondLock).not.toBe(firstLock);
    expect((await second.db.execute(sql`select 1 as one`)).rows ?? []).toBeTruthy(); // still usable
    await second.close();
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('keeps out a live process and takes over a lock whose owner is dead', async () => {
    const pgliteDir = dataDir();
    fs.mkdirSync(pgliteDir, { recursive: true });
    const lock = path.join(pgliteDir, '.modeldao.lock');
    // pid 1 is alive (and not us).
    fs.writeFileSync(lock, `1 ${'a'.repeat(32)}`);
    await expect(openDatabase({ pgliteDir })).rejects.toThrow(DatabaseLockedError);
    // A process that has exited: its pid is free.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.writeFileSync(lock, `${dead} ${'b'.repeat(32)}`);
    const db = await openDatabase({ pgliteDir });
    expect(fs.readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await db.close();
  });
});
