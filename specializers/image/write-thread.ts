// The image's writes, on a thread of their own (image-write-worker.ts, bundled as
// dist/image-write-worker.js): at a million names a build writes about 230 MB into the image
// and 150 MB into its spill files, then reads those back, and every byte of the image is
// hashed. Done on the build's thread, that was a sixth of its time, while the second core
// sat idle once the zone was parsed. Here the build copies the bytes into a ring of shared
// slots and goes on; the worker writes them where they go (every write is positional),
// hashes the image's bytes in the order they were handed over (which is their order in the
// file), copies the spill files into the image itself, and closes them.
//
// The ring is SLOTS slots of SLOT_BYTES: the build is never more than that ahead of the
// disk, and a slot is all a write needs of memory. The two sides speak through shared
// counters only (Atomics.wait and notify; the build is synchronous and never yields to its
// event loop). A write that fails (ENOSPC, EIO) is kept as text; the build sees it at its
// next handover or at the digest, as it would have seen the system call fail. A worker that
// cannot be made leaves the build writing on its own thread, as before.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ImageError } from '../../basics/errors.js';

export const SLOTS = 4;
export const SLOT_BYTES = 1 << 20;

/** What a slot asks of the worker (DESC words: op, fd, pos, len, source fd, source pos). */
export const OP_WRITE = 1; // the slot's bytes at pos, hashed (the image)
export const OP_WRITE_RAW = 2; // the slot's bytes at pos, not hashed (a spill file)
export const OP_COPY = 3; // len bytes of the source fd at its pos, written at pos and hashed
export const OP_HASH_FILE = 4; // len bytes of fd at pos read back and hashed (written before the thread started)
export const OP_CLOSE = 5; // close fd (a spill file, once copied)
export const OP_DIGEST = 6; // the hash so far into the digest buffer
export const DESC = 6;

/** Control words: slots handed over, slots done, a failure's flag and its text's length. */
export const C_HEAD = 0;
export const C_TAIL = 1;
export const C_FAILED = 2;
export const C_FAILURE_LEN = 3;
export const FAILURE_BYTES = 2048;

export interface WriteThreadData {
  ctrl: SharedArrayBuffer;
  desc: SharedArrayBuffer;
  data: SharedArrayBuffer;
  failure: SharedArrayBuffer;
  digest: SharedArrayBuffer;
}

