// The access and query logs' records, on their way from the serving loop to a file. A
// fused worker never writes a file: it puts a record into its own ring (a few bytes copied,
// no string made), and the supervisor takes the records out a few times a second, formats
// them and appends them to the log. When the ring is full the record is counted as lost,
// never waited for. The socket backend uses the same ring inside its one process.
//
// The ring (a SharedArrayBuffer between a worker and the supervisor):
//
//   Int32 [0] records put (the worker's)   [1] records taken (the supervisor's)   [2..3] 0
//   then SLOTS slots of SLOT_BYTES, record i in slot i % SLOTS:
//
//   0  u16 length of the bytes at 48     2  u8 kind (ACCESS, QUERY)   3  u8 family (4, 6)
//   4  u16 peer port                     6  u16 status (HTTP) / transport (DNS: 0 UDP, 1 TCP)
//   8  f64 time (ms since the epoch)    16  f64 body bytes (HTTP) / answer bytes (DNS)
//  24  16 bytes peer address (IPv4 in the first 4)   40  u32 request bytes (HTTP)  44 0
//  48  the bytes: the request head (HTTP, cut at the slot's end), the answer's header and
//      question (DNS)

import { parseAddress } from './dns/rrl.js';

export const SLOT_BYTES = 512;
export const SLOTS = 4096;
const HEADER = 16;
const FIXED = 48;
/** The bytes a record keeps at most. */
export const RECORD_BYTES = SLOT_BYTES - FIXED;

export const KIND_ACCESS = 1;
export const KIND_QUERY = 2;
export const TRANSPORT_UDP = 0;
export const TRANSPORT_TCP = 1;

/** Bytes of a ring's shared memory. */
export const RING_BYTES = HEADER + SLOTS * SLOT_BYTES;

/** A decoded record (the supervisor's side). */
export interface LogRecord {
  kind: number;
  family: number;
  port: number;
  /** HTTP: the status; DNS: the transport. */
  code: number;
  time: number;
  /** HTTP: body bytes; DNS: the answer's length. */
  size: number;
  /** The address in text. */
  addr: string;
  /** The head (HTTP) or the start of the answer (DNS). */
  bytes: Uint8Array;
}

export class LogRing {
  private readonly words: Int32Array;
  private readonly mem: Uint8Array;
  private readonly view: DataView;
  /** Records put, and lost to a full ring (the writer's counts). */
  put = 0;
  lost = 0;

  constructor(readonly shared: SharedArrayBuffer | ArrayBuffer = new SharedArrayBuffer(RING_BYTES)) {
    this.words = new Int32Array(shared, 0, 4);
    this.mem = new Uint8Array(shared);
    this.view = new DataView(shared);
  }

  /**
   * Starts a record: its slot's offset, or -1 when the ring is full (counted lost). The
   * caller fills it (fixed fields through `fixed`, bytes from the returned offset + 48) and
   * ends it with commit().
   */
  private begin(): number {
    const w = this.words[0]!;
    if (((w - Atomics.load(this.words, 1)) | 0) >= SLOTS) {
      this.lost++;
      return -1;
    }
    return HEADER + (w & (SLOTS - 1)) * SLOT_BYTES;
  }

  private commit(): void {
    Atomics.store(this.words, 0, (this.words[0]! + 1) | 0);
    this.put++;
  }

  private fixed(at: number, kind: number, family: number, port: number, code: number, time: number, size: number, n: number): void {
    const v = this.view;
    v.setUint16(at, n, true);
    this.mem[at + 2] = kind;
    this.mem[at + 3] = family;
    v.setUint16(at + 4, port, true);
    v.setUint16(at + 6, code, true);
    v.setFloat64(at + 8, time, true);
    v.setFloat64(at + 16, size, true);
  }

  /** An answered HTTP request: its head's bytes head[off, off+len), from the peer whose address is at addr[addrAt..]. */
  access(family: number, addr: Uint8Array, addrAt: number, port: number, status: number, bodyBytes: number, time: number,
    head: Uint8Array, off: number, len: number): void {
    const at = this.begin();
    if (at < 0) return;
    const n = Math.min(len, RECORD_BYTES);
    this.fixed(at, KIND_ACCESS, family, port, status, time, bodyBytes, n);
    this.address(at, family, addr, addrAt);
    this.view.setUint32(at + 40, len, true);
    this.mem.set(head.subarray(off, off + n), at + FIXED);
    this.commit();
  }

  /** A DNS answer ans[off, off+len) (its header and question are kept), to the peer at addr[addrAt..]. */
  query(family: number, addr: Uint8Array, addrAt: number, port: number, transport: number, time: number,
    ans: Uint8Array, off: number, len: number): void {
    const at = this.begin();
    if (at < 0) return;
    const n = Math.min(len, RECORD_BYTES);
    this.fixed(at, KIND_QUERY, family, port, transport, time, len, n);
    this.address(at, family, addr, addrAt);
    this.mem.set(ans.subarray(off, off + n), at + FIXED);
    this.commit();
  }

