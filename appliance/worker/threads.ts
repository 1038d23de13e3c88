// Stopping a set of worker threads that share a control word (Int32 [0] = stop): the flag
// raised, their reload ports closed, then their exits awaited, those still running after
// `graceMs` terminated. Used by the fused supervisor and by the socket backend's UDP pool.

import type { MessagePort, Worker } from 'node:worker_threads';

export async function stopThreads(control: Int32Array, ports: MessagePort[], threads: Worker[], exited: Array<Promise<void>>, graceMs: number): Promise<void> {
  Atomics.store(control, 0, 1);
  for (const p of ports) p.close();
  const timer = setTimeout(() => { for (const w of threads) void w.terminate(); }, graceMs);
  await Promise.all(exited);
  clearTimeout(timer);
}
