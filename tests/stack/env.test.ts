import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnv, EnvError } from '../../lib/env.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

describe('environment validation (lib/env.ts)', () => {
  it('runs on embedded defaults with nothing set: local anvil, PGlite and store under .modeldao', () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.rpcUrl).toBe('http://127.0.0.1:8545');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.pgliteDir).toBe(path.resolve('.modeldao', 'pglite'));
    expect(env.storeDir).toBe(path.resolve('.modeldao', 'store'));
    expect(env.deploymentFile).toBe(path.resolve('contracts/deployments/31337.json'));
  });

  it('derives the audiences signed access requests may name: the public origin, aliases, and localhost when local', () => {
    expect(parseEnv({ PORT: '4000' }).accessAudiences).toEqual(['http://127.0.0.1:4000', 'http://localhost:4000']);
    const prod = parseEnv({ PUBLIC_BASE_URL: 'https://Models.Example.org/', ACCESS_AUDIENCES: 'https://alt.example.org:8443,https://models.example.org' });
    expect(prod.accessAudiences).toEqual(['https://models.example.org', 'https://alt.example.org:8443']);
  });

  it('chooses the artifact store: local by default, s3 with a bucket, and names what is missing', () => {
    expect(parseEnv({}).STORE).toBe('local');
    const s3 = parseEnv({
      STORE: 's3',
      S3_BUCKET: 'models',
      S3_PREFIX: 'prod',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_ACCESS_KEY_ID: 'a',
      S3_SECRET_ACCESS_KEY: 'b',
    });
    expect(s3).toMatchObject({
      STORE: 's3',
      S3_BUCKET: 'models',
      S3_PREFIX: 'prod/',
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: true,
      S3_ORPHAN_AGE_SECONDS: 86400,
    });
    expect(parseEnv({ S3_FORCE_PATH_STYLE: 'false' }).S3_FORCE_PATH_STYLE).toBe(false);
    expect(() => parseEnv({ STORE: 's3' })).toThrow(/S3_BUCKET: required when STORE=s3/);
    expect(() => parseEnv({ STORE: 's3', S3_BUCKET: 'models', S3_ACCESS_KEY_ID: 'a' })).toThrow(/S3_ACCESS_KEY_ID: set both/);
    expect(() => parseEnv({ STORE: 'disk' })).toThrow(/STORE/);
    expect(() => parseEnv({ STORE: 's3', S3_BUCKET: 'No_Such' })).toThrow(/S3_BUCKET/);
    expect(() => parseEnv({ STORE: 's3', S3_BUCKET: 'models', S3_ENDPOINT: 'not a url' })).toThrow(/S3_ENDPOINT/);
    expect(() => parseEnv({ STORE: 's3' })).toThrow(EnvError);
  });

  it('derives the RPC URL from ANVIL_PORT and the deployment record from CHAIN_ID', () => {
    const env = parseEnv({ ANVIL_PORT: '9545', CHAIN_ID: '11155111' });
    expect(env.rpcUrl).toBe('http://127.0.0.1:9545');
    expect(env.deploymentFile).toBe(path.resolve('contracts/deployments/11155111.json'));
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['RPC_URL', { RPC_URL: 'not a url' }],
    ['ACCESS_TOKEN_SECRET', { ACCESS_TOKEN_SECRET: 'short' }],
    ['GUARDIAN_ADDRESS', { GUARDIAN_ADDRESS: '0x1234' }],
    ['ACCESS_AUDIENCES', { ACCESS_AUDIENCES: 'https://ok.example, https://x.example/with/path' }],
    ['REQUEST_BODY_IDLE_SECONDS', { REQUEST_BODY_IDLE_SECONDS: '0' }],
    ['UPLOAD_MAX_CONCURRENT_PER_ACCOUNT', { UPLOAD_MAX_CONCURRENT_PER_ACCOUNT: '1.5' }],
  ])('rejects a bad %s and names the variable', (name, source) => {
    expect(() => parseEnv(source)).toThrow(EnvError);
    expect(() => parseEnv(source)).toThrow(new RegExp(`${name}:`));
  });

  it('npm run dev refuses to start on a bad environment, naming the variable, before starting anything', () => {
    const r = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), ['scripts/dev.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '70000', NEXT_TELEMETRY_DISABLED: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Invalid environment/);
    expect(r.stderr).toMatch(/PORT:/);
  });

  it('next.config.mjs fails the build on a bad environment', () => {
    const r = spawnSync(process.execPath, ['-e', "import('./next.config.mjs').then(()=>process.exit(0),(e)=>{console.error(e.message);process.exit(3)})"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: 'mysql://nope' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/DATABASE_URL/);
  });
});
