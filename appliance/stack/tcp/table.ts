// The connection table of one worker: one typed array per field, indexed by slot, named
// after RFC 9293 §3.3.1 (SND.UNA → SND_UNA, …); a free list of slots; the 4-tuple keys
// with their hash index (tuple-keys.ts); and a list of slots in the order of their last
// answered request, for eviction when the table is full. Allocated once at start-up;
// nothing on the data path grows it.
//
//   slot ──► STATE, keys (FAMILY, LOCAL, R_ADDR4 | R_ADDR6, R_PORT, L_PORT), R_MAC[6], VLAN, ISS, IRS, SND_UNA, SND_NXT, SND_MAX, SND_WND, SND_WL1, SND_WL2,
//            MAX_SND_WND, SND_SHIFT, RCV_NXT, RCV_WND, MSS, CWND, SSTHRESH, DUPACKS, RECOVER,
//            SRTT, RTTVAR, RTO, RTT_SEQ, RTT_AT, RETRIES, RTO_AT, PROGRESS_AT, FLAGS

import { TupleKeys } from './tuple-keys.js';

/** Connection states (RFC 9293 §3.3.2), one bit each so that set tests are one AND. LISTEN
 *  belongs to a port, not a slot; SYN-SENT never occurs (passive opener); TIME-WAIT rows
 *  live in their own table (time-wait.ts). */
export const CLOSED = 0;
export const SYN_RECEIVED = 1;
export const ESTABLISHED = 2;
export const FIN_WAIT_1 = 4;
export const FIN_WAIT_2 = 8;
export const CLOSE_WAIT = 16;
export const CLOSING = 32;
export const LAST_ACK = 64;

export const STATE_NAMES: Record<number, string> = {
  0: 'CLOSED', 1: 'SYN-RECEIVED', 2: 'ESTABLISHED', 4: 'FIN-WAIT-1', 8: 'FIN-WAIT-2', 16: 'CLOSE-WAIT', 32: 'CLOSING', 64: 'LAST-ACK',
};

/**
 * States in which data from the peer is taken (RFC 9293 §3.10.7 Other States, seventh check).
 */
export const RECEIVING = ESTABLISHED | FIN_WAIT_1 | FIN_WAIT_2;
/** States in which we may still send data. */
export const SENDING = ESTABLISHED | CLOSE_WAIT;
/** States after our FIN went out. */
export const FIN_OUT = FIN_WAIT_1 | FIN_WAIT_2 | CLOSING | LAST_ACK;

// FLAGS bits.
export const F_SHIFT_OK = 1; // both SYNs carried window scale: SND_SHIFT applies
export const F_SACK_OK = 2; // the peer sent SACK-permitted (blocks are not processed)
export const F_FIN_QUEUED = 4; // send FIN after the last byte queued
export const F_ACK_NOW = 8; // an ACK is owed this batch
export const F_READY = 16; // in the ready list
export const F_RETX_ONE = 32; // retransmit one segment at SND_UNA (fast retransmit, partial ACK)
export const F_RECOVERY = 64; // in NewReno fast recovery
export const F_RTT_TIMING = 128; // RTT_SEQ is being timed
export const F_RETRANSMITTED = 256; // a retransmission happened since the timed segment went (Karn)
export const F_COOKIE = 512; // opened from a SYN cookie (no window scale, no SACK)
export const F_WINDOW_CLOSED = 1024; // we advertised a zero window (the application backed up)
export const F_RST_NOW = 2048; // reset and free at output time (a fault, a buffer we could not get)
export const F_SYNACK_NOW = 4096; // send the SYN-ACK again (its timer fired)
export const F_PROBE = 8192; // send one byte beyond a zero window (the persist timer fired)
export const F_FIN_AFTER_HOLD = 16384; // the peer's FIN came while bytes were held: close once they are answered

