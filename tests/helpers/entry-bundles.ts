// The TypeScript programs tests spawn again and again (the server, the standalone indexer) as plain
// JavaScript. Through tsx's loader every start resolves and loads each module (viem, drizzle, helia…)
// via loader hooks: ≈1.9 CPU s just to import lib/server/main.ts, against ≈0.65 s for a bundle of our
// own code with the packages left external (+0.1 s for source maps). vitest's global setup (tests/global-setup.ts) bundles
// them once per run, from the sources as they are, into a directory only that run uses; spawners ask
// entryArgs() for the node arguments. Outside vitest (the scripts that share tests/helpers) nothing is
// built and entryArgs() answers tsx's loader, as before.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../lib/repo-root.ts';

/** Entry points that are bundled, relative to the repository root. */
export const BUNDLED_ENTRIES = ['lib/server/start.ts', 'lib/indexer/main.ts'] as const;
export type BundledEntry = (typeof BUNDLED_ENTRIES)[number];

/** Set by the global setup: the directory holding this run's bundles. */
export const BUNDLE_DIR_ENV = 'MODELDAO_TEST_BUNDLE_DIR';

const outName = (entry: BundledEntry) => entry.replace(/\.ts$/, '.mjs');

/**
 * Bundles BUNDLED_ENTRIES into `outDir`, which must lie inside the repository (the bundles import the
 * packages from its node_modules). Our modules are inlined; `import.meta.url` in each keeps naming the
 * module's own source file, so repoRoot, the migrations folder and the hash worker resolve as under tsx.
 */
export async function buildEntryBundles(outDir: string): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(BUNDLED_ENTRIES.map((e) => [outName(e).replace(/\.mjs$/, ''), e])),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    sourcemap: true,
    plugins: [
      {
        name: 'source-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, async (args) => {
            const text = await fs.promises.readFile(args.path, 'utf8');
            if (!text.includes('import.meta.url')) return undefined; // esbuild loads it as usual
            return {
              contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
              loader: /\.m?ts$/.test(args.path) ? 'ts' : 'js',
            };
          });
        },
      },
    ],
  });
}

/** node arguments that run `entry`: this run's bundle under vitest, else the source through tsx. */
export function entryArgs(entry: BundledEntry): string[] {
  const dir = process.env[BUNDLE_DIR_ENV];
  if (!dir) return ['--import', 'tsx', entry];
  const file = path.join(dir, outName(entry));
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: the bundles of this vitest run (tests/global-setup.ts) were removed or never built`);
  // source maps: stack traces name lib/…/*.ts lines, as they do under tsx
  return ['--enable-source-maps', file];
}
