import type { Address, Hex } from 'viem';
import { isSlug } from '../slug.ts';

// A delegate's statement (#16): name, Markdown statement, links and the models they care about,
// signed with EIP-712 by the delegate's own address. Portable (browser form, server, anyone who wants
// to verify a served statement): it imports nothing server-side.
//
// Binding: the domain is { name 'modeldao delegate statement', version '1', chainId, verifyingContract:
// the DAO's governor } — a statement signed for one DAO (or chain) does not verify for another. The
// message carries `issuedAt` (orders edits: a statement replaces the stored one only when its issuedAt
// is later) and `expiry` (the signature may be submitted only until then, at most
// MAX_STATEMENT_SIGNATURE_LIFETIME_SECONDS after issuedAt), so a signed statement that was never
// published, or an old one after the store lost it, cannot be published much later. Once published,
// a statement stays shown until a newer one replaces it; its signature is served with it.

export const STATEMENT_DOMAIN_NAME = 'modeldao delegate statement';
export const STATEMENT_DOMAIN_VERSION = '1';
export const MAX_STATEMENT_SIGNATURE_LIFETIME_SECONDS = 3600;
/** How far a signer's clock may run ahead of the server's. */
export const STATEMENT_CLOCK_SKEW_SECONDS = 120;

export const STATEMENT_LIMITS = {
  nameChars: 80,
  statementChars: 20_000,
  links: 10,
  linkChars: 300,
  models: 20,
} as const;

export const delegateStatementTypes = {
  DelegateStatement: [
    { name: 'delegate', type: 'address' },
    { name: 'name', type: 'string' },
    { name: 'statement', type: 'string' },
    { name: 'links', type: 'string[]' },
    { name: 'models', type: 'string[]' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const;

export interface DelegateStatement {
  delegate: Address;
  name: string;
  /** Markdown; rendered like proposal descriptions (no HTML, safe links only). */
  statement: string;
  /** http(s) URLs */
  links: string[];
  /** model slugs */
  models: string[];
  /** unix seconds */
  issuedAt: bigint;
  /** unix seconds: the signature may be submitted until then */
  expiry: bigint;
}

/** The statement as JSON (PUT body and API answers): integers as decimal strings. */
export interface DelegateStatementJson {
  delegate: string;
  name: string;
  statement: string;
  links: string[];
  models: string[];
  issuedAt: string;
  expiry: string;
}

export function statementDomain(chainId: number, governor: Address) {
  return { name: STATEMENT_DOMAIN_NAME, version: STATEMENT_DOMAIN_VERSION, chainId, verifyingContract: governor } as const;
}

/** The typed data for viem's signTypedData / verifyTypedData (and any EIP-712 wallet). */
export function statementTypedData(chainId: number, governor: Address, s: DelegateStatement) {
  return { domain: statementDomain(chainId, governor), types: delegateStatementTypes, primaryType: 'DelegateStatement' as const, message: s };
}

export function statementToJson(s: DelegateStatement): DelegateStatementJson {
  return { ...s, issuedAt: String(s.issuedAt), expiry: String(s.expiry) };
}

export type StatementErrorKind = 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'unavailable';

export class StatementError extends Error {
  constructor(
    readonly kind: StatementErrorKind,
    /** stable snake_case code, the API's error.code */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StatementError';
  }
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^[0-9]{1,19}$/;
const URL_RE = /^https?:\/\/[^\s]+$/i;
const invalid = (message: string) => new StatementError('invalid', 'invalid_statement', message);

function stringList(v: unknown, field: string, max: number): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`${field} must be a list of strings`);
  if (v.length > max) throw invalid(`${field}: at most ${max} entries`);
  return v as string[];
}

/** Parses and bounds-checks a statement from JSON; throws StatementError('invalid', …). */
export function parseStatement(v: unknown): DelegateStatement {
  if (!v || typeof v !== 'object') throw invalid('statement must be an object');
  const o = v as Record<string, unknown>;
  if (typeof o.delegate !== 'string' || !ADDRESS.test(o.delegate)) throw invalid('delegate must be a 0x address');
  if (typeof o.name !== 'string' || o.name.trim() === '') throw invalid('name is required');
  if ([...o.name].length > STATEMENT_LIMITS.nameChars) throw invalid(`name: at most ${STATEMENT_LIMITS.nameChars} characters`);
  if (typeof o.statement !== 'string') throw invalid('statement must be a string (Markdown)');
  if ([...o.statement].length > STATEMENT_LIMITS.statementChars) throw invalid(`statement: at most ${STATEMENT_LIMITS.statementChars} characters`);
  const links = stringList(o.links ?? [], 'links', STATEMENT_LIMITS.links);
  for (const l of links) {
    if (l.length > STATEMENT_LIMITS.linkChars || !URL_RE.test(l))
      throw invalid(`links: ${JSON.stringify(l.slice(0, 80))} is not an http(s) URL of at most ${STATEMENT_LIMITS.linkChars} characters`);
  }
  const models = stringList(o.models ?? [], 'models', STATEMENT_LIMITS.models);
  for (const m of models) if (!isSlug(m)) throw invalid(`models: ${JSON.stringify(m.slice(0, 80))} is not a model slug`);
  for (const f of ['issuedAt', 'expiry'] as const) {
    const x = o[f];
    if (!(typeof x === 'string' && UINT.test(x)) && !(typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) throw invalid(`${f} must be unix seconds`);
  }
  return {
    delegate: o.delegate as Address,
    name: o.name,
    statement: o.statement,
    links,
    models,
    issuedAt: BigInt(o.issuedAt as string | number),
    expiry: BigInt(o.expiry as string | number),
  };
}

/** Checks the submission window against `nowSec`; throws StatementError. */
export function checkStatementWindow(s: DelegateStatement, nowSec: number): void {
  const now = BigInt(nowSec);
  if (s.issuedAt > now + BigInt(STATEMENT_CLOCK_SKEW_SECONDS)) throw invalid('issuedAt is in the future');
  if (s.expiry <= s.issuedAt) throw invalid('expiry must be after issuedAt');
  if (s.expiry - s.issuedAt > BigInt(MAX_STATEMENT_SIGNATURE_LIFETIME_SECONDS))
    throw invalid(`expiry: a statement signature is valid for at most ${MAX_STATEMENT_SIGNATURE_LIFETIME_SECONDS} seconds after issuedAt`);
  if (s.expiry <= now) throw new StatementError('unauthenticated', 'statement_signature_expired', 'the statement signature has expired; sign it again');
}

/** A fresh statement to sign now (browser form). */
export function newStatement(fields: Omit<DelegateStatement, 'issuedAt' | 'expiry'>, nowSec = Math.floor(Date.now() / 1000)): DelegateStatement {
  return { ...fields, issuedAt: BigInt(nowSec), expiry: BigInt(nowSec + 600) };
}

/** What GET /api/delegates/{address} serves: the statement, its signature, and the typed data to verify it. */
export interface StoredStatementJson {
  statement: DelegateStatementJson;
  signature: Hex;
  domain: ReturnType<typeof statementDomain>;
  primaryType: 'DelegateStatement';
  types: typeof delegateStatementTypes;
  updatedAt: string;
}
