// The state of a worker's TCP and the helpers its parts share (input.ts, output.ts, tcp.ts):
// the tables, the output records, the timers, the ready list, the listening ports.

import { TupleKeys } from './tuple-keys.js';
import type { TcpView } from '../../wire/tcp.js';
import { OutQueue, type ResponseTables } from './out-queue.js';
import { IsnSource } from './syn-cookie.js';
import { CLOSED, F_ACK_NOW, F_READY, SYN_RECEIVED, TcpTable } from './table.js';
import { TimeWaitTable, TIME_WAIT_MS } from './time-wait.js';
import { TimerWheel } from './timers.js';
import type { SegmentHost } from './segment.js';
import * as T from './counters.js';
import { BlockPool } from '../../../basics/block-pool.js';
import { copyBytes } from '../../../basics/bytes.js';

/** TcpApp.data(): close the connection after what is queued (FIN). */
export const APP_CLOSE = -1;

/**
 * The session of a listening port (DNS over TCP, HTTP), per connection slot. It gets the
 * bytes that arrived in order and answers through the output records TCP gives it.
 */
export interface TcpApp {
  open(slot: number, now: number, v6: boolean): void;
  /** Bytes mem[off, off+len) arrived in order: how many it consumed (fewer: it backed up), or APP_CLOSE. */
  data(slot: number, mem: Uint8Array, off: number, len: number, now: number): number;
  /** When the session wants the connection closed if nothing happens (head, message or idle deadline). */
  deadline(slot: number): number;
  /** Is a request or message part-way in (so that a deadline is a message timeout, not idle)? */
  inRequest(slot: number): boolean;
  free(slot: number): void;
}

export interface TcpConfig {
  /** Connections at most (this worker). */
  capacity: number;
  /** Half-open connections above which SYNs are answered with cookies. Default capacity / 4. */
  halfOpenLimit?: number;
  /** TIME-WAIT rows. Default 4 × capacity. */
  timeWaitRows?: number;
  timeWaitMs?: number;
  /** Eight 32-bit words from the supervisor: keys for the tables, ISNs and cookies. */
  secret: Uint32Array;
  /** The interface's MTU: our MSS is MTU − 40 (IPv4) or MTU − 60 (IPv6). */
  mtu: number;
  /** A peer that keeps its window shut and takes none of our data for this long: reset (default 60 s). */
  sendTimeoutMs?: number;
  /** FIN-WAIT-2 with no FIN from the peer for this long: freed (Linux tcp_fin_timeout, 60 s). */
  finWait2Ms?: number;
  /**
   * Retransmissions of data or FIN before a reset (default 12: from the 200 ms floor, about
   * 280 s, past RFC 1122 §4.2.3.5's "at least 100 seconds" for R2; Linux's tcp_retries2 is 15).
   */
  maxRetries?: number;
  /** SYN-ACK retransmissions before a half-open slot is freed (default 5, as Linux). */
  synAckRetries?: number;
  /** Arena blocks for answers (see out-queue.ts). */
  smallBlocks?: number;
  largeBlocks?: number;
  /** Blocks of RCV_WINDOW bytes for data a backed-up session could not take yet (default 64). */
  holdBlocks?: number;
  /** The image's HTTP tables, when the TCP serves HTTP (responses go out from their pre-cut pieces). */
  http?: ResponseTables;
  /** Test only: every ISS is this (just below 2^32, so that every test crosses the wrap). */
  testIss?: number;
}

/** The window we advertise while the session takes data (shift 0: requests are small). */
export const RCV_WINDOW = 65535;
/** Challenge ACKs per second at most (RFC 5961 §7). */
const CHALLENGE_ACKS_PER_SECOND = 1000;

/** The fields of the segment being processed, read once (a flyweight, no object per segment). */
export class SegmentIn {
  v4 = true;
  local = 0;
  /** IPv4 remote address; for IPv6 the address is mem[raddrAt, +16). */
  raddr = 0;
  raddrAt = 0;
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  payloadAt = 0;
  payloadLen = 0;
  /** Where the frame starts, its IP and TCP headers, and the source MAC. */
  frameAt = 0;
  ipAt = 0;
  tcpAt = 0;
  vlan = -1;
  view: TcpView | null = null;
}

