// The device interface: what every backend (AF_XDP, the in-memory pipe, a future
// /dev/netmap backend) and every wrapper (pcap capture) implements, and all the stack sees.
//
// The netmap ring model, reduced to what a per-core loop needs. A device owns a pool of
// frames in one block of memory, `mem`. Frames are named by their *address*: the byte
// offset in `mem` where the frame's data starts (a u32). The frame's bytes are
// mem[addr, addr + len); at most `maxFrameLen` bytes are usable from any address handed out.
//
// Ownership moves in batches, never per call into C, and every address the application
// gets is given back exactly once:
//
//            receive()                 transmit()                flush()
//   device ─────────────► application ─────────────► in flight ─────────► device
//            allocate()      │                                             ▲
//   device ─────────────►    └──────────── release() (drop) ───────────────┘
//
//   - receive(addrs, lens, max) hands over received frames.
//   - allocate(addrs, max) hands over free frames to build new frames in.
//   - transmit(addrs, lens, count) queues frames the application owns: a received frame
//     rewritten in place (zero copy) or an allocated one. The address is the one the device
//     handed out, or up to TX_SHIFT_MAX bytes past it (a frame started later so that its
//     payload has the alignment of the memory it is copied from); the length may change, up
//     to maxFrameLen from the address handed out.
//   - release(addrs, count, start) gives frames back unsent (a drop).
//   - flush() makes queued frames go (one kick into the kernel at most), reaps completed
//     transmissions and gives free frames back to the receive side. Call it once per batch.
//   - wait(timeoutMs) sleeps until something can be received; call it only when idle.
//
// The application must not touch a frame after transmit() or release(). Typed arrays are
// the caller's, preallocated once; no call allocates. Lengths are Uint32Array so that every
// call site sees one array type (a union would make the hot loops polymorphic).
//
// How a backend maps onto this:
//   AF_XDP  fill ring ← free frames; RX ring → receive(); TX ring ← transmit(); completion
//           ring → free list. Address = UMEM offset (frame base + 256 bytes of headroom).
//   netmap  (not built; /dev/netmap is absent here) receive() takes RX slots between head
//           and tail and swaps a spare buffer (NIOCREGIF nr_extra_bufs) into each slot, so
//           the application owns the received buffer; transmit() puts buffers into TX slots
//           (NS_BUF_CHANGED), taking the slot's old buffer as spare; flush() advances
//           head/cur and calls NIOCTXSYNC only when needed; wait() is poll(). Address =
//           offset of the buffer in the netmap memory region (buf_idx × buf_size + base).
//   pipe    two devices in one thread, back to back: what one flushes, the other receives.

/** How far past a handed-out address a transmitted frame may start (AF_XDP takes any offset inside the frame). */
export const TX_SHIFT_MAX = 7;

/** The batch size that loops should use: one kick per batch at most. */
export const BATCH = 64;

export type DeviceKind = 'afxdp' | 'pipe' | 'netmap';

/** Counters. Kernel-side ones come from the kernel (AF_XDP: XDP_STATISTICS) or are modelled (pipe). */
export interface DeviceStats {
  /** Frames handed over by receive(). */
  rxPackets: number;
  /** Frames accepted by transmit(). */
  txPackets: number;
  /** Frames the device dropped on receive for other reasons. */
  rxDropped: number;
  /** Received frames dropped for want of room in the RX ring. */
  rxRingFull: number;
  /** Times the receive side found no free frame (the fill ring was empty). */
  fillRingEmpty: number;
  rxInvalidDescs: number;
  txInvalidDescs: number;
  /** Times the transmit side found its ring empty (kernel counter; not an error). */
  txRingEmpty: number;
  /** Calls into the kernel to start transmission. */
  kicks: number;
  /** Kicks the kernel answered with "again" (budget spent, completion ring full, no buffers). */
  kicksDeferred: number;
}

export interface Device {
  readonly kind: DeviceKind;
  /** Interface name (AF_XDP, netmap) or the pipe end's name. */
  readonly name: string;
  /** The NIC queue this device is bound to. */
  readonly queue: number;
  /** MAC address of the interface (6 bytes; do not write). */
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** AF_XDP: 'native' | 'generic' XDP and 'copy' | 'zerocopy' socket; pipe: 'memory'. */
  readonly mode: string;

