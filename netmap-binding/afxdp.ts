// The AF_XDP backend: one socket per NIC queue, its UMEM and rings mapped into this
// thread's memory, and the XDP program that steers the appliance's traffic to the sockets.
//
// Layout of what JS sees (src/xsk.c draws the kernel side):
//
//   mem = UMEM, frames × frameSize bytes           address handed out = frame base + 256
//   ┌────────────────────────┬────────────────────────┬────
//   │ 256 B headroom │ data… │ 256 B headroom │ data… │
//   └────────────────────────┴────────────────────────┴────
//
//   ring (Uint32Array over the mapping):  [producer] [consumer] [flags] … desc[size]
//     fill, completion: desc = u64 address; JS writes/reads the low word (UMEM < 4 GiB)
//     rx, tx:           desc = u64 addr, u32 len, u32 options → 4 words
//
// Producer and consumer are free-running u32 counters; an entry lives at (counter & mask).
// Each side publishes its counter with Atomics.store after writing the entries (release)
// and reads the other side's with Atomics.load (acquire). One thread owns the device:
// a worker opens its own (external ArrayBuffers cannot move between threads).
//
// Usage, one worker per queue (the supervisor attaches the program and passes its
// xskMapFd, a process-wide fd number, to the workers):
//
//   const prog = attachXdp({ iface: 'eth1', ipv4: ['198.18.0.1'], udpPorts: [53] });
//   // in the worker:
//   const dev = openAfXdp({ iface: 'eth1', queue: i, xskMapFd: prog.xskMapFd });

