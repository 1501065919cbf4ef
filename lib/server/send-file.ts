import type { ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { READ_HIGH_WATER_MARK } from '../artifacts/store.ts';

// Sends bytes [start, end] of an open file as the body of `res`, reading into a few buffers that are
// reused once the socket has taken them (each write's callback), instead of a read stream's fresh
// buffer per read. Fresh buffers are external memory to V8: a GiB served that way is 4096 new
// 256 KiB buffers, and the growth of external memory starts a full mark-compact of the server's heap
// every few dozen MiB — measured at 1.5–2 CPU s/GiB of GC in the server process, more than the copy.
// The same loop serves a file that is still being written and verified (`modeldao hf-endpoint`'s cold
// downloads, lib/sdk/stream.ts): `readableEnd` says how far its bytes may be read.

/** Buffers per response: one being read while others wait in the socket. */
const BUFFERS = 4;

/**
 * For a file still growing: resolves once bytes past `pos` may be read, with the end (exclusive) of
 * those bytes; rejects if they never will be (the reason ends the response).
 */
export type ReadableEnd = (pos: number) => Promise<number>;

export interface SendFileOptions {
  /** For a file still being written: how far it may be read (the whole range without it). */
  readableEnd?: ReadableEnd;
  /** Bytes per read and write (default READ_HIGH_WATER_MARK). */
  bufferSize?: number;
}

export async function sendFileRange(res: ServerResponse, fh: FileHandle, start: number, end: number, opts: SendFileOptions = {}): Promise<void> {
  const { readableEnd } = opts;
  // A small file gets one buffer of its own size, not a megabyte of them.
  const length = end + 1 - start;
  const size = Math.min(opts.bufferSize ?? READ_HIGH_WATER_MARK, length);
  const free: Buffer[] = Array.from({ length: Math.min(BUFFERS, Math.ceil(length / size)) }, () => Buffer.allocUnsafeSlow(size));
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  // A client that goes away fails the writes in flight (their callbacks get the error); a write made
  // as its socket closes may get no callback at all, so the response's close ends the wait too.
  const onClose = () => {
    failure ??= new Error('client closed the connection');
    wake?.();
  };
  res.once('close', onClose);
  let limit = readableEnd ? start : end + 1;
  try {
    for (let pos = start; pos <= end;) {
      if (pos >= limit) {
        limit = Math.min(await readableEnd!(pos), end + 1); // set: without it, limit starts past the range
        if (limit <= pos) throw new Error(`no readable bytes at ${pos}`);
      }
      while (free.length === 0 && !failure) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (failure) throw failure;
      const buf = free.pop()!; // free is not empty
      const { bytesRead } = await fh.read(buf, 0, Math.min(size, limit - pos), pos);
      if (bytesRead === 0) throw new Error(`file ended at ${pos}, before byte ${end}`);
      pos += bytesRead;
      res.write(buf.subarray(0, bytesRead), (err) => {
        if (err) failure ??= err;
        free.push(buf);
        wake?.();
      });
    }
  } finally {
    res.off('close', onClose);
  }
  res.end();
}
