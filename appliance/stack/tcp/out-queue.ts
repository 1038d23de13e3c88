// What each connection has to send, as records, not as a send buffer (docs/TCP-DESIGN.md principle
// 2): the bytes at any sequence number are found again from the records until the peer
// acknowledges them, so a retransmission copies the same bytes as the first transmission.
//
//   slot s: records [head, head + count) of a ring of RECORDS:
//     REC_ARENA     a block of the arena holding bytes a session made (a DNS answer, a dynamic
//                   HTTP head), freed when acked
//     REC_BLOB      a span of the image (the body of a range response), never copied, never freed
//     REC_RESPONSE  a prebuilt HTTP response of the image, its Date frozen at the second it was
//                   queued and its Connection field set: sent from the image's pre-cut pieces
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
import { addSums, partialSum, swapSum } from '../../../basics/checksum.js';
import * as L from '../../../specializers/http/layout.js';
import { formatHttpDate } from '../../../specializers/http/date.js';

export const REC_ARENA = 1;
export const REC_BLOB = 2;
export const REC_RESPONSE = 3;

/** Records per connection. */
export const RECORDS = 16;
/** Records one answer takes at most (HttpTcpApp: a head made per request, then a span of the image). */
export const RECORDS_PER_ANSWER = 2;
/** Bytes a connection may have queued (sent or not, unacknowledged) before its session must wait. */
export const MAX_QUEUED = 64 * 1024;
export const SMALL_BLOCK = 2048;
/**
 * Images a worker's connections may hold at once: the one served, and older ones that
 * records still refer to after reloads (a reload when all are held is refused).
 */
export const GENERATIONS = 16;
export const LARGE_BLOCK = 65536 + 4;

/** What REC_RESPONSE records need of the image's HTTP tables (appliance/http/tables.ts). */
export interface ResponseTables {
  readonly blob: Uint8Array;
  readonly responses: Uint32Array;
  readonly segments: Uint32Array;
}

export interface OutQueueOptions {
  capacity: number;
  /** Small blocks in all (default 4 per slot). */
  smallBlocks?: number;
  /** Large blocks in all (default 64). */
  largeBlocks?: number;
  /** The image's HTTP tables, for REC_BLOB and REC_RESPONSE records. */
  http?: ResponseTables;
}

