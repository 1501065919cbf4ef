// Takes a cache lock with the SDK's own lock code, says "locked", and holds it until killed
// (tests/consumer/hardening.test.ts kills it with SIGKILL, as a crashed puller would die).
import { acquireLock } from '../../lib/sdk/lock.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: lock-holder.ts <lock file>');
await acquireLock(file);
process.stdout.write('locked\n');
setInterval(() => {}, 1 << 30);
