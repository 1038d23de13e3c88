// The worker of a zone file parsed in two parts (zone-split.ts; bundled as
// dist/zone-split-worker.js): parses the second part and moves its records back. Whatever
// fails here (the parser's module too) is a reply of ok: false: the first part then parses
// the rest itself, at once rather than after wait()'s time.

import { workerData } from 'node:worker_threads';
import type { SplitReply, SplitWorkerData } from './zone-split.js';

const data = workerData as SplitWorkerData;
let reply: SplitReply;
let transfer: ArrayBuffer[] = [];
try {
  const { parsePart } = await import('./zone-parser.js');
  const r = parsePart(data.job);
  reply = r.reply;
  transfer = r.transfer;
} catch (e) {
  reply = { ok: false, error: String((e as Error).stack ?? e) };
  transfer = [];
}
try {
  data.port.postMessage(reply, transfer);
} catch (e) {
  data.port.postMessage({ ok: false, error: String((e as Error).stack ?? e) } satisfies SplitReply);
}
const done = new Int32Array(data.done);
Atomics.store(done, 0, 1);
Atomics.notify(done, 0);
data.port.close();
// Ends the thread now, its heap with it (it holds the zone's text and half its names).
process.exit(0);
