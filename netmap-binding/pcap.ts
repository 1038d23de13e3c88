// Packet captures: a writer, a device wrapper that records what a device receives and
// transmits (frames sent through AF_XDP never pass tcpdump's hook), and a reader for replay.
//
// Classic libpcap format (what tcpdump -r, tshark and Wireshark read):
//
//   global header, 24 bytes                      record header, 16 bytes, then the bytes
//   ┌───────────┬───────┬───────┬────────┐       ┌────────┬─────────┬────────┬─────────┐
//   │ magic     │ 2 │ 4 │ 0 │ 0 │snaplen │ link  │ ts sec │ ts µsec │ caplen │ origlen │
//   │ a1b2c3d4  │ver maj/min    │        │ type 1│        │         │        │         │
//   └───────────┴───────┴───────┴────────┘       └────────┴─────────┴────────┴─────────┘
//   (written little-endian; the reader takes either byte order, µs or ns timestamps)

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { BindingError } from './errors.js';
import { DeviceWrapper, type Device } from './device.js';
import type { PipeDevice } from './pipe.js';

export const LINKTYPE_ETHERNET = 1;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const BUFFER_BYTES = 1 << 20;

export interface PcapWriterOptions {
  snaplen?: number;
  linktype?: number;
}

/** Appends records to a file through one preallocated buffer. */
export class PcapWriter {
  readonly path: string;
  readonly snaplen: number;
  private fd: number;
  private readonly buf = Buffer.alloc(BUFFER_BYTES);
  private used = 0;

  constructor(path: string, options: PcapWriterOptions = {}) {
    this.path = path;
    this.snaplen = options.snaplen ?? 65535;
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new BindingError('APPL_ERR_CAPTURE', `cannot write capture ${path}: ${(e as Error).message}`, { cause: e });
    }
    const b = this.buf;
    b.writeUInt32LE(MAGIC_US, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeInt32LE(0, 8);
    b.writeUInt32LE(0, 12);
    b.writeUInt32LE(this.snaplen, 16);
    b.writeUInt32LE(options.linktype ?? LINKTYPE_ETHERNET, 20);
    this.used = GLOBAL_HEADER_LEN;
  }

  /** Records bytes[off, off + len) taken at timeMs (milliseconds since the epoch, fractional). */
  write(bytes: Uint8Array, off: number, len: number, timeMs: number): void {
    if (this.fd < 0) return;
    const cap = len < this.snaplen ? len : this.snaplen;
    if (this.used + RECORD_HEADER_LEN + cap > BUFFER_BYTES) this.flush();
    const b = this.buf;
    const sec = Math.floor(timeMs / 1000);
    const usec = Math.floor((timeMs - sec * 1000) * 1000);
    let o = this.used;
    b.writeUInt32LE(sec >>> 0, o);
    b.writeUInt32LE(usec, o + 4);
    b.writeUInt32LE(cap, o + 8);
    b.writeUInt32LE(len, o + 12);
    o += RECORD_HEADER_LEN;
    b.set(bytes.subarray(off, off + cap), o);
    this.used = o + cap;
  }

