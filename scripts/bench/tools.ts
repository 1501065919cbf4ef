// Small pieces the benches share: sizes from the command line, random test files, timed commands.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';

/** 256MiB, 1.5GiB, 2G, 1048576 … → bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${JSON.stringify(s)} (e.g. 256MiB, 1.5GiB)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/**
 * Writes `size` random, incompressible bytes with no repeated 1 MiB chunk (one random 16 MiB block,
 * varied by a counter every 4 KiB: cheap to make) and returns their sha256.
 */
export function writeRandomFile(file: string, size: number): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  const chunk = 16 * 1024 * 1024;
  const seed = crypto.randomBytes(chunk);
  for (let off = 0, i = 0; off < size; off += chunk, i++) {
    const buf = Buffer.from(seed.subarray(0, Math.min(chunk, size - off)));
    for (let j = 0; j + 4 <= buf.length; j += 4096) buf.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
    hash.update(buf);
    fs.writeSync(fd, buf);
  }
  fs.closeSync(fd);
  return hash.digest('hex');
}

/** CPU seconds (user+sys, all threads) process `pid` has used so far (/proc, USER_HZ = 100). */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * A command runner that times each command, wall clock and user+sys CPU seconds (GNU time, written
 * to `cpuFile`): CPU is the load-independent cost.
 */
export function timedExec(cpuFile: string) {
  return (cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ ms: number; stdout: string; cpu: number }> => {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, cmd, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const cpu = () =>
        fs
          .readFileSync(cpuFile, 'utf8')
          .trim()
          .split(/\s+/)
          .slice(-2)
          .reduce((a, x) => a + Number(x), 0);
      child.on('exit', (code) =>
        code === 0
          ? resolve({ ms: performance.now() - t0, stdout, cpu: cpu() })
          : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`)),
      );
    });
  };
}
