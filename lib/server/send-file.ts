import type { ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { READ_HIGH_WATER_MARK } from '../artifacts/store.ts';

// Sends bytes [start, end] of an open file as the body of `res`, reading into a few buffers that are
// reused once the socket has taken them (each write's callback), instead of a read stream's fresh
// buffer per read. Fresh buffers are external memory to V8: a GiB served that way is 4096 new
// 256 KiB buffers, and the growth of external memory starts a full mark-compact of the server's heap
// every few dozen MiB — measured at 1.5–2 CPU s/GiB of GC in the server process, more than the copy.

/** Buffers per response: one being read while others wait in the socket. */
const BUFFERS = 4;

export async function sendFileRange(res: ServerResponse, fh: FileHandle, start: number, end: number): Promise<void> {
  // A small file gets one buffer of its own size, not a megabyte of them.
  const length = end + 1 - start;
  const size = Math.min(READ_HIGH_WATER_MARK, length);
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
  try {
    for (let pos = start; pos <= end;) {
      while (free.length === 0 && !failure) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (failure) throw failure;
      const buf = free.pop()!; // free is not empty
      const { bytesRead } = await fh.read(buf, 0, Math.min(size, end + 1 - pos), pos);
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
