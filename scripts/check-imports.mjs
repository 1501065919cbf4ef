#!/usr/bin/env node
// npm run check:imports — the import-direction check (an early step of npm test).
//
// Layers point one way. Each rule below names who may not import whom; every import, export-from,
// dynamic import() and require() of every source file is checked (TypeScript's own pre-processor
// reads them, so comments and strings do not count). `import type` counts too: a type is a
// dependency on the module that owns it.
//
//   node scripts/check-imports.mjs [--root DIR]
//
// Exit 0: no violation. Exit 1: violations, one line each (file, specifier, rule). Exit 2: usage.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Rules: a file under `from` (and not under `except`) must not import a module under `to` (unless under `unless`). */
const RULES = [
  // lib/hf is an HTTP protocol adapter (the Hugging Face Hub wire protocol), shared by the server's /hf
  // routes and the CLI's local verifying endpoint: it belongs to the HTTP layer.
  {
    id: 'domain-no-http',
    from: 'lib/',
    except: ['lib/server/', 'lib/hf/'],
    to: ['lib/server/'],
    why: 'domain code never imports the HTTP layer: throw domain errors, map them to HTTP in lib/server',
  },
  { id: 'lib-no-app', from: 'lib/', to: ['app/'], why: 'lib never imports app (app imports lib)' },
  { id: 'lib-no-scripts-tests', from: 'lib/', to: ['scripts/', 'tests/'], why: 'lib never imports scripts or tests' },
  {
    id: 'server-no-devchain',
    from: 'lib/server/',
    to: ['lib/devchain/'],
    why: 'the production server never imports dev-chain code (anvil keys, deploy helpers)',
  },
  { id: 'chain-no-db', from: 'lib/chain/', to: ['db/'], why: 'lib/chain talks to the chain only; index queries live in lib/indexer' },
  { id: 'db-no-upper', from: 'db/', to: ['lib/', 'app/', 'scripts/', 'tests/'], why: 'db (schema, client) sits below everything' },
  {
    id: 'scripts-tests-via-kit',
    from: 'scripts/',
    to: ['tests/'],
    unless: ['tests/helpers/'],
    why: 'scripts import from tests only through the test kit, tests/helpers',
  },
  {
    id: 'tests-no-scripts',
    from: 'tests/',
    to: ['scripts/'],
    unless: ['scripts/bench/harness.ts', 'scripts/make-icons.mjs'],
    why: 'tests never import scripts (shared code goes to tests/helpers or lib); spawning a script is fine; the bench harness and the icon maker are imported only by their own unit tests',
  },
  {
    id: 'kit-self-contained',
    from: 'tests/helpers/',
    to: ['tests/'],
    unless: ['tests/helpers/'],
    why: 'the test kit imports no test suite (scripts depend on it)',
  },
];

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs|jsx)$/;
const SKIP_DIRS = new Set(['node_modules', '.next', '.git', 'out', 'cache', 'dist', 'coverage']);
const ROOTS = ['lib', 'app', 'db', 'scripts', 'tests'];

function walk(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) walk(path.join(dir, e.name), out);
    } else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path.join(dir, e.name));
  }
  return out;
}

/** The repo-relative path a specifier points at (posix), or null for a package. */
function target(root, file, spec) {
  let abs;
  if (spec.startsWith('@/')) abs = path.join(root, spec.slice(2));
  else if (spec.startsWith('./') || spec.startsWith('../')) abs = path.resolve(path.dirname(file), spec);
  else return null;
  return path.relative(root, abs).split(path.sep).join('/');
}

const under = (p, prefixes) => prefixes.some((x) => p.startsWith(x));

export function check(root) {
  const violations = [];
  for (const top of ROOTS) {
    for (const file of walk(path.join(root, top), [])) {
      const rel = path.relative(root, file).split(path.sep).join('/');
      const rules = RULES.filter((r) => rel.startsWith(r.from) && !under(rel, r.except ?? []));
      if (rules.length === 0) continue;
      const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
      for (const { fileName: spec } of info.importedFiles) {
        const to = target(root, file, spec);
        if (to === null) continue;
        for (const r of rules) {
          if (!under(to, r.to) || under(to, r.unless ?? [])) continue;
          violations.push(`${rel}: imports '${spec}' (${to}) — ${r.id}: ${r.why}`);
        }
      }
    }
  }
  return { violations };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root' && args[i + 1]) root = path.resolve(args[++i]);
    else {
      console.error(`check-imports: unknown argument ${args[i]} (usage: node scripts/check-imports.mjs [--root DIR])`);
      process.exit(2);
    }
  }
  const { violations } = check(root);
  if (violations.length > 0) {
    for (const v of violations) console.error(v);
    console.error(`check-imports: ${violations.length} import${violations.length === 1 ? '' : 's'} against the layering rules (scripts/check-imports.mjs)`);
    process.exit(1);
  }
  console.log('check-imports: layering rules hold');
}
