// Throwaway OpenStack Swift with the s3api middleware for tests, benchmarks and `npm run cluster`:
// one ring per kind (one device, one replica), account/container/object servers with
// `mount_check = false` and `workers = 0` under a temp dir, memcached on a private port (tempauth
// keeps its tokens there) and a proxy whose pipeline has s3api + tempauth (`test:tester` /
// `testing`). Everything listens on free loopback ports and stop() removes it all. Needs the Debian
// packages swift-proxy swift-object swift-container swift-account memcached (scripts/prereqs.sh).
// No vitest imports: scripts use it too.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../lib/devchain/anvil.ts';

export interface TestSwift {
  /** http://127.0.0.1:<port> of the proxy (path-style S3 endpoint). */
  endpoint: string;
  accessKeyId: 'test:tester';
  secretAccessKey: 'testing';
  region: string;
  /** Created by startSwift unless `bucket: null` was passed. */
  bucket?: string;
  /** Temp dir holding configs, rings, devices and logs. */
  dir: string;
  /** Process ids of memcached and the four Swift servers (benchmarks add up their CPU time). */
  pids: number[];
  /**
   * Object names in a Swift container through Swift's own API (tempauth), e.g. `<bucket>+segments`
   * where s3api keeps multipart parts: what the S3 API does not show.
   */
  listContainer(container: string): Promise<string[]>;
  /** A client for the proxy (path-style, the credentials above). */
  client(): S3Client;
  stop(): Promise<void>;
}

export interface StartSwiftOptions {
  /** Bucket to create (default `modeldao-test`); null for none. */
  bucket?: string | null;
  /** Proxy worker processes (default 0: one process, no fork). Benchmarks may want 1+. */
  proxyWorkers?: number;
}

const REGION = 'us-east-1';
const BINARIES = ['swift-proxy-server', 'swift-object-server', 'swift-container-server', 'swift-account-server', 'swift-ring-builder', 'memcached'];

