// HTTP/1.1 over a byte stream, per connection slot: framing, limits and deadlines, shared by
// the socket backend and the fused TCP (one copy of the rules for both).
//
// RFC 9112 §2.2 (message parsing: leading empty lines, bare LF), §6.3 (body length), §7.1
// (chunked), §9.3 (persistence); RFC 9110 §9.3.1 (a GET with a body). The session knows
// bytes that arrived in order and the responses to send; it never sees a socket, a segment,
// a sequence number or a window. A transport calls:
//
//   open(slot, now)                         a connection was accepted into `slot`
//   data(slot, buf, off, len, now, sink)    bytes arrived; returns how many were consumed
//                                           (less than len: the sink is full, offer the rest
//                                           again once it drains) or SESSION_CLOSE
//   deadline(slot)                          when the connection must be closed if nothing
//                                           happens (head, body or idle deadline)
//   free(slot)                              the connection is gone
//
// A head is parsed only when it is whole (llhttp-wasm garbles heads given in pieces): a
// head that arrives in pieces is kept in a block from a bounded pool until its empty line
// comes. The head deadline (--header-timeout) is armed at the first byte of a request and
// not re-armed by later bytes, so a client sending a byte at a time cannot hold a
// connection open (slowloris). A body (Content-Length or chunked) is read and discarded,
// as nginx does, and the next pipelined request starts after it. Per-connection state is
// typed-array columns indexed by slot: no object per connection or per request.

import { BlockPool } from '../../basics/block-pool.js';
import { ChunkedSkipper, CHUNKED_ERROR } from './chunked.js';
import { DateCache } from './date.js';
import * as L from '../../specializers/http/layout.js';
import { HttpResponder, PLAN_TEMPLATE, ResponsePlan } from './responder.js';
import { BODY_CHUNKED, headLength, HEAD_OK, HEAD_TOO_LARGE, MAX_HEAD_BYTES, normalizeLineEnds, RequestHead, RequestParser, type HeadInfo } from './request.js';
import type { HttpTables } from './tables.js';

/** data(): close the connection once what was sent has gone. */
export const SESSION_CLOSE = -1;

/** Where a connection is between requests; what deadline() means. */
export const PHASE_IDLE = 0; // between requests: the idle (keep-alive) deadline
export const PHASE_HEAD = 1; // part of a head is held: the head deadline
export const PHASE_BODY = 2; // discarding a Content-Length body: the body deadline
export const PHASE_CHUNKED = 3; // discarding a chunked body: the body deadline
export const PHASE_ENDED = 4; // a closing response was sent; input is ignored

/** What the transport does with a response. */
export interface HttpSink {
  /** Sends the response `plan` describes on `slot`; false when the connection can take no more now. */
  send(slot: number, plan: ResponsePlan): boolean;
}

/** Where answered requests are logged (the transport's: it knows the peers); off when absent. */
export interface AccessLogSink {
  /** The request whose head is head[off, off+len) on `slot` was answered with `status` and `bodyBytes` of body. */
  request(slot: number, head: Uint8Array, off: number, len: number, status: number, bodyBytes: number): void;
}

export interface HttpSessionOptions {
  /** Slots: the most connections the transport will hold at once. */
  capacity: number;
  /** A request head must be complete this long after its first byte. */
  headerTimeoutMs: number;
  /** An idle keep-alive connection is closed after this; a body must keep arriving within it too. */
  idleTimeoutMs: number;
  /** Blocks for heads that arrive in pieces (default: capacity). */
  headBlocks?: number;
  /** Added to `now` for the Date field: 0 when `now` is wall-clock ms; the fused stack's clock is monotonic. */
  wallOffsetMs?: number;
}

/** Counters, by index into `counters`. */
export const H_REQUESTS = 0;
export const H_BAD_REQUESTS = 1;
export const H_BODIES_DISCARDED = 2;
export const H_BAD_BODIES = 3;
export const H_BARE_LF_HEADS = 4;
export const H_HEADS_IN_PIECES = 5;
export const H_HEAD_BLOCKS_EXHAUSTED = 6;
export const HTTP_SESSION_COUNTERS = 7;
export const HTTP_SESSION_COUNTER_NAMES = [
  'requests', 'bad_requests', 'bodies_discarded', 'bad_bodies', 'bare_lf_heads', 'heads_in_pieces', 'head_blocks_exhausted',
];

/** A head in a block: the limit, and room for a few bytes of leading line ends. */
const BLOCK_SIZE = MAX_HEAD_BYTES + 16;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);
const CR = 0x0d;

