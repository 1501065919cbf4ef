/**
 * Helia 7 / libp2p 3 use Promise.withResolvers, which arrived in Node 22; the server supports
 * Node ≥ 20.9 (README). Installed before Helia is imported (lib/ipfs/node.ts), idempotent.
 */
export function installNode20Polyfills(): void {
  const P = Promise as unknown as { withResolvers?: () => unknown };
  P.withResolvers ??= function withResolvers<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
