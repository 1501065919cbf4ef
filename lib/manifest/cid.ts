import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';

/**
 * The manifest as an IPFS block: its on-chain digest is the sha-256 of its canonical bytes, so
 * CIDv1(raw 0x55, sha2-256 0x12, digest) names it on any trustless gateway.
 */
export function manifestCid(digestHex: string): CID {
  return CID.createV1(0x55, Digest.create(0x12, Buffer.from(digestHex.replace(/^0x/, ''), 'hex')));
}
