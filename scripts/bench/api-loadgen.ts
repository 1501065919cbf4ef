// Load generator for bench:api: C keep-alive connections, one request in flight each, for D ms.
// Prints {requests, errors, rps, p50_ms, p99_ms} as JSON (percentiles from scripts/bench/stats.ts).
// Run as `node --import tsx`, pinned to its own core (taskset).
import net from 'node:net';
import { percentileOfSorted } from './stats.ts';

const [url, connections = '10', durationMs = '5000'] = process.argv.slice(2);
if (url === undefined) throw new Error('usage: api-loadgen.ts URL [CONNECTIONS] [DURATION_MS]');
const u = new URL(url);
const req = Buffer.from(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: keep-alive\r\n\r\n`);
const latencies: number[] = [];
let errors = 0;
let non2xx = 0;
let stop = false;

function conn() {
  return new Promise<void>((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) });
    s.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let t0 = 0n;
    const send = () => {
      if (stop) return void (s.end(), resolve());
      t0 = process.hrtime.bigint();
      s.write(req);
    };
    s.on('connect', send);
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.subarray(0, end).toString('latin1');
        const m = /content-length:\s*(\d+)/i.exec(head);
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        const status = Number(head.slice(9, 12));
        if (status < 200 || status >= 400) non2xx++;
        buf = buf.subarray(end + 4 + len);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        send();
      }
    });
    s.on('error', () => {
      errors++;
      resolve();
    });
    s.on('close', () => resolve());
  });
}

const started = performance.now();
setTimeout(() => (stop = true), Number(durationMs));
await Promise.all(Array.from({ length: Number(connections) }, conn));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    non2xx,
    rps: latencies.length / elapsed,
    p50_ms: percentileOfSorted(latencies, 50),
    p99_ms: percentileOfSorted(latencies, 99),
  }),
);