  flush(): void {
    if (this.fd < 0 || this.used === 0) return;
    let done = 0;
    try {
      while (done < this.used) done += writeSync(this.fd, this.buf, done, this.used - done);
    } catch (e) {
      throw new BindingError('APPL_ERR_CAPTURE', `cannot write capture ${this.path}: ${(e as Error).message}`, { cause: e });
    } finally {
      this.used = 0;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

export interface CaptureOptions {
  /** Record received frames. Default true. */
  rx?: boolean;
  /** Record transmitted frames. Default true. */
  tx?: boolean;
  /** The clock, in ms since the epoch; read once per batch. Default Date.now. */
  now?: () => number;
  /** Record one batch in `every` (each receive() and transmit() call is a batch). Default 1: all. */
  every?: number;
  /** Stop recording after this many frames. Default: no limit. */
  limit?: number;
}

/**
 * A device that records the frames of another. Frames are recorded when they change hands:
 * on receive() as they arrived, on transmit() as they will leave. Costs a copy per frame:
 * for operators' debugging, not for benchmarks.
 */
export class CaptureDevice extends DeviceWrapper {
  readonly writer: PcapWriter;
  private readonly rx: boolean;
  private readonly tx: boolean;
  private readonly now: () => number;
  private readonly every: number;
  private left: number;
  private calls = 0;

  constructor(inner: Device, writer: PcapWriter, options: CaptureOptions = {}) {
    super(inner, 'pcap');
    this.writer = writer;
    this.rx = options.rx ?? true;
    this.tx = options.tx ?? true;
    this.now = options.now ?? Date.now;
    this.every = Math.max(1, options.every ?? 1);
    this.left = options.limit ?? Infinity;
  }

  /** Is this batch sampled? (Counts the calls; `every` 1 records them all.) */
  private sample(n: number): boolean {
    if (n === 0 || this.left <= 0) return false;
    return this.every === 1 || ++this.calls % this.every === 0;
  }

  private record(addrs: Uint32Array, lens: Uint32Array, n: number): void {
    const t = this.now();
    const mem = this.inner.mem;
    const k = Math.min(n, this.left);
    for (let i = 0; i < k; i++) this.writer.write(mem, addrs[i]!, lens[i]!, t);
    this.left -= k;
  }

  override receive(addrs: Uint32Array, lens: Uint32Array, max: number): number {
    const n = this.inner.receive(addrs, lens, max);
    if (this.rx && this.sample(n)) this.record(addrs, lens, n);
    return n;
  }

  override transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number {
    // Recorded once queued, before flush(): until the completion is reaped the frame's
    // bytes stay as they are.
    const n = this.inner.transmit(addrs, lens, count);
    if (this.tx && this.sample(n)) this.record(addrs, lens, n);
    return n;
  }

  override wait(timeoutMs: number): boolean {
    this.writer.flush();
    return this.inner.wait(timeoutMs);
  }

  override async close(): Promise<void> {
    this.writer.close();
    await this.inner.close();
  }
}

export interface PcapRecord {
  /** Milliseconds since the epoch (fractional). */
  timeMs: number;
  /** Length on the wire (may exceed data.length when the capture was cut at snaplen). */
  origLen: number;
  data: Uint8Array;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  records: PcapRecord[];
}

/** Reads a classic pcap file (either byte order, µs or ns timestamps). */
export function readPcap(source: string | Uint8Array): PcapFile {
  const name = typeof source === 'string' ? source : '<buffer>';
  const raw = typeof source === 'string' ? readFileSync(source) : source;
  // Plain Uint8Array records (a Buffer's slice would be a Buffer).
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const bad = (why: string): never => {
    throw new BindingError('APPL_ERR_USAGE', `${name}: not a readable pcap file: ${why}`);
  };
  if (bytes.length < GLOBAL_HEADER_LEN) bad('shorter than the 24-byte header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  let nano: boolean;
  const m = dv.getUint32(0, true);
  if (m === MAGIC_US || m === MAGIC_NS) [le, nano] = [true, m === MAGIC_NS];
  else {
    const mb = dv.getUint32(0, false);
    if (mb === MAGIC_US || mb === MAGIC_NS) [le, nano] = [false, mb === MAGIC_NS];
    else return bad(`magic 0x${m.toString(16)} (pcapng is not supported; convert with editcap -F pcap)`);
  }
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le);
  const records: PcapRecord[] = [];
  let o = GLOBAL_HEADER_LEN;
  while (o + RECORD_HEADER_LEN <= bytes.length) {
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const cap = dv.getUint32(o + 8, le);
    const orig = dv.getUint32(o + 12, le);
    o += RECORD_HEADER_LEN;
    if (o + cap > bytes.length) bad(`record ${records.length} is cut short`);
    records.push({ timeMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), origLen: orig, data: bytes.slice(o, o + cap) });
    o += cap;
  }
  if (o !== bytes.length) bad(`${bytes.length - o} stray bytes at the end`);
  return { linktype, snaplen, records };
}

/** Injects every record into a pipe end's RX ring, as many as fit; returns how many went in. */
export function replay(records: readonly PcapRecord[], into: PipeDevice): number {
  let n = 0;
  for (const r of records) if (into.inject(r.data)) n++;
  return n;
}
