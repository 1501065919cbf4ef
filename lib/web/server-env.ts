import 'server-only';
import { getEnv as getProcessEnv, type Env } from '@/lib/env';

/**
 * The environment the pages read. Under the custom server (lib/server/main.ts) it is the very Env
 * the server was started with (published on globalThis, since Next's bundle is a separate module
 * graph): `npm run dev` may move anvil to a free port or point at a temp deployment record without
 * touching process.env. Under plain `next dev`/`next start`, the validated process environment.
 */
export function getEnv(): Env {
  return (globalThis as { __modeldaoEnv?: Env }).__modeldaoEnv ?? getProcessEnv();
}
