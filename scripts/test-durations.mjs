// Writes tests/durations.json (file → milliseconds, longest first) from a vitest JSON report, for
// the longest-first order of tests/helpers/sequencer.ts. Measure on a quiet machine:
//   npx vitest run --reporter=json --outputFile=/tmp/v.json && node scripts/test-durations.mjs /tmp/v.json
import fs from 'node:fs';
import path from 'node:path';

const report = process.argv[2];
if (!report) {
  console.error('usage: node scripts/test-durations.mjs <vitest JSON report>');
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '..');
const { testResults } = JSON.parse(fs.readFileSync(report, 'utf8'));
const durations = Object.fromEntries(
  testResults.map((r) => [path.relative(root, r.name).split(path.sep).join('/'), Math.round(r.endTime - r.startTime)]).sort((a, b) => b[1] - a[1]),
);
fs.writeFileSync(path.join(root, 'tests', 'durations.json'), JSON.stringify(durations, null, 2) + '\n');
console.log(`tests/durations.json: ${Object.keys(durations).length} files, ${Math.round(Object.values(durations).reduce((a, b) => a + b, 0) / 1000)} s in all`);