export class TcpCore {
  readonly table: TcpTable;
  readonly outq: OutQueue;
  /**
   * Bytes the peer sent within our window that its session could not take yet (its answers
   * wait for the peer to read): held here, not dropped, so that the peer has nothing to send
   * again (a retransmission timeout would also move the flow to another queue on a veth).
   * A block per backed-up connection, from a bounded pool; without one, the window closes.
   */
  readonly holdPool: BlockPool;
  readonly HOLD_BLOCK: Int32Array;
  readonly HOLD_LEN: Uint32Array;
  readonly wheel: TimerWheel;
  readonly tw: TimeWaitTable;
  readonly isn: IsnSource;
  readonly seg = new SegmentIn();
  readonly halfOpenLimit: number;
  /**
   * Set by the loop while the worker is backlogged (full batches keep waiting in its
   * receive ring): new SYNs are then not answered (counted), so that the connections it
   * has get their answers rather than the ring dropping frames of every connection alike.
   * The clients try again (RFC 9293 §3.8.1: SYN retransmission), as they do when a kernel's
   * listen queue overflows.
   */
  shedSyns = false;
  readonly sendTimeoutMs: number;
  readonly finWait2Ms: number;
  readonly maxRetries: number;
  readonly synAckRetries: number;
  readonly mss4: number;
  readonly mss6: number;
  protected readonly ports: number[] = [];
  protected readonly apps: TcpApp[] = [];
  /** The app of each slot's port (index into apps). */
  readonly appOf: Uint8Array;
  protected readonly ready: Int32Array;
  protected readyHead = 0;
  protected readyCount = 0;
  private challengeWindow = 0;
  private challengeCount = 0;

  constructor(readonly cfg: TcpConfig, readonly host: SegmentHost, readonly counters: Float64Array, now: number) {
    const n = cfg.capacity;
    const k = cfg.secret;
    this.table = new TcpTable(n, k.subarray(0, 2));
    this.tw = new TimeWaitTable(cfg.timeWaitRows ?? 4 * n, k[2]!, k[3]!, cfg.timeWaitMs ?? TIME_WAIT_MS);
    this.isn = new IsnSource(k.subarray(4, 8));
    this.isn.fixed = cfg.testIss;
    this.outq = new OutQueue({ capacity: n, smallBlocks: cfg.smallBlocks, largeBlocks: cfg.largeBlocks, http: cfg.http });
    this.holdPool = new BlockPool(RCV_WINDOW, cfg.holdBlocks ?? 64);
    this.HOLD_BLOCK = new Int32Array(n).fill(-1);
    this.HOLD_LEN = new Uint32Array(n);
    this.wheel = new TimerWheel(n, now);
    this.halfOpenLimit = cfg.halfOpenLimit ?? Math.max(16, n >> 2);
    this.sendTimeoutMs = cfg.sendTimeoutMs ?? 60_000;
    this.finWait2Ms = cfg.finWait2Ms ?? 60_000;
    this.maxRetries = cfg.maxRetries ?? 12;
    this.synAckRetries = cfg.synAckRetries ?? 5;
    this.mss4 = cfg.mtu - 40;
    this.mss6 = cfg.mtu - 60;
    this.appOf = new Uint8Array(n);
    this.ready = new Int32Array(2 * n + 64);
  }

  /** Serves `port` with `app` (DNS over TCP, HTTP). */
  listen(port: number, app: TcpApp): void {
    this.ports.push(port);
    this.apps.push(app);
  }

