// The in-memory pipe: two devices wired back to back, in pure TypeScript, in one thread.
// What one end transmits (at its flush()) the other end receives. The stack's tests run on
// it without root, and captures replay through it (inject()).
//
//   end A                                              end B
//   ┌──────────────┐   flush(): copy into a free   ┌──────────────┐
//   │ tx queue ────┼──────── frame of B ──────────►│ rx ring      │
//   │ rx ring  ◄───┼──────── and the other way ────┼─── tx queue  │
//   │ free list    │                               │ free list    │
//   │ mem (frames) │                               │ mem (frames) │
//   └──────────────┘                               └──────────────┘
//
// Each end owns its own frames, like a NIC: a frame is copied across, never shared, and
// comes back to its own free list once "sent". The pipe checks the ownership contract
// (device.ts) and throws on a breach — a frame given back twice, an address it never handed
// out, a length past maxFrameLen — since those are programming errors in the stack. With
// `poison`, frames are filled with 0xEE when they come back, so a write after transmit or
// a read of stale bytes shows up in tests.

import { usage } from './errors.js';
import { copyStats, emptyStats, isPowerOfTwo, TX_SHIFT_MAX, type Device, type DeviceStats } from './device.js';

export interface PipeEndOptions {
  name?: string;
  /** Default 02:00:00:00:00:0a for end A, …:0b for end B. */
  mac?: Uint8Array;
  mtu?: number;
  /** Default 1024. */
  frames?: number;
  /** Default 2048; a power of two. */
  frameSize?: number;
  /** Bytes before the data in each frame (AF_XDP has 256). Default 256. */
  headroom?: number;
  /** RX ring and TX queue entries. Default 512; a power of two. */
  ringSize?: number;
  /** Fill frames given back with 0xEE. Default false. */
  poison?: boolean;
}

// Per-frame ownership, for the contract checks.
const FREE = 0;
const KERNEL = 1; // in the RX ring or queued for TX
const APP = 2;

export class PipeDevice implements Device {
  readonly kind = 'pipe' as const;
  readonly name: string;
  readonly queue = 0;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly mode = 'memory';
  readonly mem: Uint8Array;
  readonly view: DataView;
  readonly frameSize: number;
  readonly frameCount: number;
  readonly maxFrameLen: number;
  readonly headroom: number;
  /** The other end (set by createPipe). */
  peer: PipeDevice | undefined;

  private readonly ringSize: number;
  private readonly mask: number;
  private readonly poison: boolean;
  private readonly free: Uint32Array;
  private freeCount = 0;
  private readonly owner: Uint8Array;
  private readonly rxAddr: Uint32Array;
  private readonly rxLen: Uint32Array;
  private rxHead = 0; // next to receive
  private rxTail = 0; // next to fill
  private readonly txAddr: Uint32Array;
  private readonly txLen: Uint32Array;
  private txCount = 0;
  private readonly counters: DeviceStats = emptyStats();
  private closed = false;

  constructor(options: PipeEndOptions = {}, defaultName = 'pipe', defaultMacLast = 0x0a) {
    const frames = options.frames ?? 1024;
    const frameSize = options.frameSize ?? 2048;
    const ringSize = options.ringSize ?? 512;
    this.headroom = options.headroom ?? 256;
    if (!isPowerOfTwo(frameSize) || frameSize < 256) throw usage(`pipe frameSize ${frameSize} must be a power of two ≥ 256`);
    if (!isPowerOfTwo(ringSize)) throw usage(`pipe ringSize ${ringSize} must be a power of two`);
    if (!Number.isInteger(frames) || frames < 1) throw usage(`pipe frames ${frames} must be a positive integer`);
    if (this.headroom >= frameSize - 64) throw usage(`pipe headroom ${this.headroom} leaves too little of a ${frameSize}-byte frame`);
    this.name = options.name ?? defaultName;
    this.mac = options.mac ?? Uint8Array.of(0x02, 0, 0, 0, 0, defaultMacLast);
    this.mtu = options.mtu ?? 1500;
    this.frameSize = frameSize;
    this.frameCount = frames;
    this.maxFrameLen = frameSize - this.headroom;
    this.ringSize = ringSize;
    this.mask = ringSize - 1;
    this.poison = options.poison ?? false;
    const buf = new ArrayBuffer(frames * frameSize);
    this.mem = new Uint8Array(buf);
    this.view = new DataView(buf);
    this.free = new Uint32Array(frames);
    for (let i = frames - 1; i >= 0; i--) this.free[this.freeCount++] = i;
    this.owner = new Uint8Array(frames);
    this.rxAddr = new Uint32Array(ringSize);
    this.rxLen = new Uint32Array(ringSize);
    this.txAddr = new Uint32Array(ringSize);
    this.txLen = new Uint32Array(ringSize);
    if (this.poison) this.mem.fill(0xee);
  }

