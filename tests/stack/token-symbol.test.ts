// One name for the governance token (#18): the symbol the deploy script gives the token is the unit
// every text uses (README, docs, seed descriptions), so a voter never sees two names for one token.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

describe('token symbol', () => {
  it('every amount of tokens in the docs and the seed is written in the deployed symbol', () => {
    const symbol = /TOKEN_SYMBOL\s*=\s*"([^"]+)"/.exec(read('contracts/script/Deploy.s.sol'))?.[1];
    expect(symbol).toBe('MDAO');
    const files = [
      'README.md',
      'lib/devchain/seed.ts',
      ...fs
        .readdirSync(path.join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const units = new Set<string>();
    for (const f of files) {
      // "100,000 XYZ", "100k XYZ", "500 XYZ": the all-caps word after an amount is a currency unit.
      for (const m of read(f).matchAll(/\b\d(?:[\d,.]*\d)?k? +([A-Z]{3,5})\b/g)) units.add(`${m[1]} (${f})`);
    }
    const foreign = [...units].filter((u) => !u.startsWith(`${symbol} `) && !/^(ETH|CPU|UTC|KB|MB|GB|TB) /.test(u));
    expect(foreign).toEqual([]);
    // The seed's reward text names the token by the symbol it reads from the chain.
    expect(read('lib/devchain/seed.ts')).toMatch(/functionName: 'symbol'/);
  });
});
