// A fault-injecting device: wraps any Device (the pipe, AF_XDP, a capture) and drops,
// duplicates, reorders and delays frames at seeded rates, in either direction — what the
// wrapped device receives before the application sees it (rx), and what the application
// transmits before it reaches the wrapped device (tx). For the loss tests of the TCP
// (docs/TCP-DESIGN.md "Tests": every transfer byte-exact at several loss rates) and for a hidden
// `serve --fault SPEC` on a real interface.
//
//            rx                                            tx
//   inner.receive() ─► decide ─┬─ drop: inner.release()    app.transmit() ─► decide ─┬─ drop: inner.release()
//                              ├─► delay line ──┐                                    ├─► delay line ──┐
//                              ├─► copy (dup) ──┤ due?                               ├─► copy (dup) ──┤ due? (at flush())
//                              └─► reorder line ┴─► app                              └─► reorder line ┴─► inner.transmit()
//
// Each frame draws three numbers from its direction's PRNG (mulberry32, seeded from `seed`
// and the direction, so one direction's traffic never shifts the other's decisions):
// dropped with probability `drop`; a survivor is duplicated with probability `duplicate`
// and held back with probability `reorder`. Every survivor is held `delayMs` (a delay line:
// FIFO, so a fixed delay never reorders); a reordered one `reorderMs` more, on a second
// line, so the frames that come within that time overtake it. A duplicate is a copy made
// at once into a frame from the inner device's allocate(); it follows the original on the
// delay line (so when the original is reordered, the copy arrives first). Both lines are
// FIFO in due time, and frames leave in due order, merged from the two heads.
//
// Ownership (device.ts): every address stays the inner device's and goes back to it
// exactly once. A held rx frame is one the inner device handed out and the application has
// not yet seen; a held tx frame is one the application gave up (transmit()) and the inner
// device has not yet taken. A dropped frame is release()d to the inner device; a duplicate's
// frame comes from allocate() and is handed on like any other. transmit() takes every frame
// it is given (holding them is the point); those the inner TX ring cannot take at flush()
// stay held and go at the next flush(). close() gives every held frame back.
//
// Time: `now()` is read once per receive(), transmit() and flush() call (the tests pass
// their rig's clock; the real loop performance.now). No allocation per frame: the lines are
// typed-array rings, sized to the inner device's frame count (no more frames than that can
// ever be held). A copy costs one memcpy of the frame.

import { usage } from './errors.js';
import { DeviceWrapper, type Device } from './device.js';

export interface FaultRates {
  /** Probability in [0, 1] that a frame is dropped. */
  drop?: number;
  /** Probability in [0, 1] that a surviving frame is sent twice (the copy right behind it). */
  duplicate?: number;
  /** Probability in [0, 1] that a surviving frame is held `reorderMs` longer, so that later ones overtake it. */
  reorder?: number;
  /** Every surviving frame is held this long (ms). Default 0. */
  delayMs?: number;
  /** How much longer a reordered frame is held (ms). Default 10. */
  reorderMs?: number;
}

/** What a spec string says (parseFaultSpec): everything but the clock. */
export interface FaultSpec {
  seed: number;
  rx: Required<FaultRates>;
  tx: Required<FaultRates>;
}

export const FAULT_DROP = 0;
export const FAULT_DUPLICATE = 1;
export const FAULT_REORDER = 2;

export interface FaultOptions {
  /** Any integer in [0, 2^32); the same seed and the same traffic give the same faults. */
  seed: number;
  rx?: FaultRates;
  tx?: FaultRates;
  /** The clock (ms). Default performance.now. */
  now?: () => number;
  /**
   * Told of each fault as it is done (FAULT_DROP, _DUPLICATE, _REORDER), with the frame's
   * bytes at mem[addr, addr + len) (a dropped frame: before it goes back). For traces and
   * for tests that must know what was lost; the frame must not be kept or changed.
   */
  onFault?: (fault: number, rx: boolean, mem: Uint8Array, addr: number, len: number) => void;
}

