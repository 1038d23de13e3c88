// The image's writer thread (write-thread.ts; bundled as dist/image-write-worker.js): takes
// the slots in the order they were handed over, does what each asks, and counts it done.
// After a failure it writes nothing more but still closes what it is asked to close, and
// counts every slot done, so that the build never waits on it.

import { createHash } from 'node:crypto';
import { closeSync, readSync, writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import {
  C_FAILED, C_FAILURE_LEN, C_HEAD, C_TAIL, DESC, errnoText, FAILURE_BYTES, OP_CLOSE, OP_COPY, OP_DIGEST, OP_HASH_FILE,
  OP_WRITE, OP_WRITE_RAW, SLOT_BYTES, SLOTS, type WriteThreadData,
} from './write-thread.js';

const shared = workerData as WriteThreadData;
const ctrl = new Int32Array(shared.ctrl);
const desc = new Float64Array(shared.desc);
const data = new Uint8Array(shared.data);
let hash = createHash('sha256');
let failed = false;

function fail(what: string, e: unknown): void {
  if (failed) return;
  failed = true;
  const text = Buffer.from(`${what} failed: ${errnoText(e)}`, 'utf8').subarray(0, FAILURE_BYTES);
  new Uint8Array(shared.failure).set(text);
  Atomics.store(ctrl, C_FAILURE_LEN, text.length);
  Atomics.store(ctrl, C_FAILED, 1);
}

function writeAll(fd: number, bytes: Uint8Array, pos: number, what: string): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done, pos + done);
    } catch (e) {
      fail(what, e);
      return;
    }
  }
}

/** Reads len bytes of fd at pos into buf; false (failed) when it cannot. */
function readAll(fd: number, buf: Uint8Array, len: number, pos: number, what: string): boolean {
  let done = 0;
  while (done < len) {
    let got: number;
    try {
      got = readSync(fd, buf, done, len - done, pos + done);
    } catch (e) {
      fail(what, e);
      return false;
    }
    if (got === 0) {
      fail(what, new Error('the file ended early'));
      return false;
    }
    done += got;
  }
  return true;
}

function run(s: number): void {
  const o = s * DESC;
  const op = desc[o]!, fd = desc[o + 1]!, pos = desc[o + 2]!, len = desc[o + 3]!;
  const buf = data.subarray(s * SLOT_BYTES, s * SLOT_BYTES + SLOT_BYTES);
  if (op === OP_CLOSE) {
    try { closeSync(fd); } catch { /* a spill file, unlinked already: nothing is lost */ }
    return;
  }
  if (op === OP_DIGEST) {
    new Uint8Array(shared.digest).set(hash.digest());
    hash = createHash('sha256');
    return;
  }
  if (failed) return;
  if (op === OP_WRITE || op === OP_WRITE_RAW) {
    const bytes = buf.subarray(0, len);
    if (op === OP_WRITE) hash.update(bytes);
    writeAll(fd, bytes, pos, op === OP_WRITE ? 'write' : 'writing a temporary file');
  } else if (op === OP_COPY) {
    if (!readAll(desc[o + 4]!, buf, len, desc[o + 5]!, 'reading a temporary file')) return;
    const bytes = buf.subarray(0, len);
    hash.update(bytes);
    writeAll(fd, bytes, pos, 'write');
  } else if (op === OP_HASH_FILE) {
    for (let at = 0; at < len && !failed; at += SLOT_BYTES) {
      const n = Math.min(SLOT_BYTES, len - at);
      if (readAll(fd, buf, n, pos + at, 'reading the image back')) hash.update(buf.subarray(0, n));
    }
  }
}

let done = 0;
for (;;) {
  const head = Atomics.load(ctrl, C_HEAD);
  if (done === head) {
    Atomics.wait(ctrl, C_HEAD, head);
    continue;
  }
  try {
    run(done % SLOTS);
  } catch (e) {
    fail('the image\'s writer thread', e);
  }
  done++;
  Atomics.store(ctrl, C_TAIL, done);
  Atomics.notify(ctrl, C_TAIL);
}
