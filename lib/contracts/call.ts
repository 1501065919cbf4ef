import {
  encodeFunctionData,
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type EncodeFunctionDataParameters,
  type Hex,
} from 'viem';

// One call of a generated ABI's write function, encoded for a proposal or a transaction: a function
// the ABI has not, or arguments of the wrong types, fail tsc (tests/types/dao-write.test-d.ts).

export type WriteFunctionName<abi extends Abi> = ContractFunctionName<abi, 'nonpayable' | 'payable'>;
export type WriteFunctionArgs<abi extends Abi, functionName extends WriteFunctionName<abi>> = ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>;

export interface EncodedCall {
  target: Address;
  value: bigint;
  calldata: Hex;
}

export function contractCall<const abi extends Abi, functionName extends WriteFunctionName<abi>>(
  target: Address,
  abi: abi,
  functionName: functionName,
  args: WriteFunctionArgs<abi, functionName>,
  value = 0n,
): EncodedCall {
  // The parameters are checked by this function's signature; viem's encoder cannot follow a generic abi.
  const calldata = encodeFunctionData({ abi, functionName, args } as EncodeFunctionDataParameters);
  return { target, value, calldata };
}