export class TcpTable {
  readonly capacity: number;
  readonly STATE: Uint8Array;
  readonly keys: TupleKeys;
  readonly FAMILY: Uint8Array;
  readonly LOCAL: Uint8Array;
  readonly R_ADDR4: Uint32Array;
  readonly R_ADDR6: Uint8Array;
  readonly R_PORT: Uint16Array;
  readonly L_PORT: Uint16Array;
  readonly R_MAC: Uint8Array; // 6 bytes a slot: where answers go (the symmetric-path rule)
  readonly VLAN: Int32Array; // the 802.1Q TCI the peer's frames carried, or -1
  readonly ISS: Uint32Array;
  readonly IRS: Uint32Array;
  readonly SND_UNA: Uint32Array;
  readonly SND_NXT: Uint32Array;
  /** The highest sequence number sent (SND.NXT before a go-back-N rewind). */
  readonly SND_MAX: Uint32Array;
  readonly SND_WND: Float64Array; // scaled
  readonly SND_WL1: Uint32Array;
  readonly SND_WL2: Uint32Array;
  readonly MAX_SND_WND: Float64Array;
  readonly SND_SHIFT: Uint8Array; // the peer's window shift
  readonly RCV_NXT: Uint32Array;
  readonly RCV_WND: Uint32Array; // the window we last advertised
  readonly MSS: Uint16Array; // what we send per segment (the peer's MSS, capped by our MTU)
  readonly CWND: Float64Array;
  readonly SSTHRESH: Float64Array;
  readonly DUPACKS: Uint8Array;
  readonly RECOVER: Uint32Array;
  readonly SRTT: Float64Array; // ms; 0 before the first sample
  readonly RTTVAR: Float64Array;
  readonly RTO: Float64Array; // ms
  readonly RTT_SEQ: Uint32Array;
  readonly RTT_AT: Float64Array;
  readonly RETRIES: Uint8Array;
  /** When the retransmission (or SYN-ACK, or persist) timer fires; 0: not armed. */
  readonly RTO_AT: Float64Array;
  /** When the peer last took data (SND.UNA moved) or the connection opened: for the send deadline. */
  readonly PROGRESS_AT: Float64Array;
  readonly FLAGS: Uint16Array;

  private readonly freeList: Int32Array;
  private freeCount: number;
  // Eviction order: least recently answered first.
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private lruHead = -1;
  private lruTail = -1;
  /** Slots in use, and of those in SYN-RECEIVED. */
  used = 0;
  halfOpen = 0;

  constructor(capacity: number, secret: Uint32Array) {
    this.capacity = capacity;
    const n = capacity;
    this.STATE = new Uint8Array(n);
    this.keys = new TupleKeys(n, secret[0]!, secret[1]!);
    this.FAMILY = this.keys.FAMILY;
    this.LOCAL = this.keys.LOCAL;
    this.R_ADDR4 = this.keys.R_ADDR4;
    this.R_ADDR6 = this.keys.R_ADDR6;
    this.R_PORT = this.keys.R_PORT;
    this.L_PORT = this.keys.L_PORT;
    this.R_MAC = new Uint8Array(n * 6);
    this.VLAN = new Int32Array(n);
    this.ISS = new Uint32Array(n);
    this.IRS = new Uint32Array(n);
    this.SND_UNA = new Uint32Array(n);
    this.SND_NXT = new Uint32Array(n);
    this.SND_MAX = new Uint32Array(n);
    this.SND_WND = new Float64Array(n);
    this.SND_WL1 = new Uint32Array(n);
    this.SND_WL2 = new Uint32Array(n);
    this.MAX_SND_WND = new Float64Array(n);
    this.SND_SHIFT = new Uint8Array(n);
    this.RCV_NXT = new Uint32Array(n);
    this.RCV_WND = new Uint32Array(n);
    this.MSS = new Uint16Array(n);
    this.CWND = new Float64Array(n);
    this.SSTHRESH = new Float64Array(n);
    this.DUPACKS = new Uint8Array(n);
    this.RECOVER = new Uint32Array(n);
    this.SRTT = new Float64Array(n);
    this.RTTVAR = new Float64Array(n);
    this.RTO = new Float64Array(n);
    this.RTT_SEQ = new Uint32Array(n);
    this.RTT_AT = new Float64Array(n);
    this.RETRIES = new Uint8Array(n);
    this.RTO_AT = new Float64Array(n);
    this.PROGRESS_AT = new Float64Array(n);
    this.FLAGS = new Uint16Array(n);
    this.freeList = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeList[i] = n - 1 - i;
    this.freeCount = n;
    this.lruPrev = new Int32Array(n).fill(-1);
    this.lruNext = new Int32Array(n).fill(-1);
  }

  get free(): number {
    return this.freeCount;
  }

  find4(raddr: number, rport: number, lport: number, local: number): number {
    return this.keys.find4(raddr, rport, lport, local);
  }

  find6(mem: Uint8Array, at: number, rport: number, lport: number, local: number): number {
    return this.keys.find6(mem, at, rport, lport, local);
  }

  // ── slots ───────────────────────────────────────────────────────────────────────────

