import { defineConfig } from '@wagmi/cli';
import { foundry } from '@wagmi/cli/plugins';

/**
 * ABIs for lib/ are generated from the Foundry artifacts, never hand-copied.
 * `npm run contracts:abi` builds and regenerates; `npm run contracts:abi:check` fails when stale.
 */
export default defineConfig({
  out: 'lib/contracts/generated.ts',
  plugins: [
    foundry({
      project: '.',
      artifacts: 'contracts/out',
      // `contracts:abi` runs `forge build` first (offline, through the solc shim); the plugin only reads.
      forge: { build: false, rebuild: false },
      // ERC-20 reads elsewhere (TokenHolders rules) use viem's built-in erc20Abi.
      include: [
        'ModelToken.sol/ModelToken.json',
        'ModelGovernor.sol/ModelGovernor.json',
        'TimelockController.sol/TimelockController.json',
        'ModelRegistry.sol/ModelRegistry.json',
      ],
    }),
  ],
});
