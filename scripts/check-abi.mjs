// Fails when lib/contracts/generated.ts is stale: regenerates the ABIs into a temporary copy
// (from the current contracts/out, so run `forge build` first) and compares it with the committed file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const committed = path.join(root, 'lib/contracts/generated.ts');
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-abi-'));
const fresh = path.join(tmpDir, 'generated.ts');
const tmpConfig = path.join(root, `.wagmi.check.${process.pid}.config.ts`);

try {
  // Same config, different `out`: the committed file is never touched by the check.
  const config = fs
    .readFileSync(path.join(root, 'wagmi.config.ts'), 'utf8')
    .replace("out: 'lib/contracts/generated.ts'", `out: ${JSON.stringify(path.relative(root, fresh))}`);
  if (!config.includes(JSON.stringify(path.relative(root, fresh)))) throw new Error('could not redirect wagmi.config.ts output');
  fs.writeFileSync(tmpConfig, config);
  execFileSync(path.join(root, 'node_modules/.bin/wagmi'), ['generate', '--config', tmpConfig], { cwd: root, stdio: 'pipe' });
  const want = fs.readFileSync(fresh, 'utf8');
  const have = fs.existsSync(committed) ? fs.readFileSync(committed, 'utf8') : '';
  if (want !== have) {
    console.error('lib/contracts/generated.ts is stale: run `npm run contracts:abi` and commit the result.');
    process.exit(1);
  }
  console.log('lib/contracts/generated.ts is up to date.');
} finally {
  fs.rmSync(tmpConfig, { force: true });
  fs.rmSync(tmpDir, { recursive: true, force: true });
}