import { isIPv4, isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { usage } from './errors.js';
import { copyStats, emptyStats, isPowerOfTwo, type Device, type DeviceStats } from './device.js';
import { callNative, loadNative } from './loader.js';
import type { NativeAttachment, NativeBinding, NativeRing, NativeSocket } from './native.js';

/** Bytes the kernel leaves before received data in each frame (XDP_PACKET_HEADROOM). */
export const XDP_HEADROOM = 256;
const RING_NEED_WAKEUP = 1;
const POLLIN = 0x001;
/**
 * How long close() waits for the kernel to let go of the queue. The release runs after an
 * RCU grace period and then in a workqueue under the RTNL lock; 100 ms was measured on
 * these machines. open() also retries a busy queue (busyWaitMs), so a restart that comes
 * sooner still succeeds.
 */
export const XSK_RELEASE_SETTLE_MS = 150;

export type XdpMode = 'auto' | 'native' | 'generic';

/** What the XDP program steers to the sockets. */
export interface ServeSpec {
  /** The appliance's IPv4 addresses (dotted quads). */
  ipv4?: readonly string[];
  /** The appliance's IPv6 addresses. */
  ipv6?: readonly string[];
  udpPorts?: readonly number[];
  tcpPorts?: readonly number[];
  /**
   * Of ipv4/ipv6, the addresses the host's kernel does not have: TCP to any port of them
   * comes to the sockets (so that the stack can answer a port it does not serve with a RST);
   * for the others only tcpPorts does, and the rest stays the kernel's.
   */
  exclusive?: readonly string[];
}

export interface AttachOptions extends ServeSpec {
  iface: string;
  /** A network namespace (name under /run/netns, or a path) to attach in. */
  netns?: string;
  /** 'auto' (default): native where the driver has it, generic otherwise. */
  mode?: XdpMode;
  /** Highest queue index + 1 that sockets may register (the XSKMAP's size). Default 64. */
  maxQueues?: number;
}

/** The attached program. Closing it detaches it; so does the death of the process. */
export class XdpProgram {
  /** 'native' (driver) or 'generic' (skb) XDP. */
  readonly mode: 'native' | 'generic';
  readonly iface: string;
  readonly netns: string | undefined;
  /** A process-wide fd: workers pass it to openAfXdp to register their sockets. */
  readonly xskMapFd: number;
  private fds: number[];
  private readonly native: NativeBinding;

  constructor(native: NativeBinding, a: NativeAttachment, iface: string, netns: string | undefined) {
    this.native = native;
    this.mode = a.mode;
    this.iface = iface;
    this.netns = netns;
    this.xskMapFd = a.xskMapFd;
    this.fds = [a.linkFd, a.progFd, a.xskMapFd, a.ipv4MapFd, a.ipv6MapFd, a.portMapFd];
  }

  /** Detaches the program (closing the bpf_link detaches it synchronously) and frees the maps. */
  detach(): void {
    for (const fd of this.fds) callNative(() => this.native.closeFd(fd));
    this.fds = [];
  }

  get attached(): boolean {
    return this.fds.length > 0;
  }
}

export function attachXdp(options: AttachOptions): XdpProgram {
  const native = loadNative();
  const ipv4 = addressBytes(options.ipv4 ?? [], 4);
  const ipv6 = addressBytes(options.ipv6 ?? [], 16);
  const excl = options.exclusive ?? [];
  const ipv4Exclusive = addressBytes((options.ipv4 ?? []).filter((a) => excl.includes(a)), 4);
  const ipv6Exclusive = addressBytes((options.ipv6 ?? []).filter((a) => excl.includes(a)), 16);
  const mode = options.mode ?? 'auto';
  const a = callNative(() =>
    native.xdpAttach({
      ifname: options.iface,
      netns: options.netns,
      mode: mode === 'auto' ? 0 : mode === 'native' ? 1 : 2,
      maxQueues: options.maxQueues ?? 64,
      ipv4,
      ipv6,
      ipv4Exclusive,
      ipv6Exclusive,
      udpPorts: [...(options.udpPorts ?? [])],
      tcpPorts: [...(options.tcpPorts ?? [])],
    }),
  );
  return new XdpProgram(native, a, options.iface, options.netns);
}

export interface AfXdpOptions {
  iface: string;
  queue?: number;
  netns?: string;
  /** Frames in the UMEM. Default 4096; at least fillSize + BATCH. */
  frames?: number;
  /** Power of two from 2048 to the page size. Default 2048. */
  frameSize?: number;
  /** Entries of each ring (fill, completion, RX, TX). Default 2048; powers of two. */
  ringSize?: number;
  fillSize?: number;
  compSize?: number;
  rxSize?: number;
  txSize?: number;
  /** Register the socket in this program's XSKMAP (from attachXdp, maybe in another thread). */
  xskMapFd?: number;
  /**
   * Attach a program of our own with this spec (the single-queue case); it is detached on close().
   * Ignored when xskMapFd is given.
   */
  serve?: ServeSpec & { mode?: XdpMode; maxQueues?: number };
  /** Descriptors one kick may send (XDP_MAX_TX_SKB_BUDGET, kernel 6.17+). Default txSize. */
  txBudget?: number;
  copyMode?: 'auto' | 'copy' | 'zerocopy';
  /** XDP_USE_NEED_WAKEUP (default true): kick only when the kernel asks for it. */
  needWakeup?: boolean;
  /** How long open() retries a queue still held by a socket being released. Default 2000 ms. */
  busyWaitMs?: number;
  /** Tests only: passed to socket() as the address family. */
  socketFamily?: number;
}

export function openAfXdp(options: AfXdpOptions): AfXdpDevice {
  const native = loadNative();
  if (!native.supported) {
    throw usage('AF_XDP is Linux only: this build of the native module has no AF_XDP');
  }
  const ring = options.ringSize ?? 2048;
  const sizes = {
    fillSize: options.fillSize ?? ring,
    compSize: options.compSize ?? ring,
    rxSize: options.rxSize ?? ring,
    txSize: options.txSize ?? ring,
  };
  const frames = options.frames ?? 2 * sizes.fillSize;
  const frameSize = options.frameSize ?? 2048;
  if (!Number.isInteger(frames) || frames < sizes.fillSize + 64) {
    throw usage(`frames (${frames}) must be at least fillSize (${sizes.fillSize}) + 64, or nothing is left to transmit from`);
  }
  if (!isPowerOfTwo(frameSize)) throw usage(`frameSize (${frameSize}) must be a power of two`);
  const queue = options.queue ?? 0;
  const info = callNative(() => native.ifInfo(options.iface, options.netns));
  let program: XdpProgram | undefined;
  let xskMapFd = options.xskMapFd;
  if (xskMapFd === undefined && options.serve) {
    program = attachXdp({ ...options.serve, iface: options.iface, netns: options.netns });
    xskMapFd = program.xskMapFd;
  }
  try {
    const sock = callNative(() =>
      native.xskOpen({
        ifname: options.iface,
        netns: options.netns,
        queue,
        frames,
        frameSize,
        ...sizes,
        xskMapFd,
        txBudget: options.txBudget ?? sizes.txSize,
        copyMode: options.copyMode === 'copy' ? 1 : options.copyMode === 'zerocopy' ? 2 : 0,
        needWakeup: options.needWakeup ?? true,
        busyWaitMs: options.busyWaitMs ?? 2000,
        socketFamily: options.socketFamily,
      }),
    );
    const mode = `${program?.mode ?? 'external'}-xdp/${sock.zerocopy ? 'zerocopy' : 'copy'}`;
    return new AfXdpDevice(native, sock, {
      name: options.iface,
      queue,
      mac: Uint8Array.from(info.mac),
      mtu: info.mtu,
      frames,
      frameSize,
      needWakeup: options.needWakeup ?? true,
      program,
      mode,
    });
  } catch (e) {
    program?.detach();
    throw e;
  }
}

interface RingView {
  u32: Uint32Array;
  prod: number; // word index of the producer
  cons: number;
  flags: number;
  desc: number; // word index of desc[0]
  mask: number;
  size: number;
}

function ringView(r: NativeRing): RingView {
  return {
    u32: new Uint32Array(r.buffer),
    prod: r.producer >>> 2,
    cons: r.consumer >>> 2,
    flags: r.flags >>> 2,
    desc: r.desc >>> 2,
    mask: r.size - 1,
    size: r.size,
  };
}

interface DeviceInit {
  name: string;
  queue: number;
  mac: Uint8Array;
  mtu: number;
  frames: number;
  frameSize: number;
  needWakeup: boolean;
  program: XdpProgram | undefined;
  mode: string;
}

export class AfXdpDevice implements Device {
  readonly kind = 'afxdp' as const;
  readonly name: string;
  readonly queue: number;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly mode: string;
  readonly mem: Uint8Array;
  readonly view: DataView;
  readonly frameSize: number;
  readonly frameCount: number;
  readonly maxFrameLen: number;
  /** The socket's fd (for diagnostics). */
  readonly fd: number;
  /** Descriptors one kick sends. */
  readonly txBudget: number;
  /** The program this device attached itself (serve option), if any. */
  readonly program: XdpProgram | undefined;

  private readonly native: NativeBinding;
  private sock: NativeSocket | undefined;
  private readonly fill: RingView;
  private readonly comp: RingView;
  private readonly rx: RingView;
  private readonly tx: RingView;
  private readonly needWakeup: boolean;
  private readonly frameMask: number;
  // Our side's counters, published with Atomics.store.
  private fillProd = 0;
  private compCons = 0;
  private rxCons = 0;
  private txProd = 0;
  // Frames owned by no one (not in a ring, not handed out): a stack of frame bases.
  private readonly free: Uint32Array;
  private freeCount = 0;
  private readonly counters: DeviceStats = emptyStats();
  private readonly kernelStats = new Float64Array(6);

  constructor(native: NativeBinding, sock: NativeSocket, init: DeviceInit) {
    this.native = native;
    this.sock = sock;
    this.fd = sock.fd;
    this.txBudget = sock.txBudget;
    this.name = init.name;
    this.queue = init.queue;
    this.mac = init.mac;
    this.mtu = init.mtu;
    this.mode = init.mode;
    this.program = init.program;
    this.needWakeup = init.needWakeup;
    this.mem = new Uint8Array(sock.umem);
    this.view = new DataView(sock.umem);
    this.frameSize = init.frameSize;
    this.frameCount = init.frames;
    this.maxFrameLen = init.frameSize - XDP_HEADROOM;
    this.frameMask = ~(init.frameSize - 1);
    this.fill = ringView(sock.rings.fill);
    this.comp = ringView(sock.rings.comp);
    this.rx = ringView(sock.rings.rx);
    this.tx = ringView(sock.rings.tx);
    // The rings start at 0/0 on a new socket; read them anyway rather than assume.
    this.fillProd = Atomics.load(this.fill.u32, this.fill.prod);
    this.compCons = Atomics.load(this.comp.u32, this.comp.cons);
    this.rxCons = Atomics.load(this.rx.u32, this.rx.cons);
    this.txProd = Atomics.load(this.tx.u32, this.tx.prod);
    this.free = new Uint32Array(init.frames);
    for (let i = init.frames - 1; i >= 0; i--) this.free[this.freeCount++] = i * init.frameSize;
    // High words of u64 addresses and the options words are never written by the kernel
    // in these rings; zero them once so that only low words need writing per packet.
    this.fill.u32.fill(0, this.fill.desc, this.fill.desc + 2 * this.fill.size);
    this.tx.u32.fill(0, this.tx.desc, this.tx.desc + 4 * this.tx.size);
    this.refill();
  }

  receive(addrs: Uint32Array, lens: Uint32Array, max: number): number {
    const r = this.rx;
    const u32 = r.u32;
    const avail = (Atomics.load(u32, r.prod) - this.rxCons) >>> 0;
    const n = avail < max ? avail : max;
    let c = this.rxCons;
    for (let i = 0; i < n; i++) {
      const d = r.desc + ((c & r.mask) << 2);
      addrs[i] = u32[d]!;
      lens[i] = u32[d + 2]!;
      c = (c + 1) >>> 0;
    }
    if (n > 0) {
      this.rxCons = c;
      Atomics.store(u32, r.cons, c);
      this.counters.rxPackets += n;
    }
    return n;
  }

  allocate(addrs: Uint32Array, max: number): number {
    if (this.freeCount < max) this.reap();
    const n = this.freeCount < max ? this.freeCount : max;
    for (let i = 0; i < n; i++) addrs[i] = this.free[--this.freeCount]! + XDP_HEADROOM;
    return n;
  }

  transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number {
    const t = this.tx;
    const u32 = t.u32;
    const space = t.size - ((this.txProd - Atomics.load(u32, t.cons)) >>> 0);
    const n = count < space ? count : space;
    let p = this.txProd;
    for (let i = 0; i < n; i++) {
      const d = t.desc + ((p & t.mask) << 2);
      u32[d] = addrs[i]!;
      u32[d + 2] = lens[i]!;
      p = (p + 1) >>> 0;
    }
    if (n > 0) {
      this.txProd = p;
      Atomics.store(u32, t.prod, p);
      this.counters.txPackets += n;
    }
    return n;
  }

  release(addrs: Uint32Array, count: number, start = 0): void {
    const mask = this.frameMask;
    for (let i = start; i < start + count; i++) this.free[this.freeCount++] = (addrs[i]! & mask) >>> 0;
  }

  flush(): void {
    const t = this.tx;
    // Kick while the kernel has not taken everything (copy mode takes it inside sendto; a
    // kick cut short by the budget or a full completion ring leaves some for next time).
    if (this.txProd !== Atomics.load(t.u32, t.cons)) {
      if (!this.needWakeup || (Atomics.load(t.u32, t.flags) & RING_NEED_WAKEUP) !== 0) {
        this.counters.kicks++;
        if (this.native.xskKick(this.fd) !== 0) this.counters.kicksDeferred++;
      }
    }
    this.reap();
    this.refill();
  }

  wait(timeoutMs: number): boolean {
    if (this.rxAvailable() > 0) return true;
    const ev = this.native.xskWait(this.fd, timeoutMs, POLLIN);
    return (ev & POLLIN) !== 0 || this.rxAvailable() > 0;
  }

  /** Frames waiting in the RX ring. */
  rxAvailable(): number {
    return (Atomics.load(this.rx.u32, this.rx.prod) - this.rxCons) >>> 0;
  }

  /** Frames neither in a ring nor handed out. */
  get freeFrames(): number {
    return this.freeCount;
  }

  stats(out?: DeviceStats): DeviceStats {
    const s = copyStats(this.counters, out);
    if (this.sock) {
      const k = this.kernelStats;
      callNative(() => this.native.xskStats(this.fd, k));
      s.rxDropped = k[0]!;
      s.rxInvalidDescs = k[1]!;
      s.txInvalidDescs = k[2]!;
      s.rxRingFull = k[3]!;
      s.fillRingEmpty = k[4]!;
      s.txRingEmpty = k[5]!;
    }
    return s;
  }

  async close(): Promise<void> {
    const sock = this.sock;
    if (!sock) return;
    this.sock = undefined;
    callNative(() => this.native.xskClose(sock.handle));
    this.program?.detach();
    await sleep(XSK_RELEASE_SETTLE_MS);
  }

  // Completed transmissions back to the free list.
  private reap(): void {
    const r = this.comp;
    const u32 = r.u32;
    const prod = Atomics.load(u32, r.prod);
    let c = this.compCons;
    if (c === prod) return;
    const mask = this.frameMask;
    while (c !== prod) {
      this.free[this.freeCount++] = (u32[r.desc + ((c & r.mask) << 1)]! & mask) >>> 0;
      c = (c + 1) >>> 0;
    }
    this.compCons = c;
    Atomics.store(u32, r.cons, c);
  }

  // Free frames to the fill ring, as many as it takes.
  private refill(): void {
    const f = this.fill;
    const u32 = f.u32;
    const space = f.size - ((this.fillProd - Atomics.load(u32, f.cons)) >>> 0);
    const n = space < this.freeCount ? space : this.freeCount;
    if (n === 0) return;
    let p = this.fillProd;
    for (let i = 0; i < n; i++) {
      u32[f.desc + ((p & f.mask) << 1)] = this.free[--this.freeCount]!;
      p = (p + 1) >>> 0;
    }
    this.fillProd = p;
    Atomics.store(u32, f.prod, p);
    if (this.needWakeup && (Atomics.load(u32, f.flags) & RING_NEED_WAKEUP) !== 0) this.native.xskWakeRx(this.fd);
  }
}

/** Pins the calling thread (a worker pins itself) to one CPU. */
export function pinThread(cpu: number): void {
  const native = loadNative();
  callNative(() => native.pinCpu(cpu));
}

/**
 * Asks for transparent huge pages over a large table not yet written (see sys.c,
 * sys_advise_huge): the bytes advised, 0 where the kernel or the platform says no, or
 * where the native module cannot load (it is an optimization, never a requirement).
 */
export function adviseHugePages(bytes: Uint8Array): number {
  let native: ReturnType<typeof loadNative>;
  try {
    native = loadNative();
  } catch {
    return 0;
  }
  if (!native.supported || typeof native.adviseHugePages !== 'function') return 0;
  return native.adviseHugePages(bytes);
}

/** The CPU the calling thread runs on now. */
export function currentCpu(): number {
  return loadNative().currentCpu();
}

/** Interface facts (index, MAC, MTU, queue counts), looked up in a namespace if given. */
export function interfaceInfo(iface: string, netns?: string): { ifindex: number; mac: Uint8Array; mtu: number; rxQueues: number; txQueues: number } {
  const native = loadNative();
  const i = callNative(() => native.ifInfo(iface, netns));
  return { ifindex: i.ifindex, mac: Uint8Array.from(i.mac), mtu: i.mtu, rxQueues: i.rxQueues, txQueues: i.txQueues };
}

/** Concatenated wire bytes of the addresses, each `size` bytes (4 for IPv4, 16 for IPv6). */
export function addressBytes(addrs: readonly string[], size: 4 | 16): Uint8Array {
  const out = new Uint8Array(addrs.length * size);
  addrs.forEach((a, i) => out.set(size === 4 ? parseIPv4(a) : parseIPv6(a), i * size));
  return out;
}

export function parseIPv4(a: string): Uint8Array {
  if (!isIPv4(a)) throw usage(`not an IPv4 address: ${JSON.stringify(a)}`);
  return Uint8Array.from(a.split('.').map(Number));
}

export function parseIPv6(a: string): Uint8Array {
  if (!isIPv6(a)) throw usage(`not an IPv6 address: ${JSON.stringify(a)}`);
  // An embedded IPv4 tail (::ffff:198.18.0.1) becomes two hex groups first.
  const s = a.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, b0: string, b1: string, b2: string, b3: string) =>
    `${((+b0 << 8) | +b1).toString(16)}:${((+b2 << 8) | +b3).toString(16)}`,
  );
  const halves = s.split('::');
  const groups = (x: string | undefined): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const all = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  return out;
}