  private address(at: number, family: number, addr: Uint8Array, addrAt: number): void {
    const n = family === 4 ? 4 : 16;
    for (let i = 0; i < 16; i++) this.mem[at + 24 + i] = i < n ? addr[addrAt + i]! : 0;
  }

  /** The supervisor's side: every record put since the last call, oldest first. */
  take(each: (r: LogRecord) => void): number {
    const w = Atomics.load(this.words, 0);
    let r = this.words[1]!;
    let n = 0;
    while (r !== w) {
      const at = HEADER + (r & (SLOTS - 1)) * SLOT_BYTES;
      const v = this.view;
      const family = this.mem[at + 3]!;
      each({
        kind: this.mem[at + 2]!,
        family,
        port: v.getUint16(at + 4, true),
        code: v.getUint16(at + 6, true),
        time: v.getFloat64(at + 8, true),
        size: v.getFloat64(at + 16, true),
        addr: addressText(this.mem, at + 24, family),
        bytes: this.mem.slice(at + FIXED, at + FIXED + v.getUint16(at, true)),
      });
      r = (r + 1) | 0;
      n++;
    }
    Atomics.store(this.words, 1, r);
    return n;
  }
}

/**
 * A peer's address as Node gives it (text) into out[0..16): 4 bytes for IPv4 (IPv4-mapped
 * included), 16 for IPv6; returns the family, or 0 when there is none. RRL's parser
 * (dns/rrl.ts parseAddress), which allocates nothing.
 */
export function addressBytes(text: string | undefined, out: Uint8Array): number {
  out.fill(0);
  return text === undefined ? 0 : parseAddress(text, out, 0);
}

/** An address from its bytes (4 for IPv4, 16 for IPv6), as text (RFC 5952 for IPv6). */
export function addressText(b: Uint8Array, at: number, family: number): string {
  if (family === 4) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[at + i]! << 8) | b[at + i + 1]!).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** One call in 1/rate says yes, at random (xorshift32: no allocation, no Math.random). */
export class Sampler {
  private state: number;
  private readonly threshold: number;

  constructor(readonly rate: number, seed = 0x9e3779b9) {
    this.state = seed | 1;
    this.threshold = Math.floor(Math.max(0, Math.min(1, rate)) * 0xffffffff);
  }

  take(): boolean {
    if (this.rate >= 1) return true;
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return (x >>> 0) < this.threshold;
  }
}

/** The query log of a serving loop: sampled DNS answers into its ring, with the wall-clock time. */
export class QueryLog {
  private readonly sampler: Sampler;
  private readonly addr = new Uint8Array(16);

  /** `wallOffsetMs`: what turns the loop's clock (performance.now()) into the wall clock. */
  constructor(readonly ring: LogRing, rate: number, private readonly wallOffsetMs: number) {
    this.sampler = new Sampler(rate);
  }

  /** A UDP answer at mem[at, at+n); its UDP header just before it, the client's address at mem[srcAt..]. */
  udp(family: number, mem: Uint8Array, srcAt: number, at: number, n: number, now: number): void {
    if (!this.sampler.take()) return;
    const port = (mem[at - 8]! << 8) | mem[at - 7]!;
    this.ring.query(family, mem, srcAt, port, TRANSPORT_UDP, now + this.wallOffsetMs, mem, at, n);
  }

  /** A UDP answer buf[off, off+len) to the peer at addr[addrAt..]:port (the socket backend's: no frame around it). */
  udpFrom(family: number, addr: Uint8Array, addrAt: number, port: number, buf: Uint8Array, off: number, len: number, now: number): void {
    if (!this.sampler.take()) return;
    this.ring.query(family, addr, addrAt, port, TRANSPORT_UDP, now + this.wallOffsetMs, buf, off, len);
  }

  /**
   * udpFrom() or tcp() for a peer whose address is text (the socket backend's, from Node):
   * the text is parsed only for the queries the sample takes. `transport`: this file's
   * TRANSPORT_UDP or TRANSPORT_TCP.
   */
  fromText(transport: number, address: string | undefined, port: number, buf: Uint8Array, off: number, len: number, now: number): void {
    if (!this.sampler.take()) return;
    const family = addressBytes(address, this.addr);
    this.ring.query(family, this.addr, 0, port, transport, now + this.wallOffsetMs, buf, off, len);
  }

  /** A TCP answer buf[off, off+len) (without its length field), to the peer at addr[addrAt..]:port. */
  tcp(family: number, addr: Uint8Array, addrAt: number, port: number, buf: Uint8Array, off: number, len: number, now: number): void {
    if (!this.sampler.take()) return;
    this.ring.query(family, addr, addrAt, port, TRANSPORT_TCP, now + this.wallOffsetMs, buf, off, len);
  }
}