export class HttpSessions {
  readonly responder: HttpResponder;
  /** The access log (--access-log), or null. */
  accessLog: AccessLogSink | null = null;
  readonly counters: Float64Array;
  private readonly date = new DateCache();
  private readonly parser = new RequestParser();
  private readonly req = new RequestHead();
  private readonly plan = new ResponsePlan();
  private readonly info: HeadInfo = { bareLf: false };
  private readonly blocks: BlockPool;
  /** Buffer views of the pool's blocks, by block index (the parser takes Buffers). */
  private readonly blockViews: Buffer[] = [];
  /** Bare-LF heads made CRLF, for the parser. */
  private readonly normalized = Buffer.allocUnsafe(2 * BLOCK_SIZE);
  private readonly skipper: ChunkedSkipper;
  // Columns, by slot.
  private readonly phase: Uint8Array;
  private readonly since: Float64Array;
  private readonly block: Int32Array;
  private readonly blockLen: Uint32Array;
  private readonly bodyLeft: Float64Array;
  /** The memory the last data() call read, and a Buffer view of it (made once per memory). */
  private lastMem: Uint8Array | null = null;
  private lastView: Buffer = Buffer.alloc(0);

  constructor(t: HttpTables, private readonly o: HttpSessionOptions, counters?: Float64Array) {
    this.responder = new HttpResponder(t);
    this.counters = counters ?? new Float64Array(HTTP_SESSION_COUNTERS);
    const n = o.capacity;
    this.phase = new Uint8Array(n);
    this.since = new Float64Array(n);
    this.block = new Int32Array(n).fill(-1);
    this.blockLen = new Uint32Array(n);
    this.bodyLeft = new Float64Array(n);
    this.skipper = new ChunkedSkipper(n);
    this.blocks = new BlockPool(BLOCK_SIZE, o.headBlocks ?? n);
  }

  open(slot: number, now: number): void {
    this.phase[slot] = PHASE_IDLE;
    this.since[slot] = now;
    this.block[slot] = -1;
    this.blockLen[slot] = 0;
    this.bodyLeft[slot] = 0;
  }

  free(slot: number): void {
    this.releaseBlock(slot);
    this.phase[slot] = PHASE_ENDED;
  }

  /** The time (ms) by which the connection must be closed if it makes no progress. */
  deadline(slot: number): number {
    const p = this.phase[slot]!;
    if (p === PHASE_HEAD) return this.since[slot]! + this.o.headerTimeoutMs;
    if (p === PHASE_ENDED) return this.since[slot]!;
    return this.since[slot]! + this.o.idleTimeoutMs;
  }

  phaseOf(slot: number): number {
    return this.phase[slot]!;
  }

  /** Is part of a request held (a head in pieces, or a body being read)? */
  inRequest(slot: number): boolean {
    const p = this.phase[slot]!;
    return p === PHASE_HEAD || p === PHASE_BODY || p === PHASE_CHUNKED;
  }

  /** Head blocks in use now (each holds a head that arrived in pieces). */
  get headBlocksInUse(): number {
    return this.blocks.inUse;
  }

  /**
   * Bytes buf[off, off+len) arrived on `slot`. Answers every complete request among them,
   * in order, through `sink`; keeps a partial head; discards bodies. Returns the bytes
   * consumed — fewer than `len` only when the sink said it was full (offer the rest again
   * later) — or SESSION_CLOSE when the connection is to be closed after what was sent.
   */
  data(slot: number, buf: Uint8Array, off: number, len: number, now: number, sink: HttpSink): number {
    if (this.phase[slot] === PHASE_ENDED) return len;
    if (this.date.update(now + (this.o.wallOffsetMs ?? 0)) || this.responder.date === '') this.responder.date = this.date.value;
    const end = off + len;
    let i = off;
    while (i < end) {
      const p = this.phase[slot]!;
      if (p === PHASE_BODY) {
        const n = Math.min(this.bodyLeft[slot]!, end - i);
        i += n;
        this.bodyLeft[slot] = this.bodyLeft[slot]! - n;
        this.since[slot] = now; // a body must keep coming: the deadline is re-armed by its bytes
        if (this.bodyLeft[slot] === 0) this.phase[slot] = PHASE_IDLE;
        continue;
      }
      if (p === PHASE_CHUNKED) {
        const n = this.skipper.skip(slot, buf, i, end);
        if (n === CHUNKED_ERROR) {
          this.counters[H_BAD_BODIES]!++;
          return this.end(slot, now);
        }
        i += n;
        this.since[slot] = now;
        if (this.skipper.done) this.phase[slot] = PHASE_IDLE;
        continue;
      }
      if (p === PHASE_HEAD) {
        // The rest of a head that began in an earlier read: append, look for its end again.
        const b = this.block[slot]!;
        const mem = this.blocks.block(b);
        const had = this.blockLen[slot]!;
        const took = Math.min(end - i, BLOCK_SIZE - had);
        mem.set(buf.subarray(i, i + took), had);
        const total = had + took;
        this.blockLen[slot] = total;
        const n = headLength(mem, 0, total, this.info);
        if (n === 0) {
          if (took === 0) return this.refuse(slot, HEAD_TOO_LARGE, now, sink); // (leading line ends filled the block)
          i += took;
          continue;
        }
        if (n < 0) return this.refuse(slot, -n, now, sink);
        i += took - (total - n);
        const go = this.request(slot, this.blockViews[b]!, 0, n, now, sink);
        this.releaseBlock(slot);
        if (go !== 1) return go === 0 ? i - off : SESSION_CLOSE;
        continue;
      }
      // PHASE_IDLE: a new request starts here. Empty lines before it are ignored (§2.2).
      while (i < end && (buf[i] === LF || (buf[i] === CR && i + 1 < end && buf[i + 1] === LF))) i += buf[i] === LF ? 1 : 2;
      if (i === end) break;
      const n = headLength(buf, i, end, this.info);
      if (n < 0) return this.refuse(slot, -n, now, sink);
      if (n === 0) {
        // The head is not all here: keep what came, and start its deadline.
        const b = this.blocks.take();
        if (b < 0) {
          this.counters[H_HEAD_BLOCKS_EXHAUSTED]!++;
          return this.end(slot, now);
        }
        if (this.blockViews[b] === undefined) {
          const m = this.blocks.block(b);
          this.blockViews[b] = Buffer.from(m.buffer, m.byteOffset, m.byteLength);
        }
        this.counters[H_HEADS_IN_PIECES]!++;
        this.blocks.block(b).set(buf.subarray(i, end), 0);
        this.block[slot] = b;
        this.blockLen[slot] = end - i;
        this.phase[slot] = PHASE_HEAD;
        this.since[slot] = now;
        i = end;
        break;
      }
      const go = this.request(slot, this.viewOf(buf), i, n, now, sink);
      i += n;
      if (go !== 1) return go === 0 ? i - off : SESSION_CLOSE;
    }
    return i - off;
  }

