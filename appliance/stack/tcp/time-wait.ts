// TIME-WAIT (RFC 9293 §3.10.7 Other States, §3.6.1): what is left of a connection that closed first
// on our side, kept compact and apart from the connection table so that a server closing
// first (as it should: the client's ports stay free) does not fill its slots. A row holds
// the key, the two sequence numbers an ACK needs, the peer's MAC and tag, and its expiry.
//
// All rows wait the same time, so they expire in the order they came: a FIFO ring. When
// the ring is full, the oldest row is recycled early and counted (as Linux's
// tcp_max_tw_buckets); a restarted timer (the peer's FIN came again) moves a row to the back.

import { TupleKeys } from './tuple-keys.js';

/** Linux's TCP_TIMEWAIT_LEN (RFC 9293 asks 2 × MSL; 60 s is what deployed stacks use). */
export const TIME_WAIT_MS = 60_000;

export class TimeWaitTable {
  readonly keys: TupleKeys;
  readonly SND_NXT: Uint32Array;
  readonly RCV_NXT: Uint32Array;
  readonly R_MAC: Uint8Array;
  readonly VLAN: Int32Array;
  readonly EXPIRES: Float64Array;
  /** Rows in ring order: ring[(head + i) % rows] for i < count. */
  private readonly ring: Int32Array;
  private head = 0;
  /** Rows in the ring (some may be dead: taken out early, their place not yet given up). */
  count = 0;
  /** Rows in the index. */
  live = 0;
  /** Rows recycled before their time because the table was full. */
  recycled = 0;

  constructor(readonly rows: number, k0: number, k1: number, readonly waitMs = TIME_WAIT_MS) {
    this.keys = new TupleKeys(rows, k0, k1);
    this.SND_NXT = new Uint32Array(rows);
    this.RCV_NXT = new Uint32Array(rows);
    this.R_MAC = new Uint8Array(rows * 6);
    this.VLAN = new Int32Array(rows);
    this.EXPIRES = new Float64Array(rows);
    this.ring = new Int32Array(rows);
    // Free rows are the ring positions not in use; row r starts out at ring position r.
    for (let i = 0; i < rows; i++) this.ring[i] = i;
  }

  /**
   * A row for the connection whose key is row `from` of `src`, expiring at now + waitMs.
   * Returns the row (recycling the oldest when full).
   */
  add(src: TupleKeys, from: number, sndNxt: number, rcvNxt: number, mac: Uint8Array, macAt: number, vlan: number, now: number): number {
    if (this.count === this.rows) {
      if (this.keys.FAMILY[this.ring[this.head]!] !== 0) this.recycled++;
      this.popHead();
    }
    const r = this.ring[(this.head + this.count) % this.rows]!;
    this.count++;
    this.keys.insertFrom(r, src, from);
    this.SND_NXT[r] = sndNxt;
    this.RCV_NXT[r] = rcvNxt;
    for (let i = 0; i < 6; i++) this.R_MAC[r * 6 + i] = mac[macAt + i]!;
    this.VLAN[r] = vlan;
    this.EXPIRES[r] = now + this.waitMs;
    this.live++;
    return r;
  }

  find4(raddr: number, rport: number, lport: number, local: number): number {
    return this.live === 0 ? -1 : this.keys.find4(raddr, rport, lport, local);
  }

  find6(mem: Uint8Array, at: number, rport: number, lport: number, local: number): number {
    return this.live === 0 ? -1 : this.keys.find6(mem, at, rport, lport, local);
  }

  /**
   * The peer's FIN came again: the 2 MSL start over. The row keeps its place in the ring,
   * so it may hold back the expiry of rows behind it until its own (they only wait longer).
   */
  restart(r: number, now: number): void {
    this.EXPIRES[r] = now + this.waitMs;
  }

  /** Takes a row out now (a reset, or a new SYN reuses the 4-tuple): out of the index; its ring place is given up when it reaches the head. */
  remove(r: number): void {
    if (this.keys.FAMILY[r] === 0) return;
    this.keys.remove(r);
    this.live--;
  }

  /** Removes the rows whose time is up; returns how many. */
  expire(now: number): number {
    let n = 0;
    while (this.count > 0) {
      const r = this.ring[this.head]!;
      if (this.keys.FAMILY[r] !== 0) {
        if (this.EXPIRES[r]! > now) break;
        n++;
      }
      this.popHead();
    }
    return n;
  }

  /** The earliest expiry of a row at the head (dead rows are dropped on the way), or Infinity. */
  nextDeadline(): number {
    while (this.count > 0 && this.keys.FAMILY[this.ring[this.head]!] === 0) this.popHead();
    return this.count === 0 ? Infinity : this.EXPIRES[this.ring[this.head]!]!;
  }

  /** The head row leaves the ring (its number stays at the old head place, now the last free one). */
  private popHead(): void {
    const r = this.ring[this.head]!;
    if (this.keys.FAMILY[r] !== 0) {
      this.keys.remove(r);
      this.live--;
    }
    this.head = (this.head + 1) % this.rows;
    this.count--;
  }
}
