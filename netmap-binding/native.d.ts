// The shape of the native module netmap_binding.node (netmap-binding/src/*.c), declared
// once. Nothing here is called per packet: JS moves the ring indices itself.
//
// Every function throws an Error with `code` (an APPL_ERR_XDP_* code), `syscall`, `errno`
// and `errnoName` when a system call fails; loader.ts turns it into an XdpError.

/** Where the fields of one mapped ring live, in bytes from the start of `buffer`. */
export interface NativeRing {
  readonly buffer: ArrayBuffer;
  readonly producer: number;
  readonly consumer: number;
  readonly flags: number;
  readonly desc: number;
  readonly size: number;
}

export interface NativeSocket {
  /** Opaque; pass to xskClose. */
  readonly handle: object;
  readonly fd: number;
  readonly ifindex: number;
  readonly umem: ArrayBuffer;
  readonly zerocopy: boolean;
  /** Descriptors one kick may transmit (XDP_MAX_TX_SKB_BUDGET, or the kernel's 32). */
  readonly txBudget: number;
  readonly rings: { readonly fill: NativeRing; readonly comp: NativeRing; readonly rx: NativeRing; readonly tx: NativeRing };
}

export interface NativeOpenOptions {
  ifname: string;
  netns?: string;
  queue: number;
  frames: number;
  frameSize: number;
  fillSize: number;
  compSize: number;
  rxSize: number;
  txSize: number;
  xskMapFd?: number;
  txBudget?: number;
  /** 0 auto, 1 copy, 2 zero-copy. */
  copyMode?: number;
  needWakeup?: boolean;
  busyWaitMs?: number;
  /** Tests only: the address family passed to socket(), to reach the "no AF_XDP" path. */
  socketFamily?: number;
}

export interface NativeAttachOptions {
  ifname: string;
  netns?: string;
  /** 0 auto (native, else generic), 1 native only, 2 generic only. */
  mode?: number;
  maxQueues?: number;
  ipv4?: Uint8Array;
  ipv6?: Uint8Array;
  /** Of those, the addresses only the appliance has: all TCP to them goes to the sockets. */
  ipv4Exclusive?: Uint8Array;
  ipv6Exclusive?: Uint8Array;
  udpPorts?: number[];
  tcpPorts?: number[];
}

export interface NativeAttachment {
  readonly linkFd: number;
  readonly progFd: number;
  readonly xskMapFd: number;
  readonly ipv4MapFd: number;
  readonly ipv6MapFd: number;
  readonly portMapFd: number;
  readonly ifindex: number;
  readonly mode: 'native' | 'generic';
}

export interface NativeIfInfo {
  readonly ifindex: number;
  readonly mac: number[];
  readonly mtu: number;
  /** 0 when the driver does not report its channels. */
  readonly rxQueues: number;
  readonly txQueues: number;
}

export interface NativeBinding {
  readonly supported: boolean;
  ifInfo(name: string, netns?: string): NativeIfInfo;
  pinCpu(cpu: number): void;
  currentCpu(): number;
  /** madvise(MADV_HUGEPAGE) over the 2 MiB-aligned part of the bytes; how many bytes were advised (0: refused). */
  adviseHugePages(bytes: Uint8Array): number;
  closeFd(fd: number): void;
  xdpAttach(options: NativeAttachOptions): NativeAttachment;
  xskOpen(options: NativeOpenOptions): NativeSocket;
  xskClose(handle: object): void;
  /** 0, or an errno meaning "try again on the next batch" (EAGAIN, EBUSY, ENOBUFS, ENETDOWN). */
  xskKick(fd: number): number;
  xskWakeRx(fd: number): void;
  /** poll(2): returns revents, 0 on timeout. */
  xskWait(fd: number, timeoutMs: number, events: number): number;
  xskStats(fd: number, out: Float64Array): void;
  /** A UDP socket bound to addr (4 or 16 bytes) and port (0: any), non-blocking, SO_REUSEPORT when asked. */
  udpOpen(addr: Uint8Array, port: number, reusePort: boolean): { fd: number; port: number };
  /** recvmmsg(2) into the batch (see src/udp.c): datagrams received, 0 when none came within timeoutMs. */
  udpRecv(fd: number, bufs: Uint8Array, slotSize: number, lens: Uint32Array, names: Uint8Array, max: number, timeoutMs: number): number;
  /** sendmmsg(2) of the slots whose lens are not 0: answers sent; result: [sent, refused, times the send buffer was full]. */
  udpSend(fd: number, bufs: Uint8Array, slotSize: number, lens: Uint32Array, names: Uint8Array, count: number, result: Uint32Array): number;
}
