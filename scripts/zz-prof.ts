import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { generateFile, startServerProcess, startUploadChain, tempDir } from './artifacts/server-process.ts';
const work = tempDir('prof-');
const chain = await startUploadChain();
const file = path.join(work, 'f.bin');
generateFile(file, 256 * 1024 * 1024);
const server = await startServerProcess({ chain, dataDir: path.join(work, 'd'), env: {} });
const auth = await chain.auth();
for (let i = 0; i < 8; i++) {
  const t0 = Date.now();
  execFileSync('bash', ['-c', `curl -sS -X POST -T ${file} -H 'authorization: ${auth}' -H 'content-type: application/octet-stream' -H 'expect:' ${server.url}/api/uploads -o /dev/null`], { stdio: 'inherit' });
  console.log('upload s', (Date.now() - t0) / 1000);
  execFileSync('bash', ['-c', `printf x | dd of=${file} bs=1 seek=${i} conv=notrunc 2>/dev/null`]);
}
console.log('OUT', server.output().slice(-5000));
await server.stop();
await chain.stop();
