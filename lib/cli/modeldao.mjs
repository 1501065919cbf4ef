#!/usr/bin/env node
// `modeldao` launcher. Runs the TypeScript CLI (lib/cli/main.ts) from any working directory.
// Loading viem through a TS loader's hooks costs seconds per start, so the CLI is bundled once with
// esbuild (already in node_modules via tsx) into a cache and re-bundled whenever a source file or
// package-lock.json changes. Without esbuild it falls back to tsx's loader.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
process.env.MODELDAO_PACKAGE_ROOT ??= root;
const entry = path.join(here, 'main.ts');

function cacheDirs() {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'u';
  return [path.join(root, 'node_modules', '.cache', 'modeldao-cli'), path.join(os.tmpdir(), `modeldao-cli-${uid}`)];
}

function stamp(file) {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st ? `${st.mtimeMs}:${st.size}` : 'missing';
}

// A cache outside the package (the os.tmpdir() fallback) is only used when it is ours and nobody
// else may write to it: another user could otherwise plant code there for us to run.
function isPrivate(dir) {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) return false;
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
}

function isFresh(dir) {
  try {
    if (!dir.startsWith(root + path.sep) && !isPrivate(dir)) return false;
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
    if (!fs.existsSync(path.join(dir, 'cli.mjs'))) return false;
    return Object.entries(meta.inputs).every(([f, s]) => stamp(path.resolve(root, f)) === s);
  } catch {
    return false;
  }
}

async function bundle(dir) {
  const esbuild = await import('esbuild');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!dir.startsWith(root + path.sep) && !isPrivate(dir)) throw new Error(`${dir} is not private`);
  const tmp = path.join(dir, `cli.${process.pid}.${crypto.randomBytes(4).toString('hex')}.mjs`);
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: tmp,
    metafile: true,
    logLevel: 'error',
    banner: { js: "import { createRequire as __modeldaoCreateRequire } from 'node:module'; const require = __modeldaoCreateRequire(import.meta.url);" },
  });
  // Our sources by mtime; dependencies through the lockfile.
  const inputs = { 'package-lock.json': stamp(path.join(root, 'package-lock.json')) };
  for (const f of Object.keys(result.metafile.inputs)) {
    if (!f.includes('node_modules/')) {
      const abs = path.resolve(root, f);
      inputs[path.relative(root, abs)] = stamp(abs);
    }
  }
  fs.renameSync(tmp, path.join(dir, 'cli.mjs'));
  fs.writeFileSync(path.join(dir, 'inputs.json'), JSON.stringify({ inputs }));
}

async function load() {
  for (const dir of cacheDirs()) {
    if (isFresh(dir)) return import(pathToFileURL(path.join(dir, 'cli.mjs')).href);
  }
  for (const dir of cacheDirs()) {
    try {
      await bundle(dir);
      return import(pathToFileURL(path.join(dir, 'cli.mjs')).href);
    } catch {
      /* read-only location or no esbuild: next */
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(entry).href);
}

const { main } = await load();
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Keep-alive sockets must not hold the process open once the work is done.
setTimeout(() => process.exit(code), 50).unref();
