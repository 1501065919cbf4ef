// Throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temp dir owned by the
// `postgres` user, started with pg_ctl on a free port, removed by stop(). Needs root (runuser) or
// to run as postgres, and the Debian binaries in /usr/lib/postgresql/<version>/bin.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/devchain/anvil.ts';

export interface TestPostgres {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  return path.join(root, versions[0], 'bin');
}

/**
 * `durable: false` (default) turns off fsync and synchronous commit: fine for tests, which throw the
 * cluster away. Benchmarks pass `durable: true` to measure a normally configured server.
 */
export async function startPostgres(opts: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'pipe' })
      : execFileSync(path.join(bin, cmd), args, { stdio: 'pipe' });
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-pg-'));
  const dataDir = path.join(base, 'data');
  const socketDir = path.join(base, 'sock');
  fs.mkdirSync(socketDir);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    fs.chownSync(base, uid, gid);
    fs.chownSync(socketDir, uid, gid);
  }
  const port = await freePort();
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale']);
  const options = [`-p ${port}`, `-k ${socketDir}`, '-h 127.0.0.1'];
  if (!opts.durable) options.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
  run('pg_ctl', ['-D', dataDir, '-o', options.join(' '), '-l', path.join(base, 'server.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop']);
      } catch {}
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