export interface FaultDirectionStats {
  /** Frames that came through this direction (before any fault). */
  frames: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Frames held back at all (a delay, a reorder, or both). */
  delayed: number;
  /** Duplicates not made: the inner device had no free frame. */
  duplicateFailed: number;
  /** tx: times a due frame could not go because the inner TX ring was full (it went later). */
  deferred: number;
  /** Frames held now (a gauge). */
  held: number;
}

export interface FaultStats {
  rx: FaultDirectionStats;
  tx: FaultDirectionStats;
}

export const DEFAULT_REORDER_MS = 10;
/** The longest delay a spec may ask (ms): longer is a mistake, not a network. */
export const MAX_FAULT_DELAY_MS = 60_000;

export function emptyFaultStats(): FaultStats {
  const d = (): FaultDirectionStats => ({ frames: 0, dropped: 0, duplicated: 0, reordered: 0, delayed: 0, duplicateFailed: 0, deferred: 0, held: 0 });
  return { rx: d(), tx: d() };
}

/** mulberry32 (Tommy Ettinger): a 32-bit state, a full period of 2^32, plenty for fault rates. */
class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** A number in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A 32-bit mix (the murmur3 finalizer), so that nearby seeds start far apart in mulberry32's sequence. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Held frames in arrival order, each with the time it is due:
 *
 *   ring of `size` (a power of two ≥ the inner device's frames)
 *   ┌──────┬──────┬──────┬─────┐   addr[i], len[i], due[i]
 *   │ head │  …   │ tail │ …   │   due is non-decreasing from head to tail
 *   └──────┴──────┴──────┴─────┘
 */
class Line {
  readonly addr: Uint32Array;
  readonly len: Uint32Array;
  readonly due: Float64Array;
  private readonly mask: number;
  head = 0;
  count = 0;

  constructor(size: number) {
    this.addr = new Uint32Array(size);
    this.len = new Uint32Array(size);
    this.due = new Float64Array(size);
    this.mask = size - 1;
  }

  push(addr: number, len: number, due: number): void {
    if (this.count > this.mask) throw usage('fault device: more frames held than the device has (a frame handed over twice?)');
    // A clock that steps back must not let a frame overtake the line's tail.
    if (this.count > 0) {
      const last = this.due[(this.head + this.count - 1) & this.mask]!;
      if (due < last) due = last;
    }
    const k = (this.head + this.count) & this.mask;
    this.addr[k] = addr;
    this.len[k] = len;
    this.due[k] = due;
    this.count++;
  }

  /** Due time of the head, or Infinity when empty. */
  headDue(): number {
    return this.count > 0 ? this.due[this.head]! : Infinity;
  }

  /** Due time of the k-th frame from the head (k < count). */
  dueAt(k: number): number {
    return this.due[(this.head + k) & this.mask]!;
  }

  addrAt(k: number): number {
    return this.addr[(this.head + k) & this.mask]!;
  }

  lenAt(k: number): number {
    return this.len[(this.head + k) & this.mask]!;
  }

  pop(): void {
    this.head = (this.head + 1) & this.mask;
    this.count--;
  }
}

/** One direction: its rates, its PRNG, its two lines, its counters. */
class Direction {
  readonly drop: number;
  readonly duplicate: number;
  readonly reorder: number;
  readonly delayMs: number;
  readonly reorderMs: number;
  /** True when every frame passes untouched at once (no draw is made). */
  readonly transparent: boolean;
  readonly prng: Prng;
  readonly inOrder: Line;
  readonly late: Line;
  readonly stats: FaultDirectionStats;

  constructor(r: FaultRates | undefined, seed: number, size: number, stats: FaultDirectionStats) {
    this.drop = r?.drop ?? 0;
    this.duplicate = r?.duplicate ?? 0;
    this.reorder = r?.reorder ?? 0;
    this.delayMs = r?.delayMs ?? 0;
    this.reorderMs = r?.reorderMs ?? DEFAULT_REORDER_MS;
    this.transparent = this.drop === 0 && this.duplicate === 0 && this.reorder === 0 && this.delayMs === 0;
    this.prng = new Prng(seed);
    this.inOrder = new Line(size);
    this.late = new Line(size);
    this.stats = stats;
  }

  get held(): number {
    return this.inOrder.count + this.late.count;
  }

  /** Earliest due time of anything held, or Infinity. */
  nextDue(): number {
    const a = this.inOrder.headDue(), b = this.late.headDue();
    return a < b ? a : b;
  }

  /** Which line's head leaves next at time `now`: the in-order line (0), the late one (1), or none (-1). */
  nextLine(now: number): number {
    const a = this.inOrder.headDue(), b = this.late.headDue();
    if (a <= b) return a <= now ? 0 : -1; // a tie goes in order
    return b <= now ? 1 : -1;
  }

  line(i: number): Line {
    return i === 0 ? this.inOrder : this.late;
  }
}

function checkRates(r: FaultRates | undefined, dir: string): void {
  if (r === undefined) return;
  for (const k of ['drop', 'duplicate', 'reorder'] as const) {
    const v = r[k];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw usage(`fault device: ${dir}.${k} ${v} is not a rate in [0, 1]`);
  }
  for (const k of ['delayMs', 'reorderMs'] as const) {
    const v = r[k];
    if (v !== undefined && !(v >= 0 && v <= MAX_FAULT_DELAY_MS)) throw usage(`fault device: ${dir}.${k} ${v} is not a delay in [0, ${MAX_FAULT_DELAY_MS}] ms`);
  }
}

function ringSizeFor(frames: number): number {
  let n = 64;
  while (n < frames) n *= 2;
  return n;
}

export class FaultDevice extends DeviceWrapper {
  private readonly rx: Direction;
  private readonly tx: Direction;
  private readonly now: () => number;
  private readonly onFault: FaultOptions['onFault'];
  private readonly counters: FaultStats = emptyFaultStats();
  /** For duplicates: one frame from the inner device at a time. */
  private readonly one = new Uint32Array(1);
  /** For flush(): a chunk of due tx frames and the line each came from. */
  private readonly outA = new Uint32Array(64);
  private readonly outL = new Uint32Array(64);
  private readonly outFrom = new Uint8Array(64);
  /** Per inner frame: 1 while held here, so that a frame given back twice is caught at once, not at its flush(). */
  private readonly holding: Uint8Array;

  constructor(inner: Device, options: FaultOptions) {
    const seed = options.seed;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw usage(`fault device: seed ${seed} is not an integer in [0, 2^32)`);
    checkRates(options.rx, 'rx');
    checkRates(options.tx, 'tx');
    super(inner, 'fault');
    const size = ringSizeFor(inner.frameCount);
    this.rx = new Direction(options.rx, mix(seed ^ 0x7278), size, this.counters.rx);
    this.tx = new Direction(options.tx, mix(seed ^ 0x7478), size, this.counters.tx);
    this.now = options.now ?? (() => performance.now());
    this.onFault = options.onFault;
    this.holding = new Uint8Array(inner.frameCount);
  }

  private frameOf(addr: number): number {
    return Math.floor(addr / this.inner.frameSize);
  }

  private hold(addr: number): void {
    const f = this.frameOf(addr);
    if (f < this.holding.length) this.holding[f] = 1;
  }

  private unhold(addr: number): void {
    const f = this.frameOf(addr);
    if (f < this.holding.length) this.holding[f] = 0;
  }

  /** Throws when the application hands over a frame it gave up already (one held here). */
  private checkNotHeld(addrs: Uint32Array, start: number, count: number, what: string): void {
    for (let i = start; i < start + count; i++) {
      const f = this.frameOf(addrs[i]!);
      if (f < this.holding.length && this.holding[f] === 1) {
        throw usage(`fault device ${this.name}: ${what} of address ${addrs[i]}, which the application gave up already (given back twice?)`);
      }
    }
  }

  /** Frames held now, both directions (they belong to the inner device, neither free nor the application's). */
  get heldFrames(): number {
    return this.rx.held + this.tx.held;
  }

  /** The earliest time (ms) a held frame is due, or Infinity: a loop that sleeps should wake by then. */
  nextDue(): number {
    const a = this.rx.nextDue(), b = this.tx.nextDue();
    return a < b ? a : b;
  }

  override receive(addrs: Uint32Array, lens: Uint32Array, max: number): number {
    const d = this.rx;
    if (d.transparent && d.held === 0) {
      const n = this.inner.receive(addrs, lens, max);
      d.stats.frames += n;
      return n;
    }
    const now = this.now();
    // The caller's arrays serve first to take what the inner device has, then to hand over
    // what is due. A batch that was all dropped or held is not "nothing received" while the
    // inner device has more: take another (bounded: each turn takes frames out of its ring).
    for (let turn = 0; turn < 64; turn++) {
      const n = this.inner.receive(addrs, lens, max);
      for (let i = 0; i < n; i++) this.admit(d, true, addrs[i]!, lens[i]!, now, addrs, i);
      if (n < max || d.nextLine(now) >= 0) break;
    }
    let out = 0;
    while (out < max) {
      const k = d.nextLine(now);
      if (k < 0) break;
      const line = d.line(k);
      const a = line.addrAt(0);
      this.unhold(a);
      addrs[out] = a;
      lens[out] = line.lenAt(0);
      line.pop();
      out++;
    }
    d.stats.held = d.held;
    return out;
  }

  /** Takes every frame (a dropped one goes back to the inner device; the rest are held until flush()). */
  override transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number {
    const d = this.tx;
    if (d.transparent && d.held === 0) {
      const n = this.inner.transmit(addrs, lens, count);
      d.stats.frames += n;
      return n;
    }
    const now = this.now();
    this.checkNotHeld(addrs, 0, count, 'transmit');
    for (let i = 0; i < count; i++) this.admit(d, false, addrs[i]!, lens[i]!, now, addrs, i);
    d.stats.held = d.held;
    return count;
  }

  override release(addrs: Uint32Array, count: number, start = 0): void {
    if (this.rx.held + this.tx.held > 0) this.checkNotHeld(addrs, start, count, 'release');
    this.inner.release(addrs, count, start);
  }

  override flush(): void {
    const d = this.tx;
    if (d.held > 0) this.sendDue(d, this.now());
    this.inner.flush();
  }

  override wait(timeoutMs: number): boolean {
    const now = this.now();
    if (this.rx.nextLine(now) >= 0) return true;
    // Wake in time for the first held frame (rx to hand over, tx to send at the next flush()).
    const due = this.nextDue() - now;
    const t = due < timeoutMs ? Math.max(0, Math.ceil(due)) : timeoutMs;
    return this.inner.wait(t) || this.rx.nextLine(this.now()) >= 0;
  }

  /** What the injector did (copied into `out`, or a new object). */
  faultStats(out: FaultStats = emptyFaultStats()): FaultStats {
    this.counters.rx.held = this.rx.held;
    this.counters.tx.held = this.tx.held;
    Object.assign(out.rx, this.counters.rx);
    Object.assign(out.tx, this.counters.tx);
    return out;
  }

  /** Gives every held frame back to the inner device unsent (lost in flight); returns how many. */
  discardHeld(): number {
    let n = 0;
    for (const d of [this.rx, this.tx]) {
      for (const line of [d.inOrder, d.late]) {
        while (line.count > 0) {
          this.one[0] = line.addrAt(0);
          this.unhold(this.one[0]!);
          line.pop();
          this.inner.release(this.one, 1);
          n++;
        }
      }
      d.stats.held = 0;
    }
    return n;
  }

  override async close(): Promise<void> {
    this.discardHeld();
    await this.inner.close();
  }

  /** One frame into direction `d`: dropped, or onto its line(s). `arr[i]` holds its address (for release()). */
  private admit(d: Direction, rx: boolean, addr: number, len: number, now: number, arr: Uint32Array, i: number): void {
    const st = d.stats;
    st.frames++;
    // Three draws per frame whatever happens, so that one decision never shifts the next frame's.
    const uDrop = d.prng.next(), uDup = d.prng.next(), uReorder = d.prng.next();
    if (uDrop < d.drop) {
      st.dropped++;
      this.onFault?.(FAULT_DROP, rx, this.inner.mem, addr, len);
      this.inner.release(arr, 1, i);
      return;
    }
    const due = now + d.delayMs;
    const late = uReorder < d.reorder;
    if (late || d.delayMs > 0) st.delayed++;
    if (late) {
      st.reordered++;
      this.onFault?.(FAULT_REORDER, rx, this.inner.mem, addr, len);
      d.late.push(addr, len, due + d.reorderMs);
    } else {
      d.inOrder.push(addr, len, due);
    }
    this.hold(addr);
    if (uDup < d.duplicate) {
      if (this.inner.allocate(this.one, 1) === 1) {
        const copy = this.one[0]!;
        this.inner.mem.copyWithin(copy, addr, addr + len);
        st.duplicated++;
        this.onFault?.(FAULT_DUPLICATE, rx, this.inner.mem, addr, len);
        d.inOrder.push(copy, len, due);
        this.hold(copy);
      } else {
        st.duplicateFailed++;
      }
    }
  }

  /** Hands the due tx frames to the inner device, in due order, as many as its ring takes. */
  private sendDue(d: Direction, now: number): void {
    const a = this.outA, l = this.outL, from = this.outFrom;
    for (;;) {
      // Gather a chunk in due order without taking it off the lines (the ring may take less).
      let n = 0, i0 = 0, i1 = 0;
      const l0 = d.inOrder, l1 = d.late;
      while (n < a.length) {
        const due0 = i0 < l0.count ? l0.dueAt(i0) : Infinity;
        const due1 = i1 < l1.count ? l1.dueAt(i1) : Infinity;
        if (due0 <= due1 && due0 <= now) {
          a[n] = l0.addrAt(i0);
          l[n] = l0.lenAt(i0++);
          from[n++] = 0;
        } else if (due1 < due0 && due1 <= now) {
          a[n] = l1.addrAt(i1);
          l[n] = l1.lenAt(i1++);
          from[n++] = 1;
        } else {
          break;
        }
      }
      if (n === 0) break;
      const took = this.inner.transmit(a, l, n);
      for (let k = 0; k < took; k++) {
        this.unhold(a[k]!);
        d.line(from[k]!).pop();
      }
      if (took < n) {
        d.stats.deferred++;
        break;
      }
    }
    d.stats.held = d.held;
  }
}

// ── The spec string ─────────────────────────────────────────────────────────────────────

const RATE_KEYS: Record<string, 'drop' | 'duplicate' | 'reorder'> = { drop: 'drop', dup: 'duplicate', duplicate: 'duplicate', reorder: 'reorder' };
const MS_KEYS: Record<string, 'delayMs' | 'reorderMs'> = { delay: 'delayMs', 'reorder-ms': 'reorderMs' };
const KNOWN = 'seed, drop, dup (or duplicate), reorder, delay, reorder-ms, dir; rx.KEY and tx.KEY set one direction';

function zeroRates(): Required<FaultRates> {
  return { drop: 0, duplicate: 0, reorder: 0, delayMs: 0, reorderMs: DEFAULT_REORDER_MS };
}

/**
 * Parses a fault spec: comma-separated KEY=VALUE pairs, e.g.
 *
 *   seed=7,drop=0.01,dup=0.01,reorder=0.05,delay=20,dir=both
 *
 *   seed=N         PRNG seed, an integer in [0, 2^32) (default 1)
 *   drop=R         rates: a number in [0, 1], or a percentage ("5%")
 *   dup=R          (or duplicate=R)
 *   reorder=R
 *   delay=MS       every frame held MS milliseconds (default 0)
 *   reorder-ms=MS  a reordered frame held MS more (default 10)
 *   dir=both|rx|tx the directions the plain keys apply to (default both); rx is what the
 *                  device receives, tx what the application transmits
 *   rx.KEY=V, tx.KEY=V   one direction only (wins over the plain key, whatever the order)
 *
 * Throws a usage error (APPL_ERR_USAGE) that names the offending pair.
 */
export function parseFaultSpec(spec: string): FaultSpec {
  const text = spec.trim();
  const fail = (why: string): never => {
    throw usage(`fault spec "${spec}": ${why}`);
  };
  if (text === '') fail(`empty; give KEY=VALUE pairs, e.g. "seed=7,drop=0.01,dup=0.01,reorder=0.05,delay=20" (keys: ${KNOWN})`);
  let seed = 1;
  let dir = 'both';
  const plain: FaultRates = {};
  const only: { rx: FaultRates; tx: FaultRates } = { rx: {}, tx: {} };
  const seen = new Set<string>();
  for (const item of text.split(',')) {
    const pair = item.trim();
    if (pair === '') fail('an empty item (two commas in a row, or a comma at an end)');
    const eq = pair.indexOf('=');
    if (eq < 0) fail(`"${pair}" is not KEY=VALUE`);
    const key = pair.slice(0, eq).trim().toLowerCase();
    const value = pair.slice(eq + 1).trim();
    if (value === '') fail(`${key} has no value`);
    let name = key;
    let target: FaultRates = plain;
    const m = /^(rx|tx)\.(.+)$/.exec(key);
    if (m) {
      target = only[m[1] as 'rx' | 'tx'];
      name = m[2]!;
    }
    const field = RATE_KEYS[name] ?? MS_KEYS[name];
    const canonical = m ? `${m[1]}.${field ?? name}` : (field ?? name);
    if (seen.has(canonical)) fail(`${key} is given twice`);
    seen.add(canonical);
    if (!m && name === 'seed') {
      if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) fail(`seed=${value} is not an integer in [0, 4294967295]`);
      seed = Number(value);
    } else if (!m && name === 'dir') {
      if (value !== 'both' && value !== 'rx' && value !== 'tx') fail(`dir=${value}: say both, rx or tx`);
      dir = value;
    } else if (RATE_KEYS[name] !== undefined) {
      const pct = value.endsWith('%');
      const num = pct ? value.slice(0, -1).trim() : value;
      const r = /^(\d+(\.\d*)?|\.\d+)(e-?\d+)?$/i.test(num) ? Number(num) / (pct ? 100 : 1) : NaN;
      if (!(r >= 0 && r <= 1)) fail(`${key}=${value} is not a rate in [0, 1] (or a percentage)`);
      target[RATE_KEYS[name]!] = r;
    } else if (MS_KEYS[name] !== undefined) {
      const num = value.replace(/ms$/i, '').trim();
      const v = /^(\d+(\.\d*)?|\.\d+)$/.test(num) ? Number(num) : NaN;
      if (!(v >= 0 && v <= MAX_FAULT_DELAY_MS)) fail(`${key}=${value} is not a delay in [0, ${MAX_FAULT_DELAY_MS}] ms`);
      target[MS_KEYS[name]!] = v;
    } else {
      fail(`unknown key "${key}" (keys: ${KNOWN})`);
    }
  }
  const out: FaultSpec = { seed, rx: zeroRates(), tx: zeroRates() };
  for (const d of ['rx', 'tx'] as const) {
    if (dir === 'both' || dir === d) Object.assign(out[d], plain);
    Object.assign(out[d], only[d]);
  }
  return out;
}

/** A spec back as a string parseFaultSpec reads (for logs): the seed, then each direction's non-default fields. */
export function formatFaultSpec(s: FaultSpec): string {
  const parts = [`seed=${s.seed}`];
  const names: Array<[keyof FaultRates, string, number]> = [
    ['drop', 'drop', 0], ['duplicate', 'dup', 0], ['reorder', 'reorder', 0], ['delayMs', 'delay', 0], ['reorderMs', 'reorder-ms', DEFAULT_REORDER_MS],
  ];
  for (const d of ['rx', 'tx'] as const) {
    for (const [field, key, def] of names) if (s[d][field] !== def) parts.push(`${d}.${key}=${s[d][field]}`);
  }
  return parts.join(',');
}