  /**
   * A free slot keyed as given (the caller fills the rest of the columns), or -1 when the
   * table is full. IPv4: `raddr` is the address; IPv6: the address is mem[at, at+16).
   */
  alloc(family: number, raddr: number, mem: Uint8Array, at: number, rport: number, lport: number, local: number): number {
    if (this.freeCount === 0) return -1;
    const s = this.freeList[--this.freeCount]!;
    this.keys.insert(s, family, raddr, mem, at, rport, lport, local);
    this.FLAGS[s] = 0;
    this.RTO_AT[s] = 0;
    this.RETRIES[s] = 0;
    this.DUPACKS[s] = 0;
    this.used++;
    this.lruAppend(s);
    return s;
  }

  /** Frees a slot: out of the index, the eviction list and the state. */
  release(s: number): void {
    if (this.STATE[s] === SYN_RECEIVED) this.halfOpen--;
    this.STATE[s] = CLOSED;
    this.keys.remove(s);
    this.lruUnlink(s);
    this.freeList[this.freeCount++] = s;
    this.used--;
  }

  setState(s: number, state: number): void {
    const was = this.STATE[s]!;
    if (was === SYN_RECEIVED) this.halfOpen--;
    if (state === SYN_RECEIVED) this.halfOpen++;
    this.STATE[s] = state;
  }

  // ── eviction order ──────────────────────────────────────────────────────────────────

  /** A request was answered on `s`: to the back of the eviction order. */
  touch(s: number): void {
    if (this.lruTail === s) return;
    this.lruUnlink(s);
    this.lruAppend(s);
  }

  /**
   * The slot to evict when the table is full: the one waiting longest since its last
   * answer among the synchronized ones `may(slot)` lets go; -1 if none within `scan`.
   */
  victim(may: (slot: number) => boolean, scan = 4096): number {
    let s = this.lruHead;
    for (let k = 0; s >= 0 && k < scan; k++, s = this.lruNext[s]!) {
      if (this.STATE[s] !== SYN_RECEIVED && may(s)) return s;
    }
    return -1;
  }

  private lruAppend(s: number): void {
    this.lruPrev[s] = this.lruTail;
    this.lruNext[s] = -1;
    if (this.lruTail >= 0) this.lruNext[this.lruTail] = s;
    else this.lruHead = s;
    this.lruTail = s;
  }

  private lruUnlink(s: number): void {
    const p = this.lruPrev[s]!, n = this.lruNext[s]!;
    if (p >= 0) this.lruNext[p] = n;
    else if (this.lruHead === s) this.lruHead = n;
    if (n >= 0) this.lruPrev[n] = p;
    else if (this.lruTail === s) this.lruTail = p;
    this.lruPrev[s] = this.lruNext[s] = -1;
  }

  // ── for tests ───────────────────────────────────────────────────────────────────────

  /** Problems with the table's invariants (empty when all hold). */
  checkInvariants(): string[] {
    const out: string[] = [];
    let inUse = 0, half = 0;
    const seen = new Uint8Array(this.capacity);
    for (let i = 0; i < this.freeCount; i++) seen[this.freeList[i]!] = 1;
    for (let s = 0; s < this.capacity; s++) {
      if (this.STATE[s] === CLOSED) {
        if (!seen[s]) out.push(`slot ${s} is CLOSED but not free`);
        continue;
      }
      if (seen[s]) out.push(`slot ${s} is in use and free`);
      inUse++;
      if (this.STATE[s] === SYN_RECEIVED) half++;
      const found = this.keys.findRow(s);
      if (found !== s) out.push(`slot ${s} is not found by its key (found ${found})`);
    }
    if (inUse !== this.used) out.push(`used ${this.used}, slots in use ${inUse}`);
    if (inUse + this.freeCount !== this.capacity) out.push(`in use ${inUse} + free ${this.freeCount} ≠ capacity ${this.capacity}`);
    if (half !== this.halfOpen) out.push(`halfOpen ${this.halfOpen}, SYN-RECEIVED slots ${half}`);
    const cellsUsed = this.keys.cellsInUse();
    if (cellsUsed !== inUse) out.push(`hash holds ${cellsUsed} cells for ${inUse} slots`);
    let n = 0;
    for (let s = this.lruHead; s >= 0 && n <= this.capacity; s = this.lruNext[s]!) n++;
    if (n !== inUse) out.push(`eviction list holds ${n} of ${inUse} slots`);
    return out;
  }
}
