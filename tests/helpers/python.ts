// A Python virtualenv with the real Hugging Face client libraries, made once and cached between runs
// under os.tmpdir(), keyed by the requirements and the Python version. Packages come from the local
// package index named in pip's global config (extra-index-url): without --index-url pip waits on PyPI.
import { execFile, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Two steps: transformers first, then huggingface_hub 2.x (tokenizers 0.23 declares hub < 2 for its own
// Tokenizer.from_pretrained, which nothing here calls; transformers 5.18 accepts hub < 3).
export const HF_REQUIREMENTS = [['safetensors', 'numpy', 'transformers'], ['huggingface_hub==2.0.0']];

function indexUrl(): string {
  if (process.env.MODELDAO_PIP_INDEX_URL) return process.env.MODELDAO_PIP_INDEX_URL;
  let out = '';
  try {
    out = execFileSync('pip', ['config', 'get', 'global.extra-index-url'], { encoding: 'utf8' });
  } catch {
    /* not configured */
  }
  const first = out.trim().split(/\s+/)[0];
  if (!first) throw new Error('no local Python package index: set MODELDAO_PIP_INDEX_URL or pip config global.extra-index-url');
  return first;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Path of the venv's python, creating the venv if needed (one creator at a time, others wait). */
export async function hfPython(): Promise<string> {
  const pyVersion = execFileSync('python3', ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' }).trim();
  const key = crypto.createHash('sha256').update(JSON.stringify({ HF_REQUIREMENTS, pyVersion })).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `modeldao-hf-venv-${key}`);
  const ready = path.join(dir, '.modeldao-ready');
  const lock = `${dir}.lock`;
  const python = path.join(dir, 'bin', 'python');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    if (fs.existsSync(ready)) return python;
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
    } catch {
      // Someone else is creating it: wait for them, or take over if they died.
      const pid = Number(fs.readFileSync(path.join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      if (pid && !alive(pid)) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      fs.rmSync(dir, { recursive: true, force: true });
      await run('python3', ['-m', 'venv', dir]);
      const index = indexUrl();
      for (const group of HF_REQUIREMENTS) {
        await run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '--index-url', index, ...group], {
          maxBuffer: 64 * 1024 * 1024,
        });
      }
      fs.writeFileSync(ready, new Date().toISOString());
      return python;
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
}

export interface PyResult {
  ok: boolean;
  error?: string;
  mro?: string[];
  message?: string;
  requests: string[];
  [k: string]: unknown;
}

/** Runs tests/hf/hf_client.py with these ops in one Python process; env as a user would set it. One result per op, in order. */
export function runHfClient<const Ops extends readonly Record<string, unknown>[]>(
  python: string,
  ops: Ops,
  env: Record<string, string>,
): Promise<{ huggingface_hub: string; results: { [K in keyof Ops]: PyResult } }> {
  const script = path.resolve(import.meta.dirname, '..', 'hf', 'hf_client.py');
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: env.HF_HOME ?? os.tmpdir(),
        HF_HUB_DISABLE_TELEMETRY: '1',
        HF_HUB_DISABLE_PROGRESS_BARS: '1',
        HF_HUB_ETAG_TIMEOUT: '30',
        TRANSFORMERS_VERBOSITY: 'error',
        NODE_ENV: 'test',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`hf_client.py exited ${code}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-4000)}`));
      }
    });
    child.stdin.end(JSON.stringify({ ops }));
  });
}
