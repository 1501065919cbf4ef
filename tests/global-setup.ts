// vitest global setup: bundles the spawned entry points once per run (tests/helpers/entry-bundles.ts),
// from the sources as they are now, into a directory of this run's own that teardown removes. The
// forks inherit its path through the environment. A bundle can therefore never be stale, and two
// runs in the same checkout never share one.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../lib/repo-root.ts';
import { PGLITE_TEMPLATE_ENV, writePgliteTemplate } from '../db/client.ts';
import { BUNDLE_DIR_ENV, buildEntryBundles } from './helpers/entry-bundles.ts';

let dir: string | undefined;

/** true while process `pid` runs */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function setup(): Promise<void> {
  // inside the checkout, so the bundles' package imports resolve from its node_modules
  const parent = path.join(repoRoot, 'node_modules', '.cache', 'modeldao-test-bundles');
  // what a killed run left behind (its teardown never ran)
  for (const name of fs.existsSync(parent) ? fs.readdirSync(parent) : []) {
    const pid = Number(name.split('-')[0]);
    if (!alive(pid)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  dir = path.join(parent, `${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  // the bundles, and the migrated database image every new PGlite of this run starts from (db/client.ts)
  const template = path.join(dir, 'pglite-template.tar');
  await Promise.all([buildEntryBundles(dir), writePgliteTemplate(template)]);
  process.env[BUNDLE_DIR_ENV] = dir;
  process.env[PGLITE_TEMPLATE_ENV] = template;
}

export function teardown(): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  delete process.env[BUNDLE_DIR_ENV];
  delete process.env[PGLITE_TEMPLATE_ENV];
}
