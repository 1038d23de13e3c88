// The worker threads' entry point (bundled as dist/worker.js): runs the job it is given.
// The reflector module starts its own loop when its job arrives (bench/reflector.ts).

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { serveWorkerMain, type ServeJob } from './worker/serve-worker.js';
import './bench/reflector.js';

const job = workerData as { kind?: string } | null;
if (!isMainThread && job?.kind === 'serve') {
  await serveWorkerMain(job as ServeJob, (m) => parentPort!.postMessage(m));
}
