import type { Address } from 'viem';

/**
 * What the browser needs to talk to the chain: all of it public (chain id, RPC URL, contract
 * addresses). Built on the server from the validated environment and the deployment record, and
 * handed to client components as a prop — never a secret, never a NEXT_PUBLIC_ variable.
 */
export interface AppConfig {
  chainId: number;
  chainName: string;
  rpcUrl: string;
  contracts: {
    token: Address;
    governor: Address;
    timelock: Address;
    registry: Address;
  } | null;
  /** The registry's guardian (may revoke a version), read from the chain. */
  guardian: Address | null;
  /** The governor's proposal guardian (may cancel a proposal), read from the chain. */
  proposalGuardian: Address | null;
  /** Set when the deployment record could not be read; pages say what to do. */
  deploymentProblem: string | null;
  tokenSymbol: string;
  publicBaseUrl: string;
}

/** Anvil's default dev accounts (public addresses only; the keys stay in anvil, which signs). */
export const DEV_ACCOUNTS: { index: number; address: Address; label: string }[] = [
  { index: 0, address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', label: 'Dev account #0' },
  { index: 1, address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', label: 'Dev account #1' },
  { index: 2, address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', label: 'Dev account #2' },
  { index: 3, address: '0x90F79bf6EB2c4f870365E785982E1f101E93b906', label: 'Dev account #3' },
  { index: 4, address: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65', label: 'Dev account #4' },
  { index: 7, address: '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955', label: 'Dev account #7 (no ETH)' },
  { index: 9, address: '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720', label: 'Dev account #9 (guardian)' },
];

export const DEV_CHAIN_ID = 31337;