  receive(addrs: Uint32Array, lens: Uint32Array, max: number): number {
    let n = 0;
    while (n < max && this.rxHead !== this.rxTail) {
      const k = this.rxHead & this.mask;
      const addr = this.rxAddr[k]!;
      this.owner[this.frameOf(addr)] = APP;
      addrs[n] = addr;
      lens[n] = this.rxLen[k]!;
      this.rxHead = (this.rxHead + 1) >>> 0;
      n++;
    }
    this.counters.rxPackets += n;
    return n;
  }

  allocate(addrs: Uint32Array, max: number): number {
    const n = this.freeCount < max ? this.freeCount : max;
    for (let i = 0; i < n; i++) {
      const f = this.free[--this.freeCount]!;
      this.owner[f] = APP;
      addrs[i] = f * this.frameSize + this.headroom;
    }
    return n;
  }

  transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number {
    const space = this.ringSize - this.txCount;
    const n = count < space ? count : space;
    for (let i = 0; i < n; i++) {
      const addr = addrs[i]!;
      const len = lens[i]!;
      const f = this.checkOwned(addr, 'transmit');
      const room = this.maxFrameLen - (addr - f * this.frameSize - this.headroom);
      if (len > room || len === 0) throw usage(`pipe ${this.name}: transmit of ${len} bytes at address ${addr} (1..${room} allowed)`);
      this.owner[f] = KERNEL;
      this.txAddr[this.txCount] = addr;
      this.txLen[this.txCount] = len;
      this.txCount++;
    }
    this.counters.txPackets += n;
    return n;
  }

  release(addrs: Uint32Array, count: number, start = 0): void {
    for (let i = start; i < start + count; i++) this.recycle(this.checkOwned(addrs[i]!, 'release'));
  }

  flush(): void {
    if (this.txCount === 0) return;
    this.counters.kicks++;
    const peer = this.peer;
    for (let i = 0; i < this.txCount; i++) {
      const addr = this.txAddr[i]!;
      peer?.deliver(this.mem, addr, this.txLen[i]!);
      this.recycle(this.frameOf(addr));
    }
    this.txCount = 0;
  }

  /** A single thread cannot block for its peer: reports at once whether a frame is waiting. */
  wait(_timeoutMs: number): boolean {
    return this.rxHead !== this.rxTail;
  }

  stats(out?: DeviceStats): DeviceStats {
    return copyStats(this.counters, out);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.peer?.peer === this) this.peer.peer = undefined;
    this.peer = undefined;
  }

  /**
   * Puts a frame into this end's RX ring as if it came off the wire (replay, tests).
   * Returns false, counting a drop, when no frame is free or the ring is full.
   */
  inject(bytes: Uint8Array, off = 0, len = bytes.length - off): boolean {
    return this.deliver(bytes, off, len);
  }

  /** Frames waiting to be received. */
  rxAvailable(): number {
    return (this.rxTail - this.rxHead) >>> 0;
  }

  /** Frames neither queued nor handed out. */
  get freeFrames(): number {
    return this.freeCount;
  }

  private deliver(src: Uint8Array, off: number, len: number): boolean {
    if (this.closed) return false;
    if (((this.rxTail - this.rxHead) >>> 0) >= this.ringSize) {
      this.counters.rxRingFull++;
      return false;
    }
    if (this.freeCount === 0) {
      this.counters.fillRingEmpty++;
      return false;
    }
    if (len > this.maxFrameLen) {
      this.counters.rxDropped++;
      return false;
    }
    const f = this.free[--this.freeCount]!;
    this.owner[f] = KERNEL;
    const addr = f * this.frameSize + this.headroom;
    this.mem.set(src.subarray(off, off + len), addr);
    const k = this.rxTail & this.mask;
    this.rxAddr[k] = addr;
    this.rxLen[k] = len;
    this.rxTail = (this.rxTail + 1) >>> 0;
    return true;
  }

  private frameOf(addr: number): number {
    return Math.floor(addr / this.frameSize);
  }

  private checkOwned(addr: number, what: string): number {
    const f = this.frameOf(addr);
    const shift = addr - (f * this.frameSize + this.headroom);
    if (f >= this.frameCount || shift < 0 || shift > TX_SHIFT_MAX) {
      throw usage(`pipe ${this.name}: ${what} of address ${addr}, which this device never handed out`);
    }
    if (this.owner[f] !== APP) {
      throw usage(`pipe ${this.name}: ${what} of address ${addr}, which the application does not own (given back twice?)`);
    }
    return f;
  }

  private recycle(f: number): void {
    this.owner[f] = FREE;
    if (this.poison) this.mem.fill(0xee, f * this.frameSize, (f + 1) * this.frameSize);
    this.free[this.freeCount++] = f;
  }
}

/** Two ends wired back to back. */
export function createPipe(a: PipeEndOptions = {}, b: PipeEndOptions = {}): [PipeDevice, PipeDevice] {
  const x = new PipeDevice(a, 'pipe-a', 0x0a);
  const y = new PipeDevice(b, 'pipe-b', 0x0b);
  x.peer = y;
  y.peer = x;
  return [x, y];
}
