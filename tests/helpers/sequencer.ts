import fs from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Longest test files first, from durations measured on a quiet 2-core machine and committed in
// tests/durations.json (refresh: `npx vitest run --reporter=json --outputFile=/tmp/v.json &&
// node scripts/test-durations.mjs /tmp/v.json`). With two forks, the longest-first order keeps both
// busy to the end; vitest's own order on a clean clone (no cache there) is by file size, which put a
// minute-long file last and left one fork idle while it ran. A file vitest has timed locally
// (its cache) uses that figure; a file in neither goes first, as vitest does with unknown files.

const durationsFile = path.join(import.meta.dirname, '..', 'durations.json');

function committedDurations(): Record<string, number> {
  try {
    return JSON.parse(fs.readFileSync(durationsFile, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const committed = committedDurations();
    const root = this.ctx.config.root;
    const duration = (f: TestSpecification): number => {
      const rel = path.relative(root, f.moduleId).split(path.sep).join('/');
      const cached = this.ctx.cache.getFileTestResults(`${f.project.name}:${rel}`)?.duration;
      return cached ?? committed[rel] ?? Number.POSITIVE_INFINITY;
    };
    return [...files].sort((a, b) => duration(b) - duration(a));
  }
}
