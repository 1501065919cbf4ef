// npm run kill9:uploads [-- --iterations 20]
// Repeats: start the real server (child process), upload files (one large, interrupted), kill -9 the
// server at a random moment, restart it on the same data dir (tests/helpers/kill9.ts).
// Prints the count of bad blobs (goal: 0) as the last line (JSON).
import { runKill9 } from '../tests/helpers/kill9.ts';

const i = process.argv.indexOf('--iterations');
const iterations = i === -1 ? 20 : Number(process.argv[i + 1]);
const r = await runKill9({ iterations });
console.log(
  JSON.stringify({
    bench: 'kill9-uploads',
    ...r,
    goal: 'after every kill -9 and restart: 0 blobs whose content differs from their name, 0 temp files left, uploads work',
    goal_met: r.bad_blobs === 0 && r.leftover_temp_files === 0 && r.failed_restarts === 0 && r.failed_uploads_after_restart === 0,
  }),
);
