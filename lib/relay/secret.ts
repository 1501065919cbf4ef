/**
 * A server secret (the relayer's key). It prints as [redacted] through String(), JSON.stringify and
 * util.inspect, so an Env or error object that reaches a log never carries it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}

/**
 * anvil's well-known dev account #8 ("test test … junk" mnemonic): pays for relayed requests on the
 * local dev chain (chain id 31337) when no RELAY_PRIVATE_KEY is set. Public knowledge; never used on
 * another chain. (#0–#4 are the demo DAO's members, #9 the guardian.)
 */
export const ANVIL_RELAYER_KEY = '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97';
export const DEV_CHAIN_ID = 31337;
