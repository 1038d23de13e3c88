// DNS over a byte stream (RFC 1035 §4.2.2, RFC 7766), per connection slot: framing, limits
// and deadlines, shared by the socket backend's DNS over TCP and the fused TCP.
//
// Messages are framed by a two-byte length. Several may come in one read and one may come
// in many: a message that is not all here is kept in a block from a bounded pool (a small
// block when its length says it fits, a large one otherwise) until the rest arrives. Its
// deadline (--dns-message-timeout) is armed at its first byte and not re-armed by later
// ones. Answers go back in order through the sink; when the sink is full, nothing more is
// consumed (the transport stops reading: backpressure). A message the responder drops (a
// response, or too short for a question) closes the connection after the answers owed, as
// NSD does.
//
//   open(slot, now, v6)  data(slot, buf, off, len, now, sink) → consumed | SESSION_CLOSE
//   deadline(slot)       free(slot)

import { BlockPool } from '../../basics/block-pool.js';
import { copyBytes } from '../../basics/bytes.js';
import { DnsResponder, MAX_MESSAGE, TRANSPORT_TCP } from './responder.js';

/** data(): close the connection once what was sent has gone. */
export const STREAM_CLOSE = -1;

export const STREAM_IDLE = 0; // between messages: the idle deadline
export const STREAM_MESSAGE = 1; // part of a message is held: the message deadline
export const STREAM_ENDED = 2;

export interface DnsStreamSink {
  /** Sends buf[off, off+len) (an answer with its length prefix; copy it). False when the connection can take no more now. */
  send(slot: number, buf: Uint8Array, off: number, len: number): boolean;
  /**
   * A NOTIFY reply of n bytes at buf[off..] for a secondary zone (r.notified >= 0): the
   * transport judges the connection's peer (NotifyGate) and returns the reply's length.
   * Absent: every NOTIFY over this transport is REFUSED.
   */
  judgeNotify?(slot: number, r: DnsResponder, buf: Uint8Array, off: number, n: number): number;
}

export interface DnsStreamOptions {
  capacity: number;
  /** One message must be complete this long after its first byte. */
  messageTimeoutMs: number;
  /** An idle connection is closed after this (RFC 7766 §6.2.3). */
  idleTimeoutMs: number;
  /** Large blocks (64 KiB) for messages over SMALL_MESSAGE that arrive in pieces; default 64. */
  largeBlocks?: number;
}

export const S_MESSAGES = 0;
export const S_IN_PIECES = 1;
export const S_BLOCKS_EXHAUSTED = 2;
export const S_CLOSED_NOT_DNS = 3;
export const DNS_STREAM_COUNTERS = 4;
export const DNS_STREAM_COUNTER_NAMES = ['messages', 'messages_in_pieces', 'blocks_exhausted', 'closed_not_dns'];

/** Messages up to this size (with their length prefix) wait in a small block. */
const SMALL_BLOCK = 514;
const LARGE_BLOCK = MAX_MESSAGE + 2;

export class DnsStreams {
  readonly counters: Float64Array;
  private readonly small: BlockPool;
  private readonly large: BlockPool;
  /** The query copied in, answered in place, framed: the responder needs room after it. */
  private readonly work = new Uint8Array(MAX_MESSAGE + 2);
  private readonly phase: Uint8Array;
  private readonly since: Float64Array;
  private readonly v6: Uint8Array;
  /** Block index, + 1 for a small one, − 1 − index for a large one, 0 for none. */
  private readonly block: Int32Array;
  private readonly held: Uint32Array;

  constructor(private readonly responder: DnsResponder, private readonly o: DnsStreamOptions, counters?: Float64Array) {
    this.counters = counters ?? new Float64Array(DNS_STREAM_COUNTERS);
    const n = o.capacity;
    this.phase = new Uint8Array(n);
    this.since = new Float64Array(n);
    this.v6 = new Uint8Array(n);
    this.block = new Int32Array(n);
    this.held = new Uint32Array(n);
    this.small = new BlockPool(SMALL_BLOCK, n);
    this.large = new BlockPool(LARGE_BLOCK, o.largeBlocks ?? 64);
  }

  open(slot: number, now: number, v6: boolean): void {
    this.phase[slot] = STREAM_IDLE;
    this.since[slot] = now;
    this.v6[slot] = v6 ? 1 : 0;
    this.block[slot] = 0;
    this.held[slot] = 0;
  }

  free(slot: number): void {
    this.release(slot);
    this.phase[slot] = STREAM_ENDED;
  }

  deadline(slot: number): number {
    const p = this.phase[slot]!;
    if (p === STREAM_MESSAGE) return this.since[slot]! + this.o.messageTimeoutMs;
    if (p === STREAM_ENDED) return this.since[slot]!;
    return this.since[slot]! + this.o.idleTimeoutMs;
  }

