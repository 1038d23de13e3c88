// One deadline per connection slot, in a timing wheel (Varghese and Lauck): buckets of
// TICK_MS each, a slot in at most one bucket, linked through typed arrays. Arming,
// re-arming and cancelling are O(1); expiry visits only the buckets whose time has come.
// A deadline further away than one turn of the wheel waits in its bucket and is passed
// over until its turn. Time is passed in (ms, the loop's monotonic clock).
//
// Each slot's deadline is the earliest thing due on it (retransmission, SYN-ACK resend,
// persist probe, the session's head/message/idle deadline, FIN-WAIT-2): when it fires the
// TCP looks at what is due, does it, and arms the next.

export const TICK_MS = 10;
const BUCKETS = 1024; // 10.24 s a turn

export class TimerWheel {
  readonly AT: Float64Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly bucketOf: Int32Array;
  private readonly heads = new Int32Array(BUCKETS).fill(-1);
  /** The tick last expired (entries due before it went out then). */
  private cursor: number;
  count = 0;

  constructor(capacity: number, now: number) {
    this.AT = new Float64Array(capacity);
    this.next = new Int32Array(capacity).fill(-1);
    this.prev = new Int32Array(capacity).fill(-1);
    this.bucketOf = new Int32Array(capacity).fill(-1);
    this.cursor = Math.floor(now / TICK_MS);
  }

  armed(slot: number): boolean {
    return this.bucketOf[slot]! >= 0;
  }

  /** Sets the slot's deadline to `at` (replacing any). */
  arm(slot: number, at: number): void {
    if (this.bucketOf[slot]! >= 0) this.unlink(slot);
    const tick = Math.max(Math.floor(at / TICK_MS), this.cursor);
    const b = tick & (BUCKETS - 1);
    this.AT[slot] = at;
    this.bucketOf[slot] = b;
    this.prev[slot] = -1;
    this.next[slot] = this.heads[b]!;
    if (this.heads[b]! >= 0) this.prev[this.heads[b]!] = slot;
    this.heads[b] = slot;
    this.count++;
  }

  /** Arms `at` only if it is earlier than the slot's deadline (or it has none). */
  armBy(slot: number, at: number): void {
    if (this.bucketOf[slot]! < 0 || at < this.AT[slot]!) this.arm(slot, at);
  }

  cancel(slot: number): void {
    if (this.bucketOf[slot]! >= 0) this.unlink(slot);
  }

  /** Takes out every slot due at `now` into out[0..n); returns n (at most out.length; the rest stay for the next call). */
  expire(now: number, out: Int32Array): number {
    const nowTick = Math.floor(now / TICK_MS);
    let n = 0;
    const last = Math.min(nowTick, this.cursor + BUCKETS - 1);
    for (let t = this.cursor; t <= last && n < out.length; t++) {
      let s = this.heads[t & (BUCKETS - 1)]!;
      while (s >= 0 && n < out.length) {
        const nx = this.next[s]!;
        if (this.AT[s]! <= now) {
          this.unlink(s);
          out[n++] = s;
        }
        s = nx;
      }
    }
    if (n < out.length) this.cursor = nowTick;
    return n;
  }

  /** The earliest deadline (ms), or Infinity; past the wheel's turn, a time when it is worth looking again. */
  nextDeadline(): number {
    if (this.count === 0) return Infinity;
    for (let k = 0; k < BUCKETS; k++) {
      const t = this.cursor + k;
      let best = Infinity;
      for (let s = this.heads[t & (BUCKETS - 1)]!; s >= 0; s = this.next[s]!) {
        const at = this.AT[s]!;
        if (Math.floor(at / TICK_MS) <= t && at < best) best = at;
      }
      if (best !== Infinity) return best;
    }
    return (this.cursor + BUCKETS) * TICK_MS;
  }

  private unlink(slot: number): void {
    const b = this.bucketOf[slot]!;
    const p = this.prev[slot]!, n = this.next[slot]!;
    if (p >= 0) this.next[p] = n;
    else this.heads[b] = n;
    if (n >= 0) this.prev[n] = p;
    this.bucketOf[slot] = -1;
    this.prev[slot] = this.next[slot] = -1;
    this.count--;
  }
}
