// A big zone file read by two threads at once: the build's thread parses the first part,
// a worker thread (zone-split-worker.ts, bundled as dist/zone-split-worker.js) the second,
// and the second part's records are appended to the first's (RecordStore.appendParts).
//
// The second part starts where the state the parser carries from entry to entry is known
// from the text alone: at a line with an owner in column 1 (no previous owner needed), its
// $ORIGIN and $TTL those of the directive lines above it, its class IN. That is a guess
// (a line that only looks like a directive, inside parentheses or quotes, misleads it), so
// the first part checks it when it gets there: its lexer must stop exactly at the second
// part's first byte, with the same origin, TTL and class. When anything differs, or the
// worker fails or cannot start, the first part's parser goes on through the rest itself:
// the result is the serial parse's, record for record, in every case.
//
// Not split: files below SPLIT_ABOVE, a machine with one core, a file with an $INCLUDE
// (its state and the zone's byte budget would cross the parts).
//
// The file's bytes are read once, into shared memory both threads read; the worker's
// records come back as buffers moved, not copied. The build waits for it synchronously
// (Atomics.wait on a flag, then receiveMessageOnPort): the build is synchronous here.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { StoreParts } from './record-store.js';
import type { ZoneProblem } from './zone-errors.js';

/** How split parses ended, for tests: the worker's records taken, or the rest parsed again by the first part. */
export const splitCounts = { taken: 0, redone: 0 };

/** Files at least this long are parsed in two parts (below it, starting a thread costs more than it saves). */
export const SPLIT_ABOVE = 8 << 20;

/** What the worker needs: the text, where its part starts, and the parser's state there. */
export interface SplitJob {
  text: SharedArrayBuffer;
  length: number;
  /** The second part's first byte: the start of a line. */
  from: number;
  file: string;
  dir: string;
  origin: Uint8Array;
  ttl: number;
  ttlSet: boolean;
  cls: number;
  budget: number;
}

export type SplitReply =
  | {
    ok: true;
    parts: StoreParts;
    /** The warnings kept (without the "further warnings" line), and how many there were. */
    warnings: string[];
    warningCount: number;
    problems: ZoneProblem[];
    problemTotal: number;
    soaOwner: Uint8Array | null;
    firstOrigin: Uint8Array | null;
  }
  | { ok: false; error: string };

export interface SplitWorkerData { job: SplitJob; port: MessagePort; done: SharedArrayBuffer }

/** Is a split worth trying here: a big enough file, a second core, the worker's script present? */
export function canSplit(bytes: number, above = SPLIT_ABOVE): boolean {
  return bytes >= above && availableParallelism() >= 2 && workerScript() !== null;
}

/** dist/zone-split-worker.js beside the running bundle, or the transpiled module beside this one. */
function workerScript(): string | null {
  const p = fileURLToPath(new URL('./zone-split-worker.js', import.meta.url));
  return existsSync(p) ? p : null;
}

/** The second part, being parsed in its thread. */
export class SplitPart {
  private constructor(private readonly worker: Worker, private readonly port: MessagePort, private readonly done: Int32Array) {}

  /** Starts the worker on `job`; null when it cannot be started. */
  static start(job: SplitJob): SplitPart | null {
    const script = workerScript();
    if (script === null) return null;
    const { port1, port2 } = new MessageChannel();
    const done = new SharedArrayBuffer(4);
    const data: SplitWorkerData = { job, port: port2, done };
    try {
      const w = new Worker(script, { workerData: data, transferList: [port2], stdout: false, stderr: false });
      // It is waited for synchronously (wait()); nothing of it may hold the process open.
      w.unref();
      // A worker that dies (out of memory, a module that does not load) is not waited for
      // past wait()'s time, and its 'error' event, delivered later, must not end the build.
      w.on('error', () => { /* the first part has parsed the rest itself (wait() timed out) */ });
      port1.unref();
      return new SplitPart(w, port1, new Int32Array(done));
    } catch {
      port1.close();
      return null;
    }
  }

  /** Its reply, waiting up to `ms`; null when it has not answered by then. */
  wait(ms: number): SplitReply | null {
    const deadline = Date.now() + ms;
    while (Atomics.load(this.done, 0) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.stop();
        return null;
      }
      Atomics.wait(this.done, 0, 0, left);
    }
    // Posted before the flag was set: the message is on the port already.
    const m = receiveMessageOnPort(this.port);
    this.stop();
    return m === undefined ? null : (m.message as SplitReply);
  }

  /** Ends the thread (its work is not wanted, or it is done). */
  stop(): void {
    this.port.close();
    void this.worker.terminate();
  }
}
