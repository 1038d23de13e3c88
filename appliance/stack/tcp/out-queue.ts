// What each connection has to send, as records, not as a send buffer (TCP-DESIGN principle
// 2): the bytes at any sequence number are found again from the records until the peer
// acknowledges them, so a retransmission copies the same bytes as the first transmission.
//
//   slot s: records [head, head + count) of a ring of RECORDS:
//     REC_ARENA  a block of the arena holding bytes a session made (a DNS answer), freed when acked
//     REC_BLOB   a span of the image (to come: HTTP bodies), never copied, never freed
//   Q_SEQ[s]     sequence number of the first unacknowledged byte of the head record
//   Q_LEN[s]     bytes queued from Q_SEQ on (sent or not)
//
// The arena is two bounded pools of blocks (small ones for the usual answer, large ones
// up to a DNS message's 65,535 bytes plus its length); small answers share the block of the
// record before them while it has room, so a pipelining client's answers pack into few
// records. What all connections of a worker can hold is bounded by the pools, and each
// connection by MAX_QUEUED bytes: past that its session stops (backpressure).

import { BlockPool } from '../../../basics/block-pool.js';
import { copyBytes } from '../../../basics/bytes.js';
import { partialSum } from '../../../basics/checksum.js';

export const REC_ARENA = 1;
export const REC_BLOB = 2;

/** Records per connection. */
export const RECORDS = 16;
/** Bytes a connection may have queued (sent or not, unacknowledged) before its session must wait. */
export const MAX_QUEUED = 64 * 1024;
export const SMALL_BLOCK = 2048;
export const LARGE_BLOCK = 65536 + 4;

export interface OutQueueOptions {
  capacity: number;
  /** Small blocks in all (default 4 per slot). */
  smallBlocks?: number;
  /** Large blocks in all (default 64). */
  largeBlocks?: number;
  /** The image's BLOB, for REC_BLOB records. */
  blob?: Uint8Array;
}

export class OutQueue {
  private readonly kind: Uint8Array;
  /** REC_ARENA: the block (≥ 0 small, −1 − index large). */
  private readonly ref: Int32Array;
  /** Where the record's unacknowledged bytes start in its block, or in the BLOB. */
  private readonly off: Uint32Array;
  /** Its unacknowledged bytes. */
  private readonly len: Uint32Array;
  private readonly head: Uint8Array;
  private readonly count: Uint8Array;
  readonly Q_SEQ: Uint32Array;
  readonly Q_LEN: Float64Array;
  private readonly small: BlockPool;
  private readonly large: BlockPool;
  private readonly blob: Uint8Array;
  /** Appends refused: no block was left (the connection is reset). */
  exhausted = 0;

  constructor(o: OutQueueOptions) {
    const n = o.capacity;
    this.kind = new Uint8Array(n * RECORDS);
    this.ref = new Int32Array(n * RECORDS);
    this.off = new Uint32Array(n * RECORDS);
    this.len = new Uint32Array(n * RECORDS);
    this.head = new Uint8Array(n);
    this.count = new Uint8Array(n);
    this.Q_SEQ = new Uint32Array(n);
    this.Q_LEN = new Float64Array(n);
    this.small = new BlockPool(SMALL_BLOCK, o.smallBlocks ?? n * 4);
    this.large = new BlockPool(LARGE_BLOCK, o.largeBlocks ?? 64);
    this.blob = o.blob ?? new Uint8Array(0);
  }

  /** A connection starts sending at `seq` (ISS + 1). */
  open(slot: number, seq: number): void {
    this.head[slot] = 0;
    this.count[slot] = 0;
    this.Q_SEQ[slot] = seq;
    this.Q_LEN[slot] = 0;
  }

  /** Gives back every block of the slot. */
  close(slot: number): void {
    while (this.count[slot]! > 0) this.pop(slot);
    this.Q_LEN[slot] = 0;
  }

  /** Can the slot take another answer (a record free, and under its byte budget)? */
  hasRoom(slot: number): boolean {
    return this.count[slot]! < RECORDS && this.Q_LEN[slot]! < MAX_QUEUED;
  }

  records(slot: number): number {
    return this.count[slot]!;
  }