function findBinary(name: string): string | null {
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin', ...(process.env.PATH ?? '').split(':')]) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}

/** True when the Swift and memcached binaries are installed. */
export function swiftAvailable(): boolean {
  return BINARIES.every((b) => findBinary(b) !== null);
}

function serverConf(kind: 'account' | 'container' | 'object', port: number, dir: string, user: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
mount_check = false
devices = ${path.join(dir, 'srv')}
swift_dir = ${dir}
user = ${user}
log_level = WARNING
log_name = ${kind}-server

[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
`;
}

function proxyConf(port: number, memcachedPort: number, dir: string, user: string, workers: number): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = ${workers}
swift_dir = ${dir}
user = ${user}
log_level = WARNING
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# Swift's defaults (node_timeout 10 s, and a GET resumed from another replica after it) cut a
# download mid-stream when the object server stalls on a loaded 2-core machine: with one replica
# there is nothing to resume from. Production clusters tune these to their disks; here, be patient.
node_timeout = 120
recoverable_node_timeout = 120
conn_timeout = 5
client_timeout = 300

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachedPort}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = ${REGION}

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
`;
}

/** Builds the three single-device, single-replica rings in one Python process (faster than 9 CLI runs). */
function buildRings(dir: string, ports: { account: number; container: number; object: number }) {
  const script = `
import sys
from swift.common.ring import RingBuilder
d = sys.argv[1]
for kind, port in (('account', int(sys.argv[2])), ('container', int(sys.argv[3])), ('object', int(sys.argv[4]))):
    b = RingBuilder(8, 1, 1)
    b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'd1', 'weight': 1})
    b.rebalance()
    b.save(f'{d}/{kind}.builder')
    b.get_ring().save(f'{d}/{kind}.ring.gz')
`;
  // the interpreter Swift was installed for (swift-ring-builder's shebang), not whatever python3 is first on PATH
  const shebang = fs.readFileSync(findBinary('swift-ring-builder')!, 'utf8').split('\n')[0]!;
  const python = /^#!\s*(\S+)/.exec(shebang)?.[1] ?? '/usr/bin/python3';
  execFileSync(python, ['-c', script, dir, String(ports.account), String(ports.container), String(ports.object)], { stdio: 'pipe' });
}

async function waitFor(what: string, check: () => Promise<boolean>, procs: ChildProcess[], timeoutMs: number, logs: () => string) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    const dead = procs.find((p) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`swift: ${dead.spawnfile} exited while waiting for ${what}\n${logs()}`);
    if (
      await check().catch((err: unknown) => {
        last = err;
        return false;
      })
    )
      return;
    if (Date.now() > deadline) throw new Error(`swift: timed out waiting for ${what} (last error: ${String(last)})\n${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the cluster; when it does not come up (a port picked by freePort() was taken by another
 * process of the run before a server bound it: the servers retry their bind, so it shows as a
 * cluster that never answers), starts it once more on other ports.
 */
export async function startSwift(opts: StartSwiftOptions = {}): Promise<TestSwift> {
  try {
    return await startSwiftOnce(opts);
  } catch (err) {
    if (!swiftAvailable()) throw err;
    console.warn(`swift did not start, retrying on other ports: ${String(err).split('\n')[0]}`);
    return await startSwiftOnce(opts);
  }
}

async function startSwiftOnce(opts: StartSwiftOptions): Promise<TestSwift> {
  const missing = BINARIES.filter((b) => findBinary(b) === null);
  if (missing.length) {
    throw new Error(
      `Swift not installed (missing ${missing.join(', ')}): run bash scripts/prereqs.sh as root, or apt-get install -y --no-install-recommends swift-proxy swift-object swift-container swift-account memcached`,
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldao-swift-'));
  fs.mkdirSync(path.join(dir, 'srv', 'd1'), { recursive: true });
  const user = os.userInfo().username;
  const [proxy, account, container, object, memcachedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  fs.writeFileSync(
    path.join(dir, 'swift.conf'),
    `[swift-hash]\nswift_hash_path_suffix = modeldao-test\nswift_hash_path_prefix = modeldao-test\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n`,
  );
  fs.writeFileSync(path.join(dir, 'account-server.conf'), serverConf('account', account, dir, user));
  fs.writeFileSync(path.join(dir, 'container-server.conf'), serverConf('container', container, dir, user));
  fs.writeFileSync(path.join(dir, 'object-server.conf'), serverConf('object', object, dir, user));
  fs.writeFileSync(path.join(dir, 'proxy-server.conf'), proxyConf(proxy, memcachedPort, dir, user, opts.proxyWorkers ?? 0));

  const procs: ChildProcess[] = [];
  const logFiles: string[] = [];
  const launch = (name: string, bin: string, args: string[]) => {
    const log = path.join(dir, `${name}.log`);
    logFiles.push(log);
    const fd = fs.openSync(log, 'a');
    // own process group: stop() kills the proxy's workers with it
    const p = spawn(findBinary(bin)!, args, { stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    p.on('error', () => {});
    procs.push(p);
    return p;
  };
  const logs = () => logFiles.map((f) => `--- ${path.basename(f)}\n${fs.existsSync(f) ? fs.readFileSync(f, 'utf8').slice(-2000) : ''}`).join('\n');

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            try {
              process.kill(-p.pid!, 'SIGKILL');
            } catch {
              try {
                p.kill('SIGKILL');
              } catch {}
            }
          }),
      ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    buildRings(dir, { account, container, object });
    launch('memcached', 'memcached', [
      '-l',
      '127.0.0.1',
      '-p',
      String(memcachedPort),
      '-U',
      '0',
      '-m',
      '16',
      ...(process.getuid?.() === 0 ? ['-u', 'root'] : []),
    ]);
    launch('account', 'swift-account-server', [path.join(dir, 'account-server.conf')]);
    launch('container', 'swift-container-server', [path.join(dir, 'container-server.conf')]);
    launch('object', 'swift-object-server', [path.join(dir, 'object-server.conf')]);
    launch('proxy', 'swift-proxy-server', [path.join(dir, 'proxy-server.conf')]);
    const endpoint = `http://127.0.0.1:${proxy}`;
    await waitFor('the proxy', async () => (await fetch(`${endpoint}/healthcheck`)).ok, procs, 60_000, logs);
    const client = () =>
      new S3Client({
        endpoint,
        region: REGION,
        forcePathStyle: true,
        credentials: { accessKeyId: 'test:tester', secretAccessKey: 'testing' },
        // Swift's s3api predates the SDK's default CRC32 checksums (x-amz-checksum-*, aws-chunked)
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    const bucket = opts.bucket === null ? undefined : (opts.bucket ?? 'modeldao-test');
    if (bucket) {
      const c = client();
      // the backend servers may still be starting: retry until the bucket (a Swift container) exists
      await waitFor(
        `bucket ${bucket}`,
        async () => {
          try {
            await c.send(new CreateBucketCommand({ Bucket: bucket }));
            return true;
          } catch (err) {
            const name = (err as { name?: string }).name;
            return name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists';
          }
        },
        procs,
        40_000,
        logs,
      );
      c.destroy();
    }
    const listContainer = async (container: string) => {
      const auth = await fetch(`${endpoint}/auth/v1.0`, { headers: { 'x-storage-user': 'test:tester', 'x-storage-pass': 'testing' } });
      await auth.arrayBuffer();
      const res = await fetch(`${auth.headers.get('x-storage-url')}/${encodeURIComponent(container)}?format=json`, {
        headers: { 'x-auth-token': auth.headers.get('x-auth-token')! },
      });
      if (res.status === 404) return [];
      if (!res.ok) throw new Error(`swift: listing ${container}: ${res.status}`);
      return ((await res.json()) as { name: string }[]).map((o) => o.name);
    };
    return {
      endpoint,
      accessKeyId: 'test:tester',
      secretAccessKey: 'testing',
      region: REGION,
      bucket,
      dir,
      pids: procs.map((p) => p.pid!),
      listContainer,
      client,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