  /** The index of the app serving `port`, or -1 (no listener). */
  appIndex(port: number): number {
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) if (ports[i] === port) return i;
    return -1;
  }

  app(i: number): TcpApp {
    return this.apps[i]!;
  }

  // ── the ready list ──────────────────────────────────────────────────────────────────

  /** Something is to be sent on `s` this batch. */
  markReady(s: number): void {
    const f = this.table.FLAGS[s]!;
    if (f & F_READY) return;
    if (this.readyCount === this.ready.length) return; // the timer will come back to it
    this.table.FLAGS[s] = f | F_READY;
    this.ready[(this.readyHead + this.readyCount) % this.ready.length] = s;
    this.readyCount++;
  }

  // ── helpers input.ts and output.ts share ───────────────────────────────────────────

  /** RFC 5961 §7: at most CHALLENGE_ACKS_PER_SECOND challenge ACKs a second. */
  challengeAck(s: number, now: number): void {
    if (now - this.challengeWindow >= 1000) {
      this.challengeWindow = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= CHALLENGE_ACKS_PER_SECOND) {
      this.counters[T.T_CHALLENGE_ACKS_LIMITED]!++;
      return;
    }
    this.challengeCount++;
    this.counters[T.T_CHALLENGE_ACKS]!++;
    this.ackNow(s);
  }

  ackNow(s: number): void {
    this.table.FLAGS[s] = this.table.FLAGS[s]! | F_ACK_NOW;
    this.markReady(s);
  }

  /** Frees a slot and everything it holds. */
  release(s: number): void {
    const t = this.table;
    if (t.STATE[s] === CLOSED) return;
    this.dropHold(s);
    if (t.STATE[s] !== SYN_RECEIVED) this.apps[this.appOf[s]!]!.free(s);
    this.outq.close(s);
    this.wheel.cancel(s);
    t.release(s);
  }

  /** Holds mem[at, at+len) behind what the slot holds already; false when no block or no room. */
  hold(s: number, mem: Uint8Array, at: number, len: number): boolean {
    let b = this.HOLD_BLOCK[s]!;
    if (b < 0) {
      b = this.holdPool.take();
      if (b < 0) return false;
      this.HOLD_BLOCK[s] = b;
      this.HOLD_LEN[s] = 0;
    }
    const have = this.HOLD_LEN[s]!;
    if (have + len > RCV_WINDOW) return false;
    copyBytes(this.holdPool.block(b), have, mem, at, len);
    this.HOLD_LEN[s] = have + len;
    this.table.RCV_WND[s] = RCV_WINDOW - this.HOLD_LEN[s]!;
    return true;
  }

  /**
   * Offers the held bytes to the session again (its answers drained); returns the bytes it
   * took, or APP_CLOSE. What it leaves stays held, at the front of the block.
   */
  feedHeld(s: number, now: number): number {
    const b = this.HOLD_BLOCK[s]!;
    const have = this.HOLD_LEN[s]!;
    if (b < 0 || have === 0) return 0;
    const mem = this.holdPool.block(b);
    const took = this.apps[this.appOf[s]!]!.data(s, mem, 0, have, now);
    if (took === APP_CLOSE || took >= have) {
      this.dropHold(s);
    } else if (took > 0) {
      mem.copyWithin(0, took, have);
      this.HOLD_LEN[s] = have - took;
    }
    this.table.RCV_WND[s] = RCV_WINDOW - this.HOLD_LEN[s]!;
    return took;
  }

  dropHold(s: number): void {
    const b = this.HOLD_BLOCK[s]!;
    if (b >= 0) this.holdPool.give(b);
    this.HOLD_BLOCK[s] = -1;
    this.HOLD_LEN[s] = 0;
  }

  /** The ISN words of the segment being processed (RFC 6528's 4-tuple). */
  tupleWord(i: number, mem: Uint8Array): number {
    const g = this.seg;
    if (g.v4) {
      if (i === 0) return g.raddr;
      if (i === 1) return (g.sport << 16) | g.dport;
      if (i === 2) return this.host.v4[g.local]!;
      return i === 3 ? 4 : 0;
    }
    if (i === 4) return (g.sport << 16) | g.dport;
    const a = g.raddrAt + i * 4, l = g.local * 16 + i * 4, v6 = this.host.v6;
    return (((mem[a]! << 24) | (mem[a + 1]! << 16) | (mem[a + 2]! << 8) | mem[a + 3]!) ^
      ((v6[l]! << 24) | (v6[l + 1]! << 16) | (v6[l + 2]! << 8) | v6[l + 3]!)) >>> 0;
  }

  /** The keys of the segment being processed, as a TupleKeys row, for TIME-WAIT lookups. */
  findTimeWait(mem: Uint8Array): number {
    const g = this.seg;
    return g.v4 ? this.tw.find4(g.raddr, g.sport, g.dport, g.local) : this.tw.find6(mem, g.raddrAt, g.sport, g.dport, g.local);
  }

  /**
   * A reloaded image's HTTP tables for the responses queued from now on (OutQueue.setHttp);
   * false when every generation is held. The config then names the image served, so that
   * nothing here keeps the first one once no response refers to it.
   */
  setHttp(http: ResponseTables): boolean {
    if (!this.outq.setHttp(http)) return false;
    this.cfg.http = http;
    return true;
  }

  /** For tests: problems with the tables' invariants. */
  checkInvariants(): string[] {
    const out = this.table.checkInvariants();
    const keys: TupleKeys = this.tw.keys;
    if (keys.size !== this.tw.live) out.push(`TIME-WAIT index holds ${keys.size} rows, ${this.tw.live} live`);
    let armed = 0;
    for (let s = 0; s < this.table.capacity; s++) {
      if (this.wheel.armed(s)) {
        armed++;
        if (this.table.STATE[s] === CLOSED) out.push(`slot ${s} is CLOSED and has a timer`);
      }
      if (this.table.STATE[s] === CLOSED && this.outq.records(s) > 0) out.push(`slot ${s} is CLOSED and holds records`);
    }
    if (armed !== this.wheel.count) out.push(`wheel counts ${this.wheel.count}, ${armed} armed`);
    return out;
  }
}
