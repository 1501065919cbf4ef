#!/usr/bin/env node
// Forge cannot download compilers here, so this shim presents the `solc` npm package (wasm) with the
// native CLI surface forge uses: `--version` and `--standard-json` on stdin.
const path = require('node:path');
const fs = require('node:fs');
const solc = require(path.join(__dirname, '..', 'node_modules', 'solc'));
const args = process.argv.slice(2);
if (args.includes('--version')) {
  const v = solc.version().replace('.Emscripten.clang', '.Linux.g++');
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${v}\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc shim: only --version and --standard-json are supported\n');
  process.exit(1);
}
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks).toString('utf8');
  const base = process.cwd();
  const findImports = (p) => {
    for (const candidate of [path.resolve(base, p)]) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch {}
    }
    return { error: `File not found: ${p}` };
  };
  process.stdout.write(solc.compile(input, { import: findImports }));
});
