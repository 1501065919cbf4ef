// Type-level tests, checked by `npx tsc --noEmit` (part of `npm test`), never run: every
// `@ts-expect-error` line must be a type error, or tsc fails with "Unused '@ts-expect-error' directive".
// They prove that a contract write names a function of the generated ABI and passes its argument
// types — in the web app's useDaoTx, in contractCall (the proposal builder) and in the dev chain's call().
import type { Address, Hex } from 'viem';
import { modelGovernorAbi, modelRegistryAbi, modelTokenAbi } from '@/lib/contracts/generated';
import type { useDaoTx } from '@/lib/web/hooks/use-dao-tx';
import { contractCall } from '@/lib/contracts/call';
import { call } from '@/lib/devchain/governance';

declare const run: ReturnType<typeof useDaoTx>['run'];
declare const token: Address;
declare const governor: Address;
declare const registry: Address;
declare const someone: Address;
declare const digest: Hex;

export function useDaoTxIsTyped() {
  // the right function and arguments compile
  void run({ address: token, abi: modelTokenAbi, functionName: 'delegate', args: [someone] });
  void run({ address: governor, abi: modelGovernorAbi, functionName: 'castVoteWithReason', args: [1n, 1, 'because'] });
  void run({ address: registry, abi: modelRegistryAbi, functionName: 'revokeVersion', args: [1n, 2] });

  // @ts-expect-error misspelt function name
  void run({ address: token, abi: modelTokenAbi, functionName: 'delegat', args: [someone] });
  // @ts-expect-error a function of another contract's ABI
  void run({ address: token, abi: modelTokenAbi, functionName: 'castVote', args: [1n, 1] });
  // @ts-expect-error a view function is not a write
  void run({ address: token, abi: modelTokenAbi, functionName: 'balanceOf', args: [someone] });
  // @ts-expect-error wrong argument type (a number where an address goes)
  void run({ address: token, abi: modelTokenAbi, functionName: 'delegate', args: [1n] });
  // @ts-expect-error missing argument
  void run({ address: governor, abi: modelGovernorAbi, functionName: 'castVote', args: [1n] });
  // @ts-expect-error a string where the proposal id (uint256) goes
  void run({ address: governor, abi: modelGovernorAbi, functionName: 'castVote', args: ['1', 1] });
}

export function contractCallIsTyped() {
  contractCall(registry, modelRegistryAbi, 'publishVersion', [1n, digest, 0]);
  contractCall(token, modelTokenAbi, 'transfer', [someone, 1n]);
  // @ts-expect-error misspelt function name
  contractCall(registry, modelRegistryAbi, 'publishVersionn', [1n, digest, 0]);
  // @ts-expect-error the version number is a uint32 (number), not a bigint
  contractCall(registry, modelRegistryAbi, 'publishVersion', [1n, digest, 0n]);
  // @ts-expect-error an access rule needs kind, token and minBalance
  contractCall(registry, modelRegistryAbi, 'registerModel', ['tiny-lm', { kind: 0 }]);
}

export function devchainCallIsTyped() {
  call(registry, modelRegistryAbi, 'setCurrentVersion', [1n, 2]);
  // @ts-expect-error misspelt function name (the seed, benches and e2e set-up build actions with call())
  call(registry, modelRegistryAbi, 'setCurrentVerison', [1n, 2]);
  // @ts-expect-error wrong argument type
  call(registry, modelRegistryAbi, 'setCurrentVersion', [1n, 'two']);
}
