import crypto from 'node:crypto';
import fs from 'node:fs';
import { keccak256, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { ModelDaoError } from './errors.ts';

/**
 * A signing key from (in order) the given spec, or $MODELDAO_PRIVATE_KEY. A spec is a 0x private key,
 * a file holding one, or a Web3 Secret Storage (v3) keystore file whose password is in
 * $MODELDAO_KEYSTORE_PASSWORD.
 */
export function loadAccount(spec?: string): PrivateKeyAccount | undefined {
  const s = spec ?? process.env.MODELDAO_PRIVATE_KEY;
  if (!s) return undefined;
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(s.trim())) return privateKeyToAccount(normalize(s));
  let raw: string;
  try {
    raw = fs.readFileSync(s, 'utf8').trim();
  } catch {
    throw new ModelDaoError('usage', 'invalid_key', `--key is neither a 0x private key nor a readable file`);
  }
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(raw)) return privateKeyToAccount(normalize(raw));
  let ks: Keystore;
  try {
    ks = JSON.parse(raw) as Keystore;
  } catch {
    throw new ModelDaoError('usage', 'invalid_key', `${s} is neither a private key nor a JSON keystore`);
  }
  const password = process.env.MODELDAO_KEYSTORE_PASSWORD;
  if (password === undefined) throw new ModelDaoError('usage', 'keystore_password_missing', `set MODELDAO_KEYSTORE_PASSWORD to unlock keystore ${s}`);
  return privateKeyToAccount(decryptKeystore(ks, password));
}

function normalize(k: string): Hex {
  const t = k.trim();
  return (t.startsWith('0x') ? t : `0x${t}`) as Hex;
}

interface Keystore {
  version?: number;
  crypto?: KeystoreCrypto;
  Crypto?: KeystoreCrypto;
}
interface KeystoreCrypto {
  cipher: string;
  ciphertext: string;
  cipherparams: { iv: string };
  kdf: 'scrypt' | 'pbkdf2';
  kdfparams: { dklen: number; salt: string; n?: number; r?: number; p?: number; c?: number; prf?: string };
  mac: string;
}

/** Web3 Secret Storage v3 (what geth, foundry's `cast wallet` and ethers write). */
export function decryptKeystore(ks: Keystore, password: string): Hex {
  const c = ks.crypto ?? ks.Crypto;
  if (!c || c.cipher !== 'aes-128-ctr') throw new ModelDaoError('usage', 'invalid_keystore', 'unsupported keystore (need v3, aes-128-ctr)');
  const salt = Buffer.from(c.kdfparams.salt, 'hex');
  const dklen = c.kdfparams.dklen ?? 32;
  let dk: Buffer;
  if (c.kdf === 'scrypt') {
    const { n = 262144, r = 8, p = 1 } = c.kdfparams;
    dk = crypto.scryptSync(password, salt, dklen, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  } else {
    dk = crypto.pbkdf2Sync(password, salt, c.kdfparams.c ?? 262144, dklen, 'sha256');
  }
  const ciphertext = Buffer.from(c.ciphertext, 'hex');
  const mac = keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext])).slice(2);
  if (mac !== c.mac.toLowerCase()) throw new ModelDaoError('usage', 'wrong_keystore_password', 'keystore password is wrong (MAC mismatch)');
  const decipher = crypto.createDecipheriv('aes-128-ctr', dk.subarray(0, 16), Buffer.from(c.cipherparams.iv, 'hex'));
  const key = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  return `0x${key.toString('hex')}`;
}
