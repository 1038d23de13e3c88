// A compression worker thread (bundled as dist/compress-worker.js): compresses what it is
// sent, one file at a time, and sends the variants back (their memory moved, not copied).

import { parentPort } from 'node:worker_threads';
import { compress } from './compress.js';
import type { WorkerReply, WorkerTask } from './compress-pool.js';

const port = parentPort!;
port.on('message', (t: WorkerTask) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const r = compress(t);
    // Own buffers of their exact size: zlib's output may be a view into a larger one.
    const own = (b: Uint8Array | null): Uint8Array | null => {
      if (b === null) return null;
      const c = new Uint8Array(b);
      transfer.push(c.buffer as ArrayBuffer);
      return c;
    };
    reply = { id: t.id, gzip: own(r.gzip), br: own(r.br), error: null };
  } catch (e) {
    reply = { id: t.id, gzip: null, br: null, error: (e as Error).message ?? String(e) };
  }
  port.postMessage(reply, transfer);
});
