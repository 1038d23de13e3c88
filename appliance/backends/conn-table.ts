// Connection slots of a socket server, with the caps an open port needs: a total
// (--max-connections) and one per source (--max-connections-per-source; per IPv4 address,
// per IPv6 /64). At a cap the table makes room as Knot DNS and nginx do: it closes the
// connection that has waited longest since its last answered request (or since it opened)
// among those not in the middle of sending a response; a new connection is refused only
// when every candidate is busy. A flood of idle or slow connections therefore cannot lock
// new clients out, and a response being written is never cut.
//
// Slots are kept in a list ordered by the time of their last answered request (touch());
// the oldest is at the head. All state is typed arrays, but for the per-source counts.

export interface ConnLimits {
  maxConnections: number;
  maxPerSource: number;
}

export const CT_ACCEPTED = 0;
export const CT_REFUSED = 1; // at the total cap, every connection busy
export const CT_EVICTED = 2; // closed to make room under the total cap
export const CT_SOURCE_REFUSED = 3; // at the per-source cap, every connection of that source busy
export const CT_SOURCE_EVICTED = 4; // closed to make room under the per-source cap
export const CONN_TABLE_COUNTERS = 5;
export const CONN_TABLE_COUNTER_NAMES = ['accepted', 'refused_at_cap', 'evicted_at_cap', 'refused_per_source', 'evicted_per_source'];

/** How far down the list a search for an eviction candidate looks before giving up. */
const MAX_SCAN = 4096;
const NIL = -1;

export class ConnTable {
  readonly counters = new Float64Array(CONN_TABLE_COUNTERS);
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly used: Uint8Array;
  private readonly sources: string[];
  private readonly perSource = new Map<string, number>();
  private readonly freeList: Int32Array;
  private freeCount: number;
  private head = NIL;
  private tail = NIL;
  private count = 0;

  /**
   * `busy(slot)`: is the connection sending a response now (never evicted)?
   * `evict(slot)`: close it (the table has already let the slot go).
   */
  constructor(readonly limits: ConnLimits, private readonly busy: (slot: number) => boolean, private readonly evict: (slot: number) => void) {
    const n = limits.maxConnections;
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    this.used = new Uint8Array(n);
    this.sources = new Array<string>(n).fill('');
    this.freeList = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeList[i] = n - 1 - i;
    this.freeCount = n;
  }

  get size(): number {
    return this.count;
  }

  /** A slot for a new connection from `source`, making room if a cap is reached; -1: refuse it. */
  acquire(source: string): number {
    const c = this.counters;
    if ((this.perSource.get(source) ?? 0) >= this.limits.maxPerSource) {
      const v = this.victim(source);
      if (v === NIL) {
        c[CT_SOURCE_REFUSED]!++;
        return NIL;
      }
      c[CT_SOURCE_EVICTED]!++;
      this.release(v);
      this.evict(v);
    }
    if (this.freeCount === 0) {
      const v = this.victim(null);
      if (v === NIL) {
        c[CT_REFUSED]!++;
        return NIL;
      }
      c[CT_EVICTED]!++;
      this.release(v);
      this.evict(v);
    }
    const slot = this.freeList[--this.freeCount]!;
    this.used[slot] = 1;
    this.sources[slot] = source;
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    this.count++;
    this.append(slot);
    c[CT_ACCEPTED]!++;
    return slot;
  }

  /** A request was answered on `slot`: it goes to the back of the eviction order. */
  touch(slot: number): void {
    if (this.used[slot] !== 1 || this.tail === slot) return;
    this.unlink(slot);
    this.append(slot);
  }

  /** Lets the slot go (idempotent). */
  release(slot: number): void {
    if (this.used[slot] !== 1) return;
    this.used[slot] = 0;
    this.unlink(slot);
    const src = this.sources[slot]!;
    const n = (this.perSource.get(src) ?? 1) - 1;
    if (n === 0) this.perSource.delete(src);
    else this.perSource.set(src, n);
    this.sources[slot] = '';
    this.freeList[this.freeCount++] = slot;
    this.count--;
  }

  isUsed(slot: number): boolean {
    return this.used[slot] === 1;
  }

  /** Connections from `source` now. */
  fromSource(source: string): number {
    return this.perSource.get(source) ?? 0;
  }

  /** The longest-waiting connection (of `source`, if given) that is not busy, or NIL. */
  private victim(source: string | null): number {
    let s = this.head;
    for (let k = 0; s !== NIL && k < MAX_SCAN; k++, s = this.next[s]!) {
      if ((source === null || this.sources[s] === source) && !this.busy(s)) return s;
    }
    return NIL;
  }

  private append(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = NIL;
    if (this.tail !== NIL) this.next[this.tail] = slot;
    else this.head = slot;
    this.tail = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!, n = this.next[slot]!;
    if (p !== NIL) this.next[p] = n;
    else this.head = n;
    if (n !== NIL) this.prev[n] = p;
    else this.tail = p;
    this.prev[slot] = this.next[slot] = NIL;
  }
}

/** The per-source key of an address: the IPv4 address itself, an IPv6 address's /64. */
export function sourceKey(address: string | undefined): string {
  if (address === undefined) return '?';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!address.includes(':')) return address;
  return ipv6Prefix64(address);
}

/** The first four groups of an IPv6 address, expanded ("2001:db8::1" → "2001:db8:0:0"). */
function ipv6Prefix64(a: string): string {
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  const dbl = a.indexOf('::');
  let groups: string[];
  if (dbl >= 0) {
    const left = a.slice(0, dbl) === '' ? [] : a.slice(0, dbl).split(':');
    const right = a.slice(dbl + 2) === '' ? [] : a.slice(dbl + 2).split(':');
    groups = [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  } else {
    groups = a.split(':');
  }
  return groups.slice(0, 4).map((g) => (g === '' ? '0' : g.toLowerCase().replace(/^0+(?=.)/, ''))).join(':');
}
