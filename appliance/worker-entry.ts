// The worker threads' entry point (bundled as dist/worker.js): runs the job it is given.
// The reflector module starts its own loop when its job arrives (bench/reflector.ts).

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { serveWorkerMain, type ServeJob } from './worker/serve-worker.js';
import { dnsUdpWorkerMain, type DnsUdpJob } from './backends/dns-udp-workers.js';
import './bench/reflector.js';

const job = workerData as { kind?: string } | null;
if (!isMainThread && job?.kind === 'serve') {
  await serveWorkerMain(job as ServeJob, (m) => parentPort!.postMessage(m));
} else if (!isMainThread && job?.kind === 'dns-udp') {
  dnsUdpWorkerMain(job as DnsUdpJob, (m) => parentPort!.postMessage(m));
}
