import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the modeldao package', () => {
  it('exports the SDK under its own name (import { pull } from "modeldao")', () => {
    // A separate process resolving the package by name, as a consumer's code does (self-reference
    // through package.json "exports"); tsx reads the TypeScript sources.
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', "const m = await import('modeldao'); console.log(JSON.stringify(Object.keys(m)))"],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(out)).toEqual(expect.arrayContaining(['resolveApproved', 'pull', 'verify', 'requestAccess', 'status', 'ModelDaoError']));
  });
});