const CONN_KEEP_ALIVE = Uint8Array.from(L.CONN_KEEP_ALIVE, (c) => c.charCodeAt(0));
const CONN_CLOSE = Uint8Array.from(L.CONN_CLOSE, (c) => c.charCodeAt(0));

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
  /**
   * The images' tables by generation: a REC_BLOB or REC_RESPONSE record is read from the
   * image it was queued from (its generation in GEN), so that a response under way when the
   * image is reloaded goes on, and is retransmitted, from the bytes it started with.
   */
  private readonly gens: Array<ResponseTables | null> = new Array<ResponseTables | null>(GENERATIONS).fill(null);
  /** Image records queued from each generation; a generation not current is let go at 0. */
  private readonly held = new Uint32Array(GENERATIONS);
  private readonly gen: Uint8Array;
  private current = 0;
  /** REC_RESPONSE: the Date's second; the Connection field (1: close). */
  private readonly aux: Uint32Array;
  private readonly closeFlag: Uint8Array;
  /** Arena bytes each connection holds (its budget is MAX_QUEUED; image bytes cost nothing). */
  private readonly arenaBytes: Float64Array;
  private readonly dates = new DateBytes();
  /** Appends refused: no block was left (the connection is reset). */
  exhausted = 0;
  /** Pieces sent from the image's stored sums (template) and pieces copied and summed (copy path). */
  pieces = 0;
  copied = 0;

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
    this.gens[0] = o.http ?? null;
    this.gen = new Uint8Array(n * RECORDS);
    this.aux = new Uint32Array(n * RECORDS);
    this.closeFlag = new Uint8Array(n * RECORDS);
    this.arenaBytes = new Float64Array(n);
  }

  /**
   * The tables of a reloaded image, for the records queued from now on; records queued
   * before go on from theirs. False when every generation is still held (nothing changes).
   */
  setHttp(http: ResponseTables): boolean {
    // No record refers to the image served: its slot is taken over.
    if (this.held[this.current] === 0) {
      this.gens[this.current] = http;
      return true;
    }
    for (let k = 1; k <= GENERATIONS; k++) {
      const g = (this.current + k) % GENERATIONS;
      if (g === this.current || this.held[g]! > 0) continue;
      this.gens[g] = http;
      const old = this.current;
      this.current = g;
      if (this.held[old] === 0) this.gens[old] = null;
      return true;
    }
    return false;
  }

  /** Images the records hold, the current one included (1 when no older response is under way). */
  get imagesHeld(): number {
    let n = 0;
    for (let g = 0; g < GENERATIONS; g++) if (this.gens[g] !== null && (g === this.current || this.held[g]! > 0)) n++;
    return n;
  }

  /** A connection starts sending at `seq` (ISS + 1). */
  open(slot: number, seq: number): void {
    this.head[slot] = 0;
    this.count[slot] = 0;
    this.Q_SEQ[slot] = seq;
    this.Q_LEN[slot] = 0;
    this.arenaBytes[slot] = 0;
  }

  /** Gives back every block of the slot. */
  close(slot: number): void {
    while (this.count[slot]! > 0) this.pop(slot);
    this.Q_LEN[slot] = 0;
    this.arenaBytes[slot] = 0;
  }

  /**
   * Can the slot take another answer: records free for the largest one (a dynamic head and
   * the image span behind it), and under its byte budget of copies?
   */
  hasRoom(slot: number): boolean {
    return this.count[slot]! <= RECORDS - RECORDS_PER_ANSWER && this.arenaBytes[slot]! < MAX_QUEUED;
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
          this.arenaBytes[slot] = this.arenaBytes[slot]! + len;
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
    this.arenaBytes[slot] = this.arenaBytes[slot]! + len;
    return true;
  }

  /** A span of the image as a record (never copied). */
  appendBlob(slot: number, off: number, len: number): boolean {
    if (this.count[slot]! >= RECORDS || len === 0) return len === 0;
    this.push(slot, REC_BLOB, 0, off, len);
    return true;
  }

  /** A prebuilt response of the image, its Date the second `dateSec`, its Connection field `close` or keep-alive. */
  appendResponse(slot: number, resp: number, dateSec: number, close: boolean): boolean {
    const http = this.gens[this.current]!;
    if (this.count[slot]! >= RECORDS || http === null) return false;
    const a = resp * L.RESPONSE_WORDS;
    const r = http.responses;
    const len = r[a + L.RESP_HEAD_LEN]! + r[a + L.RESP_BODY_LEN]!;
    const i = slot * RECORDS + ((this.head[slot]! + this.count[slot]!) % RECORDS);
    this.aux[i] = dateSec;
    this.closeFlag[i] = close ? 1 : 0;
    this.push(slot, REC_RESPONSE, resp, 0, len);
    return true;
  }

  /** Bytes from `seq` to the end of the record it falls in (a segment never spans two responses, so pieces stay whole). */
  runLength(slot: number, seq: number): number {
    let skip = (seq - this.Q_SEQ[slot]!) >>> 0;
    for (let k = 0, i = this.head[slot]!; k < this.count[slot]!; k++, i = (i + 1) % RECORDS) {
      const l = this.len[slot * RECORDS + i]!;
      if (skip < l) return l - skip;
      skip -= l;
    }
    return 0;
  }

  private push(slot: number, kind: number, ref: number, off: number, len: number): void {
    const i = slot * RECORDS + ((this.head[slot]! + this.count[slot]!) % RECORDS);
    this.kind[i] = kind;
    this.ref[i] = ref;
    this.off[i] = off;
    this.len[i] = len;
    if (kind !== REC_ARENA) {
      this.gen[i] = this.current;
      this.held[this.current]!++;
    }
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
        if (this.kind[i] === REC_ARENA) this.arenaBytes[slot] = this.arenaBytes[slot]! - left;
        return;
      }
      left -= l;
      this.pop(slot);
    }
  }

  /**
   * Copies the queued bytes at sequence `seq` (Q_SEQ ≤ seq, seq + n ≤ Q_SEQ + Q_LEN) into
   * dst[at, at+n) and returns their one's-complement sum. When the bytes are exactly one of
   * a prebuilt response's pre-cut pieces (for `cut`, the MSS the image was cut for: 1460 over
   * IPv4, 1440 over IPv6), the sum is the piece's stored one, adjusted for the Date and
   * Connection bytes patched in (RFC 1624): no payload byte is summed. Otherwise the bytes
   * are summed as they are copied (the copy path).
   */
  copy(slot: number, seq: number, n: number, dst: Uint8Array, at: number, v6 = false): number {
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
      if (this.kind[r] === REC_RESPONSE) {
        const pos = this.off[r]! + skip; // offset inside the response
        const sum = this.piece(r, pos, take, dst, o, v6);
        if (sum >= 0 && take === n) return sum;
        if (sum < 0) this.copyResponse(r, pos, take, dst, o);
      } else {
        copyBytes(dst, o, this.recordBytes(r), this.off[r]! + skip, take);
      }
      o += take;
      skip = 0;
    }
    this.copied++;
    return partialSum(dst, at, n);
  }

  /**
   * Where the byte at sequence `seq` lies in its memory, modulo 8, when it is the image's (a
   * REC_RESPONSE or REC_BLOB record); -1 for the arena's. The image is a SharedArrayBuffer,
   * and V8 copies out of one word by word only when source and destination have the same
   * alignment, byte by byte otherwise (about six times slower): the segment writer places
   * the payload to match.
   */
  alignOf(slot: number, seq: number): number {
    let skip = (seq - this.Q_SEQ[slot]!) >>> 0;
    for (let k = 0, i = this.head[slot]!; k < this.count[slot]!; k++, i = (i + 1) % RECORDS) {
      const r = slot * RECORDS + i;
      const l = this.len[r]!;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const kind = this.kind[r];
      if (kind === REC_ARENA) return -1;
      const h = this.gens[this.gen[r]!]!;
      const base = kind === REC_RESPONSE ? h.responses[this.ref[r]! * L.RESPONSE_WORDS + L.RESP_HEAD_OFF]! : 0;
      return (h.blob.byteOffset + base + this.off[r]! + skip) & 7;
    }
    return -1;
  }

  /** Response bytes [pos, pos+n) of record r into dst[at..], Date and Connection patched. */
  private copyResponse(r: number, pos: number, n: number, dst: Uint8Array, at: number): void {
    const h = this.gens[this.gen[r]!]!;
    const a = this.ref[r]! * L.RESPONSE_WORDS;
    const base = h.responses[a + L.RESP_HEAD_OFF]!;
    copyBytes(dst, at, h.blob, base + pos, n);
    patch(dst, at, pos, n, h.responses[a + L.RESP_DATE_AT]!, this.dates.bytes(this.aux[r]!));
    patch(dst, at, pos, n, h.responses[a + L.RESP_CONN_AT]!, this.closeFlag[r] ? CONN_CLOSE : CONN_KEEP_ALIVE);
  }

  /**
   * The template path: when response bytes [pos, pos+n) are exactly a stored piece for this
   * family's cut, copies them (patched) and returns the piece's sum adjusted for the patches;
   * else -1 (nothing written).
   */
  private piece(r: number, pos: number, n: number, dst: Uint8Array, at: number, v6: boolean): number {
    const h = this.gens[this.gen[r]!]!;
    const a = this.ref[r]! * L.RESPONSE_WORDS;
    const cut = v6 ? L.MSS_IPV6 : L.MSS_IPV4;
    if (pos % cut !== 0) return -1;
    const k = pos / cut;
    const segAt = h.responses[a + (v6 ? L.RESP_SEG6_AT : L.RESP_SEG4_AT)]!;
    const segCount = h.responses[a + (v6 ? L.RESP_SEG6_COUNT : L.RESP_SEG4_COUNT)]!;
    if (k >= segCount) return -1;
    const e = (segAt + k) * L.SEGMENT_WORDS;
    const word = h.segments[e + L.SEG_LEN_SUM]!;
    if (word >>> 16 !== n) return -1;
    const src = h.segments[e + L.SEG_OFF]!;
    copyBytes(dst, at, h.blob, src, n);
    let sum = word & 0xffff;
    // The per-response fields sit in the first piece: their stored (placeholder) bytes out, the patched ones in.
    sum = patchSum(dst, at, pos, n, h.responses[a + L.RESP_DATE_AT]!, this.dates.bytes(this.aux[r]!), sum);
    sum = patchSum(dst, at, pos, n, h.responses[a + L.RESP_CONN_AT]!, this.closeFlag[r] ? CONN_CLOSE : CONN_KEEP_ALIVE, sum);
    this.pieces++;
    return sum;
  }

  private recordBytes(r: number): Uint8Array {
    if (this.kind[r] === REC_BLOB || this.kind[r] === REC_RESPONSE) return this.gens[this.gen[r]!]!.blob;
    const b = this.ref[r]!;
    return b >= 0 ? this.small.block(b) : this.large.block(-1 - b);
  }

  private pop(slot: number): void {
    const r = slot * RECORDS + this.head[slot]!;
    if (this.kind[r] === REC_ARENA) {
      const b = this.ref[r]!;
      if (b >= 0) this.small.give(b);
      else this.large.give(-1 - b);
      this.arenaBytes[slot] = Math.max(0, this.arenaBytes[slot]! - this.len[r]!);
    } else if (this.kind[r] !== 0) {
      const g = this.gen[r]!;
      // The last record of an older image: the image is let go (freed once no worker holds it).
      if (--this.held[g]! === 0 && g !== this.current) this.gens[g] = null;
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

/**
 * Writes `value` over the field that starts `fieldAt` bytes into the response, where it
 * overlaps the copied bytes dst[at, at+n) = response bytes [pos, pos+n).
 */
function patch(dst: Uint8Array, at: number, pos: number, n: number, fieldAt: number, value: Uint8Array): void {
  const from = Math.max(fieldAt, pos), to = Math.min(fieldAt + value.length, pos + n);
  for (let p = from; p < to; p++) dst[at + p - pos] = value[p - fieldAt]!;
}

/**
 * patch() on bytes summed into `sum` already: the old bytes' share out, the new ones' in
 * (RFC 1624), each at its parity in the piece. Returns the new sum.
 */
function patchSum(dst: Uint8Array, at: number, pos: number, n: number, fieldAt: number, value: Uint8Array, sum: number): number {
  const from = Math.max(fieldAt, pos), to = Math.min(fieldAt + value.length, pos + n);
  if (from >= to) return sum;
  const rel = from - pos; // where the field starts in the piece
  const old = partialSum(dst, at + rel, to - from);
  patch(dst, at, pos, n, fieldAt, value);
  const neu = partialSum(dst, at + rel, to - from);
  // A span that starts at an odd offset of the piece sums byte-swapped (RFC 1071 §2(B)).
  const o = rel & 1 ? swapSum(old) : old;
  const w = rel & 1 ? swapSum(neu) : neu;
  return addSums(addSums(sum, ~o & 0xffff), w);
}

/** The 29 bytes of the Date of a second, for the few seconds responses in flight were queued in. */
class DateBytes {
  private readonly secs = new Float64Array(8).fill(-1);
  private readonly values = Array.from({ length: 8 }, () => new Uint8Array(L.DATE_LEN));
  private next = 0;

  bytes(sec: number): Uint8Array {
    for (let i = 0; i < 8; i++) if (this.secs[i] === sec) return this.values[i]!;
    const i = this.next;
    this.next = (this.next + 1) & 7;
    const text = formatHttpDate(sec);
    const v = this.values[i]!;
    for (let k = 0; k < L.DATE_LEN; k++) v[k] = text.charCodeAt(k);
    this.secs[i] = sec;
    return v;
  }
}
