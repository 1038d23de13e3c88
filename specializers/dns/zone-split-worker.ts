// The worker of a zone file parsed in two parts (zone-split.ts; bundled as
// dist/zone-split-worker.js): parses the second part and moves its records back.

import { workerData } from 'node:worker_threads';
import { parsePart } from './zone-parser.js';
import type { SplitReply, SplitWorkerData } from './zone-split.js';

const data = workerData as SplitWorkerData;
let reply: SplitReply;
let transfer: ArrayBuffer[] = [];
try {
  const r = parsePart(data.job);
  reply = r.reply;
  transfer = r.transfer;
} catch (e) {
  reply = { ok: false, error: String((e as Error).stack ?? e) };
  transfer = [];
}
data.port.postMessage(reply, transfer);
const done = new Int32Array(data.done);
Atomics.store(done, 0, 1);
Atomics.notify(done, 0);
data.port.close();
// Ends the thread now, its heap with it (it holds the zone's text and half its names).
process.exit(0);