  /** All frame memory. Frame bytes are mem[addr, addr + len). */
  readonly mem: Uint8Array;
  /** A DataView over `mem` (same offsets). */
  readonly view: DataView;
  readonly frameSize: number;
  readonly frameCount: number;
  /** Bytes usable from any address the device hands out. */
  readonly maxFrameLen: number;

  /** Received frames into addrs[0..n), lens[0..n); returns n ≤ max. */
  receive(addrs: Uint32Array, lens: Uint32Array, max: number): number;
  /** Free frames to build in, into addrs[0..n); returns n ≤ max (0 when none are free). */
  allocate(addrs: Uint32Array, max: number): number;
  /**
   * Queues addrs[0..count) with lens[0..count) for transmission; returns how many were
   * taken (from the front). Those not taken (ring full) still belong to the caller: retry
   * after flush(), or release() them.
   */
  transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number;
  /** Gives back addrs[start..start + count) unsent. */
  release(addrs: Uint32Array, count: number, start?: number): void;
  /** Starts transmission of what was queued, reaps completions, refills the receive side. */
  flush(): void;
  /** Sleeps up to timeoutMs until something can be received; true if something can. */
  wait(timeoutMs: number): boolean;
  /** Copies the counters into `out` (or a new object) and returns it. */
  stats(out?: DeviceStats): DeviceStats;
  /**
   * Releases everything. The frame memory is detached (views read as empty) at once; the
   * promise settles when the kernel has let go of the queue, so a new open does not meet EBUSY.
   */
  close(): Promise<void>;
}

/**
 * A device in front of another (capture, fault injection, a test's tap): every member
 * passes through to `inner`, and a subclass overrides what it changes. `mode` is the inner
 * device's with `+tag` after it.
 */
export class DeviceWrapper implements Device {
  constructor(readonly inner: Device, private readonly tag: string) {}

  get kind(): DeviceKind { return this.inner.kind; }
  get name(): string { return this.inner.name; }
  get queue(): number { return this.inner.queue; }
  get mac(): Uint8Array { return this.inner.mac; }
  get mtu(): number { return this.inner.mtu; }
  get mode(): string { return `${this.inner.mode}+${this.tag}`; }
  get mem(): Uint8Array { return this.inner.mem; }
  get view(): DataView { return this.inner.view; }
  get frameSize(): number { return this.inner.frameSize; }
  get frameCount(): number { return this.inner.frameCount; }
  get maxFrameLen(): number { return this.inner.maxFrameLen; }

  receive(addrs: Uint32Array, lens: Uint32Array, max: number): number { return this.inner.receive(addrs, lens, max); }
  allocate(addrs: Uint32Array, max: number): number { return this.inner.allocate(addrs, max); }
  transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number { return this.inner.transmit(addrs, lens, count); }
  release(addrs: Uint32Array, count: number, start?: number): void { this.inner.release(addrs, count, start); }
  flush(): void { this.inner.flush(); }
  wait(timeoutMs: number): boolean { return this.inner.wait(timeoutMs); }
  stats(out?: DeviceStats): DeviceStats { return this.inner.stats(out); }
  close(): Promise<void> { return this.inner.close(); }
}

export function emptyStats(): DeviceStats {
  return {
    rxPackets: 0,
    txPackets: 0,
    rxDropped: 0,
    rxRingFull: 0,
    fillRingEmpty: 0,
    rxInvalidDescs: 0,
    txInvalidDescs: 0,
    txRingEmpty: 0,
    kicks: 0,
    kicksDeferred: 0,
  };
}

export function copyStats(from: DeviceStats, out: DeviceStats = emptyStats()): DeviceStats {
  out.rxPackets = from.rxPackets;
  out.txPackets = from.txPackets;
  out.rxDropped = from.rxDropped;
  out.rxRingFull = from.rxRingFull;
  out.fillRingEmpty = from.fillRingEmpty;
  out.rxInvalidDescs = from.rxInvalidDescs;
  out.txInvalidDescs = from.txInvalidDescs;
  out.txRingEmpty = from.txRingEmpty;
  out.kicks = from.kicks;
  out.kicksDeferred = from.kicksDeferred;
  return out;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
