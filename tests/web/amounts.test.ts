// Amounts shown to voters and holders (#18): an action summary is exact, and no non-zero amount is
// ever shown as zero.
import { describe, expect, it } from 'vitest';
import { encodeFunctionData, parseEther, parseUnits } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi } from '../../lib/contracts/generated.ts';
import { decodeActions, describeRule, type DecodeContext } from '../../lib/web/actions.ts';
import { formatProgress, formatTokens, formatUnitsExact } from '../../lib/web/format.ts';

const contracts = {
  token: '0x1000000000000000000000000000000000000001',
  governor: '0x2000000000000000000000000000000000000002',
  timelock: '0x3000000000000000000000000000000000000003',
  registry: '0x4000000000000000000000000000000000000004',
};
const ctx: DecodeContext = { contracts, slugs: { '1': 'tiny-lm' }, tokenSymbol: 'MDAO' };
const to = '0x5000000000000000000000000000000000000005';

function summary(target: string, data: `0x${string}`, value = '0'): string {
  return decodeActions([target], [value], [data], ctx)[0]!.summary;
}

describe('action summaries state exact amounts', () => {
  it('a 1-wei transfer is "Send 0.000000000000000001 MDAO", not "Send 0 MDAO"', () => {
    const s = summary(contracts.token, encodeFunctionData({ abi: modelTokenAbi, functionName: 'transfer', args: [to, 1n] }));
    expect(s).toBe(`Send 0.000000000000000001 MDAO from the treasury to ${to}`);
  });

  it('amounts that a float or 4 decimals would change are shown digit for digit', () => {
    const odd = parseUnits('123456789.123456789123456789', 18); // beyond a double's 15-16 digits
    expect(summary(contracts.token, encodeFunctionData({ abi: modelTokenAbi, functionName: 'transfer', args: [to, odd] }))).toContain(
      'Send 123,456,789.123456789123456789 MDAO',
    );
    expect(summary(contracts.token, encodeFunctionData({ abi: modelTokenAbi, functionName: 'approve', args: [to, parseEther('0.00004')] }))).toContain(
      'spend 0.00004 MDAO',
    );
    expect(summary(contracts.token, encodeFunctionData({ abi: modelTokenAbi, functionName: 'transfer', args: [to, parseEther('500')] }))).toContain(
      'Send 500 MDAO',
    );
  });

  it('ETH values, thresholds and access-rule minimums are exact too', () => {
    expect(summary(to, '0x', '1')).toBe(`Send 0.000000000000000001 ETH from the treasury to ${to}`);
    expect(summary(contracts.registry, encodeFunctionData({ abi: modelRegistryAbi, functionName: 'setCurrentVersion', args: [1n, 2] }), '7')).toMatch(
      /and send 0\.000000000000000007 ETH$/,
    );
    expect(
      summary(contracts.governor, encodeFunctionData({ abi: modelGovernorAbi, functionName: 'setProposalThreshold', args: [parseEther('1000') + 1n] })),
    ).toBe('Set the proposal threshold to 1,000.000000000000000001 votes');
    expect(describeRule({ kind: 1, token: contracts.token, minBalance: 5n }, ctx)).toBe('holders of at least 0.000000000000000005 MDAO');
  });
});

describe('formatUnitsExact', () => {
  it('keeps every digit, groups thousands, drops trailing zeros', () => {
    expect(formatUnitsExact(0n)).toBe('0');
    expect(formatUnitsExact(1n)).toBe('0.000000000000000001');
    expect(formatUnitsExact(parseEther('1234567.5'))).toBe('1,234,567.5');
    expect(formatUnitsExact(-parseEther('0.25'))).toBe('-0.25');
    expect(formatUnitsExact('1000000', 6)).toBe('1');
  });
});

describe('formatTokens (balances and tallies)', () => {
  it('never shows a non-zero amount as 0', () => {
    expect(formatTokens(1n)).toBe('<0.01');
    expect(formatTokens(parseEther('0.009'))).toBe('<0.01');
    expect(formatTokens(-1n)).toBe('-<0.01');
    expect(formatTokens(0n)).toBe('0');
  });

  it('cuts toward zero instead of rounding up past what is held', () => {
    // 99.999 shown as "100" would tell a holder they meet a 100-vote threshold they miss.
    expect(formatTokens(parseEther('99.999'))).toBe('99.99');
    expect(formatTokens(parseEther('1234.5678'))).toBe('1,234.56');
    expect(formatTokens(parseEther('100000'))).toBe('100,000');
    expect(formatTokens('250000000000000000')).toBe('0.25');
    expect(formatTokens(null)).toBe('—');
  });

  it('is exact for amounts beyond a double', () => {
    expect(formatTokens(10n ** 40n + parseEther('0.5'))).toBe('10,000,000,000,000,000,000,000.5');
  });
});

describe('formatProgress (quorum reached so far)', () => {
  it('never says 100% before the line is reached, nor 0% when something is there', () => {
    expect(formatProgress(parseEther('99.6'), parseEther('100'))).toBe('99%');
    expect(formatProgress(parseEther('99.999999'), parseEther('100'))).toBe('99%');
    expect(formatProgress(1n, parseEther('100'))).toBe('<1%');
    expect(formatProgress(0n, parseEther('100'))).toBe('0%');
    expect(formatProgress(parseEther('100'), parseEther('100'))).toBe('100%');
    expect(formatProgress(parseEther('250'), parseEther('100'))).toBe('100%');
    expect(formatProgress(5n, 0n)).toBe('100%');
  });
});
