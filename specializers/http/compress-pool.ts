// Worker threads that compress files: as many as the machine has cores by default, each
// given one file at a time, started when the first file needs one (a rebuild that finds
// everything in the cache starts none).
//
// Written here rather than taken from piscina: a fixed set of threads and a FIFO queue is
// all a build needs (no task timeouts, cancellation, resizing or histograms), and piscina
// starts its own worker script by path, so it could not be bundled into dist/ with the
// rest. A thread that fails (an exception outside a task, running out of memory) fails
// the tasks it held and every one after it: the build stops with APPL_ERR_WORKER.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ApplianceError } from '../../basics/errors.js';
import type { CompressResult, CompressTask } from './compress.js';

export interface WorkerTask extends CompressTask { id: number }
export interface WorkerReply extends CompressResult { id: number; error: string | null }

/** Compression threads when not told: one per core the process may use. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** dist/compress-worker.js next to the bundled CLI, or the transpiled module beside this one. */
function workerScript(): string {
  const u = new URL('./compress-worker.js', import.meta.url);
  const p = fileURLToPath(u);
  if (!existsSync(p)) throw new ApplianceError('APPL_ERR_WORKER', `the compression worker script is missing (looked for ${p}); run "npm run build"`);
  return p;
}

interface Pending { resolve: (r: CompressResult) => void; reject: (e: Error) => void }

export class CompressPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: WorkerTask[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  constructor(readonly threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads: ${threads}`);
  }

  /** Threads started so far (0 when every file came from the cache). */
  get started(): number {
    return this.workers.length;
  }

  /** Compresses in a worker thread. `t.bytes` is copied to it; the results are moved back. */
  run(t: CompressTask): Promise<CompressResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the compression pool is closed'));
    const id = this.nextId++;
    const p = new Promise<CompressResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.queue.push({ ...t, id });
    if (this.idle.length === 0 && this.workers.length < this.threads) this.start();
    this.dispatch();
    return p;
  }

  private start(): void {
    const w = new Worker(workerScript());
    this.workers.push(w);
    this.idle.push(w);
    w.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      this.idle.push(w);
      if (p) {
        if (m.error !== null) p.reject(new ApplianceError('APPL_ERR_WORKER', `compression failed: ${m.error}`));
        else p.resolve({ gzip: m.gzip, br: m.br });
      }
      this.dispatch();
    });
    w.on('error', (e) => this.fail(new ApplianceError('APPL_ERR_WORKER', `a compression thread failed: ${e.message}`, { cause: e })));
    w.on('exit', (code) => {
      if (!this.closed) this.fail(new ApplianceError('APPL_ERR_WORKER', `a compression thread exited (status ${code})`));
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const t = this.queue.shift()!;
      w.postMessage(t);
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.queue.length = 0;
    void this.close();
  }

  /** Stops the threads (what they hold is dropped). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
