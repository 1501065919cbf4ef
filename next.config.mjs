// Next loads this file with Node's own import(), which cannot read TypeScript on Node 20, so the
// environment schema in lib/env.ts is loaded through tsx's scoped loader. A bad environment
// therefore fails `next build` / `next dev` / the custom server with the variable's name.
import { tsImport } from 'tsx/esm/api';

const { parseEnv } = await tsImport('./lib/env.ts', import.meta.url);
parseEnv(process.env);

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // bench:web builds into its own directory so it never clobbers a build someone is serving.
  distDir: process.env.MODELDAO_NEXT_DIST_DIR || '.next',
  poweredByHeader: false,
  // Native/wasm database drivers must stay plain Node requires, not bundled by Next.
  serverExternalPackages: ['@electric-sql/pglite', 'pg'],
  // `npm run typecheck` (part of npm test) checks types; bench:web may skip the duplicate check in
  // `next build` so another part's work in progress cannot stop a measurement.
  typescript: { tsconfigPath: 'tsconfig.json', ignoreBuildErrors: process.env.MODELDAO_SKIP_BUILD_TYPECHECK === '1' },
  // The dev server is reached as 127.0.0.1 as often as localhost (anvil, tests, the printed URL).
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
  devIndicators: false,
};

export default nextConfig;