/** A system call's failure as the person running the build reads it. */
export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code} (${err.message})` : String((e as Error).message ?? e);
}

/** Threads started (for tests: that the writes did go through one). */
export const writeThreadStats = { started: 0 };

/** How long the build waits for a slot with no slot done before it calls the thread stuck. */
const STALL_MS = 120_000;

function workerScript(): string | null {
  const p = fileURLToPath(new URL('./image-write-worker.js', import.meta.url));
  return existsSync(p) ? p : null;
}

export class WriteThread {
  private head = 0;
  private readonly ctrl: Int32Array;
  private readonly desc: Float64Array;
  private readonly data: Uint8Array;

  private constructor(private readonly worker: Worker, private readonly shared: WriteThreadData, private readonly path: string) {
    this.ctrl = new Int32Array(shared.ctrl);
    this.desc = new Float64Array(shared.desc);
    this.data = new Uint8Array(shared.data);
  }

  /** The thread, started; null on one core, without the worker's script, or when it cannot start. */
  static start(path: string): WriteThread | null {
    if (availableParallelism() < 2) return null;
    const script = workerScript();
    if (script === null) return null;
    const shared: WriteThreadData = {
      ctrl: new SharedArrayBuffer(16),
      desc: new SharedArrayBuffer(SLOTS * DESC * 8),
      data: new SharedArrayBuffer(SLOTS * SLOT_BYTES),
      failure: new SharedArrayBuffer(FAILURE_BYTES),
      digest: new SharedArrayBuffer(32),
    };
    try {
      // A small heap: the worker holds a hash and a few views, nothing else.
      const w = new Worker(script, { workerData: shared, stdout: false, stderr: false, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
      w.unref();
      writeThreadStats.started++;
      // A worker that dies is noticed by its silence (STALL_MS); its event must not end the build.
      w.on('error', () => { /* see STALL_MS */ });
      return new WriteThread(w, shared, path);
    } catch {
      return null;
    }
  }

  /** The failure that stopped the writes (they are skipped after it), or null. */
  failure(): string | null {
    if (Atomics.load(this.ctrl, C_FAILED) === 0) return null;
    const n = Atomics.load(this.ctrl, C_FAILURE_LEN);
    return Buffer.from(new Uint8Array(this.shared.failure, 0, n)).toString('utf8');
  }

  /** Hands over bytes to be written at pos of fd (hashed: the image's, in file order). */
  write(fd: number, pos: number, bytes: Uint8Array, hashed: boolean): void {
    for (let off = 0; off < bytes.length; off += SLOT_BYTES) {
      const n = Math.min(SLOT_BYTES, bytes.length - off);
      const s = this.slot();
      this.data.set(n === bytes.length ? bytes : bytes.subarray(off, off + n), s * SLOT_BYTES);
      this.submit(s, hashed ? OP_WRITE : OP_WRITE_RAW, fd, pos + off, n);
    }
  }

  /** len bytes of src from srcPos copied to pos of fd, hashed. */
  copy(src: number, srcPos: number, len: number, fd: number, pos: number): void {
    for (let off = 0; off < len; off += SLOT_BYTES) {
      const n = Math.min(SLOT_BYTES, len - off);
      this.submit(this.slot(), OP_COPY, fd, pos + off, n, src, srcPos + off);
    }
  }

  /** The bytes [pos, pos + len) of fd, already written, read back into the hash. */
  hashFile(fd: number, pos: number, len: number): void {
    if (len > 0) this.submit(this.slot(), OP_HASH_FILE, fd, pos, len);
  }

  /** Closes fd once everything handed over before is done with it. */
  close(fd: number): void {
    this.submit(this.slot(), OP_CLOSE, fd, 0, 0);
  }

  /** SHA-256 of the hashed bytes, after every write before it is done. */
  digest(): Buffer {
    this.submit(this.slot(), OP_DIGEST, 0, 0, 0);
    this.drain();
    return Buffer.from(new Uint8Array(this.shared.digest).slice());
  }

  /** Waits until every slot handed over is done. */
  drain(): void {
    this.waitTail(this.head);
  }

  /** Ends the thread (after drain(): nothing of its is in flight). */
  stop(): void {
    void this.worker.terminate();
  }

  /** A free slot, waiting for the worker when all are in flight. */
  private slot(): number {
    this.waitTail(this.head - SLOTS + 1);
    return this.head % SLOTS;
  }

  private submit(s: number, op: number, fd: number, pos: number, len: number, src = 0, srcPos = 0): void {
    const d = this.desc, o = s * DESC;
    d[o] = op;
    d[o + 1] = fd;
    d[o + 2] = pos;
    d[o + 3] = len;
    d[o + 4] = src;
    d[o + 5] = srcPos;
    this.head++;
    Atomics.store(this.ctrl, C_HEAD, this.head);
    Atomics.notify(this.ctrl, C_HEAD);
  }

  private waitTail(target: number): void {
    let tail = Atomics.load(this.ctrl, C_TAIL);
    let since = Date.now();
    while (tail < target) {
      Atomics.wait(this.ctrl, C_TAIL, tail, 1000);
      const now = Atomics.load(this.ctrl, C_TAIL);
      if (now !== tail) {
        tail = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        throw new ImageError('APPL_ERR_IMAGE_WRITE', this.path, `the build's writer thread did nothing for ${STALL_MS / 1000} s (it may have run out of memory)`);
      }
    }
  }
}