  /**
   * Answers the whole head at head[off, off+len). Returns 1 to go on, 0 when the sink is
   * full (stop reading), -1 when the connection closes.
   */
  private request(slot: number, head: Buffer, off: number, len: number, now: number, sink: HttpSink): number {
    const c = this.counters;
    c[H_REQUESTS]!++;
    let buf = head;
    let at = off;
    let n = len;
    if (this.info.bareLf) {
      c[H_BARE_LF_HEADS]!++;
      n = normalizeLineEnds(head, off, len, this.normalized);
      buf = this.normalized;
      at = 0;
      this.info.bareLf = false;
    }
    const req = this.req;
    const plan = this.plan;
    const status = this.parser.parse(buf, at, n, req);
    if (status !== HEAD_OK) {
      c[H_BAD_REQUESTS]!++;
      this.responder.planError(status, plan);
    } else {
      this.responder.respond(req, plan);
    }
    const ok = sink.send(slot, plan);
    if (this.accessLog !== null) this.logRequest(slot, buf, at, n, plan);
    if (plan.close) {
      this.end(slot, now);
      return -1;
    }
    this.since[slot] = now;
    if (req.bodyLength === BODY_CHUNKED) {
      c[H_BODIES_DISCARDED]!++;
      this.skipper.start(slot);
      this.phase[slot] = PHASE_CHUNKED;
    } else if (req.bodyLength > 0) {
      c[H_BODIES_DISCARDED]!++;
      this.bodyLeft[slot] = req.bodyLength;
      this.phase[slot] = PHASE_BODY;
    } else {
      this.phase[slot] = PHASE_IDLE;
    }
    return ok ? 1 : 0;
  }

  /** A head over a limit (414, 431) or malformed before parsing (400): answered, then closed. */
  private refuse(slot: number, status: number, now: number, sink: HttpSink): number {
    this.counters[H_REQUESTS]!++;
    this.counters[H_BAD_REQUESTS]!++;
    this.responder.planError(status, this.plan);
    sink.send(slot, this.plan);
    if (this.accessLog !== null) this.logRequest(slot, EMPTY, 0, 0, this.plan);
    return this.end(slot, now);
  }

  /** The plan's status and body bytes, to the access log. */
  private logRequest(slot: number, head: Uint8Array, off: number, len: number, plan: ResponsePlan): void {
    let status: number, body: number;
    if (plan.kind === PLAN_TEMPLATE) {
      const r = this.responder.t.responses;
      const a = plan.resp * L.RESPONSE_WORDS;
      status = r[a + L.RESP_STATUS]!;
      body = r[a + L.RESP_BODY_LEN]!;
    } else {
      status = plan.status;
      body = plan.bodyLen;
    }
    this.accessLog!.request(slot, head, off, len, status, body);
  }

  private end(slot: number, now: number): number {
    this.releaseBlock(slot);
    this.phase[slot] = PHASE_ENDED;
    this.since[slot] = now;
    return SESSION_CLOSE;
  }

  private releaseBlock(slot: number): void {
    const b = this.block[slot]!;
    if (b >= 0) {
      this.blocks.give(b);
      this.block[slot] = -1;
      this.blockLen[slot] = 0;
    }
  }

  private viewOf(buf: Uint8Array): Buffer {
    if (Buffer.isBuffer(buf)) return buf;
    if (buf !== this.lastMem) {
      this.lastMem = buf;
      this.lastView = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.lastView;
  }

  destroy(): void {
    this.parser.destroy();
  }
}