  /** Copies buf[off, off+len) into the arena as a record; false when no block could be had (the caller resets). */
  appendCopy(slot: number, buf: Uint8Array, off: number, len: number): boolean {
    if (len > LARGE_BLOCK) return false;
    // Behind the last answer, in its block, while it has room (records acked in part keep their place).
    if (this.count[slot]! > 0) {
      const t = slot * RECORDS + ((this.head[slot]! + this.count[slot]! - 1) % RECORDS);
      if (this.kind[t] === REC_ARENA) {
        const b = this.ref[t]!;
        const mem = b >= 0 ? this.small.block(b) : this.large.block(-1 - b);
        const end = this.off[t]! + this.len[t]!;
        if (end + len <= mem.length) {
          copyBytes(mem, end, buf, off, len);
          this.len[t] = this.len[t]! + len;
          this.Q_LEN[slot] = this.Q_LEN[slot]! + len;
          return true;
        }
      }
    }
    if (this.count[slot]! >= RECORDS) return false;
    const big = len > SMALL_BLOCK;
    const b = big ? this.large.take() : this.small.take();
    if (b < 0) {
      this.exhausted++;
      return false;
    }
    const mem = big ? this.large.block(b) : this.small.block(b);
    copyBytes(mem, 0, buf, off, len);
    this.push(slot, REC_ARENA, big ? -1 - b : b, 0, len);
    return true;
  }

  /** A span of the image as a record (never copied). */
  appendBlob(slot: number, off: number, len: number): boolean {
    if (this.count[slot]! >= RECORDS) return false;
    this.push(slot, REC_BLOB, 0, off, len);
    return true;
  }

  private push(slot: number, kind: number, ref: number, off: number, len: number): void {
    const i = slot * RECORDS + ((this.head[slot]! + this.count[slot]!) % RECORDS);
    this.kind[i] = kind;
    this.ref[i] = ref;
    this.off[i] = off;
    this.len[i] = len;
    this.count[slot]!++;
    this.Q_LEN[slot] = this.Q_LEN[slot]! + len;
  }

  /** The peer acknowledged `n` more bytes: the records they end are given back. */
  acked(slot: number, n: number): void {
    let left = Math.min(n, this.Q_LEN[slot]!);
    this.Q_SEQ[slot] = (this.Q_SEQ[slot]! + left) >>> 0;
    this.Q_LEN[slot] = this.Q_LEN[slot]! - left;
    while (left > 0 && this.count[slot]! > 0) {
      const i = slot * RECORDS + this.head[slot]!;
      const l = this.len[i]!;
      if (left < l) {
        // Part of the head record: keep it, from where the peer has got to.
        this.len[i] = l - left;
        this.off[i] = this.off[i]! + left;
        return;
      }
      left -= l;
      this.pop(slot);
    }
  }

  /**
   * Copies the queued bytes at sequence `seq` (Q_SEQ ≤ seq, seq + n ≤ Q_SEQ + Q_LEN) into
   * dst[at, at+n) and returns their one's-complement sum (the copy path: no stored sums).
   */
  copy(slot: number, seq: number, n: number, dst: Uint8Array, at: number): number {
    let skip = (seq - this.Q_SEQ[slot]!) >>> 0;
    let o = at;
    const end = at + n;
    for (let k = 0, i = this.head[slot]!; k < this.count[slot]! && o < end; k++, i = (i + 1) % RECORDS) {
      const r = slot * RECORDS + i;
      const l = this.len[r]!;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const take = Math.min(l - skip, end - o);
      copyBytes(dst, o, this.recordBytes(r), this.off[r]! + skip, take);
      o += take;
      skip = 0;
    }
    return partialSum(dst, at, n);
  }

  private recordBytes(r: number): Uint8Array {
    if (this.kind[r] === REC_BLOB) return this.blob;
    const b = this.ref[r]!;
    return b >= 0 ? this.small.block(b) : this.large.block(-1 - b);
  }

  private pop(slot: number): void {
    const r = slot * RECORDS + this.head[slot]!;
    if (this.kind[r] === REC_ARENA) {
      const b = this.ref[r]!;
      if (b >= 0) this.small.give(b);
      else this.large.give(-1 - b);
    }
    this.kind[r] = 0;
    this.head[slot] = (this.head[slot]! + 1) % RECORDS;
    this.count[slot]!--;
  }

  /** Blocks handed out now (small + large). */
  get blocksInUse(): number {
    return this.small.inUse + this.large.inUse;
  }
}
