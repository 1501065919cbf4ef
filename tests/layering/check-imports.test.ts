import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/check-imports.mjs run as npm test runs it (a child process: tests never import scripts),
// against the repository and against small fixture trees with one violation each.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = path.join(root, 'scripts', 'check-imports.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-imports-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the check (asynchronously: a blocked event loop starves vitest's worker RPC). */
function run(...args: string[]): Promise<{ status: number | null; out: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: root });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      out += d;
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out, stderr }));
  });
}
const check = (dir: string) => run('--root', dir);

let n = 0;
/** A fixture tree: path → source. */
function tree(files: Record<string, string>): string {
  const dir = path.join(tmp, `t${n++}`);
  for (const [f, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), src);
  }
  return dir;
}

// The files both sides of every fixture need, all legal.
const base = {
  'lib/server/http.ts': 'export class HttpError extends Error {}\n',
  'lib/devchain/anvil.ts': "export const keys = ['0x01'];\n",
  'lib/indexer/quorum.ts': "import { sql } from 'drizzle-orm';\nimport type { Db } from '../../db/client.ts';\nexport const q = (db: Db) => sql`select 1`;\n",
  'db/client.ts': 'export type Db = { execute(q: unknown): Promise<unknown> };\n',
  'app/providers.tsx': "import { keys } from '@/lib/devchain/anvil';\nexport const k = keys;\n",
  'tests/helpers/postgres.ts': 'export const startPostgres = () => null;\n',
  'tests/indexer/reorg.test.ts':
    "import { startPostgres } from '../helpers/postgres.ts';\nimport { HttpError } from '../../lib/server/http.ts';\nvoid startPostgres; void HttpError;\n",
  'scripts/bench.ts':
    "import { startPostgres } from '../tests/helpers/postgres.ts';\n// import { x } from '../tests/indexer/reorg.test.ts' (a comment is not an import)\nconst s = \"from '../tests/indexer/reorg.test.ts'\";\nvoid startPostgres; void s;\n",
};

describe('the import-direction check (npm run check:imports)', () => {
  it('passes on this repository', async () => {
    const r = await check(root);
    expect(r.out).toContain('layering rules hold');
    expect(r.status).toBe(0);
  });

  it('passes on a tree that keeps every rule (comments and strings are not imports)', async () => {
    const r = await check(tree(base));
    expect(r.out).toContain('layering rules hold');
    expect(r.status).toBe(0);
  });

  // One tree with one violation of each rule (a process per fixture is slow on a loaded machine).
  const violations: [what: string, file: string, src: string, rule: string][] = [
    ['domain code importing the HTTP layer', 'lib/sdk/pull.ts', "import { HttpError } from '../server/http.ts';\n", 'domain-no-http'],
    [
      'a type-only import counts',
      'lib/artifacts/store.ts',
      "import type { HttpError } from '@/lib/server/http';\nexport type E = HttpError;\n",
      'domain-no-http',
    ],
    ['lib importing app', 'lib/web/hooks/use-x.ts', "import { k } from '@/app/providers';\nexport const x = k;\n", 'lib-no-app'],
    [
      'the production server importing dev-chain code',
      'lib/server/main.ts',
      "import { keys } from '../devchain/anvil.ts';\nvoid keys;\n",
      'server-no-devchain',
    ],
    ['lib/chain querying the database', 'lib/chain/quorum.ts', "import type { Db } from '../../db/client.ts';\nexport type D = Db;\n", 'chain-no-db'],
    ['a script importing a test suite', 'scripts/bench-x.ts', "const m = await import('../tests/indexer/reorg.test.ts');\nvoid m;\n", 'scripts-tests-via-kit'],
    ['a test importing a script', 'tests/artifacts/kill9.test.ts', "import { run } from '../../scripts/bench.ts';\nvoid run;\n", 'tests-no-scripts'],
    ['the kit importing a test suite', 'tests/helpers/anvil.ts', "export * from '../indexer/reorg.test.ts';\n", 'kit-self-contained'],
    ['lib requiring a test', 'lib/cli/main.ts', "const t = require('../../tests/helpers/postgres.ts');\nvoid t;\n", 'lib-no-scripts-tests'],
  ];

  it('fails on a new violation of each rule, naming file, import and rule', async () => {
    const r = await check(tree({ ...base, ...Object.fromEntries(violations.map(([, file, src]) => [file, src])) }));
    expect(r.status).toBe(1);
    for (const [what, file, , rule] of violations) {
      const line = r.out.split('\n').find((l) => l.startsWith(`${file}: imports`));
      expect(line, what).toContain(rule);
    }
    expect(r.out).toContain(`${violations.length} imports against the layering rules`);
  });

  it('fails on a single violation (exit 1)', async () => {
    const r = await check(tree({ ...base, 'lib/web/hooks/use-x.ts': "import { k } from '@/app/providers';\nexport const x = k;\n" }));
    expect(r.status).toBe(1);
    expect(r.out).toContain("lib/web/hooks/use-x.ts: imports '@/app/providers' (app/providers) — lib-no-app");
    expect(r.out).toContain('1 import against the layering rules');
  });

  it('refuses an unknown argument with a usage line (exit 2)', async () => {
    const r = await run('--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: node scripts/check-imports.mjs');
  });
});