  phaseOf(slot: number): number {
    return this.phase[slot]!;
  }

  inMessage(slot: number): boolean {
    return this.phase[slot] === STREAM_MESSAGE;
  }

  data(slot: number, buf: Uint8Array, off: number, len: number, now: number, sink: DnsStreamSink): number {
    if (this.phase[slot] === STREAM_ENDED) return len;
    const end = off + len;
    let i = off;
    while (i < end) {
      if (this.phase[slot] === STREAM_MESSAGE) {
        // The rest of a message that began in an earlier read.
        let mem = this.mem(slot);
        let held = this.held[slot]!;
        if (held < 2) {
          mem[held++] = buf[i++]!;
          this.held[slot] = held;
          if (held < 2) continue;
          // The length is known now: a message too big for the small block moves to a large one.
          if (((mem[0]! << 8) | mem[1]!) + 2 > SMALL_BLOCK && this.block[slot]! > 0) {
            if (!this.grow(slot)) return this.end(slot, now);
            mem = this.mem(slot);
          }
          if (i === end) break;
        }
        const need = ((mem[0]! << 8) | mem[1]!) + 2;
        const take = Math.min(need - held, end - i);
        mem.set(buf.subarray(i, i + take), held);
        i += take;
        held += take;
        this.held[slot] = held;
        if (held < need) continue;
        const go = this.answer(slot, mem, 2, need - 2, now, sink);
        this.release(slot);
        this.phase[slot] = STREAM_IDLE;
        if (go !== 1) return go === 0 ? i - off : this.end(slot, now);
        continue;
      }
      const avail = end - i;
      const need = avail >= 2 ? ((buf[i]! << 8) | buf[i + 1]!) + 2 : 0;
      if (avail < 2 || avail < need) {
        // Not all here: keep it, and start the message's deadline.
        const b = need > SMALL_BLOCK ? this.large.take() : this.small.take();
        if (b < 0) {
          this.counters[S_BLOCKS_EXHAUSTED]!++;
          return this.end(slot, now);
        }
        this.block[slot] = need > SMALL_BLOCK ? -1 - b : b + 1;
        this.counters[S_IN_PIECES]!++;
        this.mem(slot).set(buf.subarray(i, end), 0);
        this.held[slot] = avail;
        this.phase[slot] = STREAM_MESSAGE;
        this.since[slot] = now;
        i = end;
        break;
      }
      const go = this.answer(slot, buf, i + 2, need - 2, now, sink);
      i += need;
      if (go !== 1) return go === 0 ? i - off : this.end(slot, now);
    }
    return i - off;
  }

  /** Answers the message at buf[at, at+len). 1: go on; 0: the sink is full; -1: close. */
  private answer(slot: number, buf: Uint8Array, at: number, len: number, now: number, sink: DnsStreamSink): number {
    this.counters[S_MESSAGES]!++;
    const work = this.work;
    copyBytes(work, 2, buf, at, len);
    let n = this.responder.answer(work, 2, len, MAX_MESSAGE, TRANSPORT_TCP, this.v6[slot] === 1);
    // NOTIFY over TCP too (Knot DNS sends it so): the transport knows the peer.
    if (n > 0 && this.responder.notified >= 0) n = sink.judgeNotify ? sink.judgeNotify(slot, this.responder, work, 2, n) : this.responder.notifyRefused(work, 2);
    if (n < 0) {
      // Not a query (a response, or too short for a question): this peer is not speaking DNS.
      this.counters[S_CLOSED_NOT_DNS]!++;
      return -1;
    }
    work[0] = n >> 8;
    work[1] = n & 0xff;
    this.since[slot] = now;
    return sink.send(slot, work, 0, n + 2) ? 1 : 0;
  }

  private mem(slot: number): Uint8Array {
    const b = this.block[slot]!;
    return b > 0 ? this.small.block(b - 1) : this.large.block(-1 - b);
  }

  /** Moves a held message from its small block to a large one; false when none is free. */
  private grow(slot: number): boolean {
    const b = this.large.take();
    if (b < 0) {
      this.counters[S_BLOCKS_EXHAUSTED]!++;
      return false;
    }
    const from = this.small.block(this.block[slot]! - 1);
    this.large.block(b).set(from.subarray(0, this.held[slot]!), 0);
    this.small.give(this.block[slot]! - 1);
    this.block[slot] = -1 - b;
    return true;
  }

  private release(slot: number): void {
    const b = this.block[slot]!;
    if (b > 0) this.small.give(b - 1);
    else if (b < 0) this.large.give(-1 - b);
    this.block[slot] = 0;
    this.held[slot] = 0;
  }

  private end(slot: number, now: number): number {
    this.release(slot);
    this.phase[slot] = STREAM_ENDED;
    this.since[slot] = now;
    return STREAM_CLOSE;
  }
}
