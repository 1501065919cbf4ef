import fs from 'node:fs';
import { z } from 'zod';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .transform((a) => a as `0x${string}`);

/** The record contracts/script/Deploy.s.sol writes per chain; the indexer starts at deployBlock. */
export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  deployBlock: z.number().int().nonnegative(),
  contracts: z.object({
    ModelToken: address,
    ModelGovernor: address,
    TimelockController: address,
    ModelRegistry: address,
  }),
  guardian: address,
  governance: z
    .object({
      votingDelay: z.number(),
      votingPeriod: z.number(),
      proposalThreshold: z.string(),
      quorumNumerator: z.number(),
      lateQuorumExtension: z.number(),
      timelockDelay: z.number(),
    })
    .partial()
    .optional(),
});
export type Deployment = z.infer<typeof deploymentSchema>;

export class DeploymentError extends Error {}

export function loadDeployment(file: string): Deployment {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new DeploymentError(`no deployment record at ${file} (run the deploy script, or set DEPLOYMENT_FILE)`);
  }
  const parsed = deploymentSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    throw new DeploymentError(`deployment record ${file} is invalid: ${parsed.error.issues.map((i) => i.path.join('.') + ' ' + i.message).join('; ')}`);
  }
  return parsed.data;
}
