// A rig for the fused TCP: the stack on one end of the pipe (through the real loop body),
// the test playing a TCP peer on the other, with segments given relative to the two ISNs
// (docs/TCP-DESIGN.md "Tests, one shape per layer"): send(seg), step() → what came back,
// advance(ms). The server's ISS is fixed just below 2^32 and the peer's too, so every test
// crosses the wrap.
//
// Every segment the stack emits goes through the invariant checker (test/helpers/packets.ts:
// checksums recomputed the slow way, addresses and ports mirrored, no data on RST, ACK set)
// and through the rig's own checks: data no longer than the MSS the peer announced and
// within the window it last advertised (a one-byte probe aside), acknowledgments never
// beyond what the peer sent nor going backwards, and retransmitted bytes identical to the
// first transmission at the same sequence number. After every step the TCP's table
// invariants must hold.

import type { ExecutionContext } from 'ava';
import { Rig, type ZonesImage } from '../../helpers/rig.js';
import {
  be16, be32, CLIENT4, CLIENT6, CLIENT_MAC, concat, ETH_IPV4, ETH_IPV6, ethernet, ipv4, ipv6, layers, tcp, US4, US6,
} from '../../../../helpers/packets.js';
import { receiveFrames, sendFrames } from '../../../../../netmap-binding/device-util.js';
import { TCP_BASE } from '../../../../../appliance/stack/counters.js';
import { TCP_COUNTER_NAMES } from '../../../../../appliance/stack/tcp/counters.js';

export const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

/** The server's ISS in these tests: 48 sequence numbers below the wrap. */
export const SERVER_ISS = 0xffffffd0;
/** The peer's ISN: 20 below the wrap. */
export const CLIENT_ISS = 0xffffffec;

export interface Seg {
  /** Relative to the server's ISS (0 = its SYN). */
  seq: number;
  /** Relative to the peer's ISN (1 = its first byte). */
  ack: number;
  flags: number;
  window: number;
  data: Uint8Array;
  mss: number;
  wscale: number;
  sackOk: boolean;
  frame: Uint8Array;
}

export interface SendSeg {
  flags: number;
  /** Relative to the peer's ISN; default: the next byte the peer would send. */
  seq?: number;
  /** Relative to the server's ISS; default: everything received so far. */
  ack?: number;
  window?: number;
  data?: Uint8Array;
  options?: Uint8Array;
  checksum?: number;
}

export interface TcpRigOptions {
  v6?: boolean;
  port?: number;
  cport?: number;
  /** The peer's MSS (default 1460) and window (default 65535) it announces. */
  mss?: number;
  window?: number;
  tcpConnections?: number;
  idleTimeoutMs?: number;
  messageTimeoutMs?: number;
}

const flagNames = (f: number): string => ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => f & (1 << i)).join('|') || '-';

export class TcpRig {
  readonly rig: Rig;
  readonly v6: boolean;
  readonly port: number;
  cport: number;
  /** The peer's next sequence number (relative). */
  next = 0;
  /** What the peer has received in order from the server (relative seq of the next byte). */
  received = 1;
  /** The bytes the server sent, by relative sequence number (for the retransmission check), and which were seen. */
  private sentBytes = new Uint8Array(1 << 16);
  private sentSeen = new Uint8Array(1 << 16);
  /** The in-order stream the peer has received. */
  stream: number[] = [];
  private readonly outOfOrder = new Map<number, Uint8Array>();
  mss: number;
  window: number;
  /** The highest acknowledgment the server sent (relative), for the monotonicity check. */
  private lastAck = 0;
  /** The peer's last acknowledgment of server data (relative), and the window it gave with it (scaled). */
  private peerAck = 0;
  private peerWindow: number;
  /** The window shift the peer's SYN announced (applied when the SYN-ACK answered with one). */
  private peerShift = -1;
  private shift = 0;
  readonly problems: string[] = [];
  log: string[] = [];
  /** The server's ISS for this connection (SERVER_ISS, or a cookie's), learnt from its SYN-ACK. */
  iss = SERVER_ISS;
  /** Segments from the server the peer never sees when this says so (a loss on the way). */
  lose: ((s: Seg) => boolean) | null = null;
  /** The segments lost that way. */
  readonly lost: Seg[] = [];
  /**
   * Check each segment against the one connection the rig models (acks, windows, MSS,
   * retransmitted bytes, ports). Off for tests that mix many 4-tuples through one rig
   * (the frame checker and the table invariants still run).
   */
  modelChecks = true;

  constructor(image: ZonesImage, o: TcpRigOptions = {}) {
    this.rig = new Rig(image, { tcpConnections: o.tcpConnections ?? 16, testIss: SERVER_ISS, idleTimeoutMs: o.idleTimeoutMs, messageTimeoutMs: o.messageTimeoutMs });
    this.v6 = o.v6 ?? false;
    this.port = o.port ?? 53;
    this.cport = o.cport ?? 40001;
    this.mss = o.mss ?? 1460;
    this.window = o.window ?? 65535;
    this.peerWindow = this.window;
  }

  get tcp() {
    return this.rig.stack.tcp!;
  }

  /** The slot of the rig's connection, or -1. */
  slot(): number {
    const t = this.tcp.table;
    if (!this.v6) return t.find4(((198 << 24) | (18 << 16) | 1) >>> 0, this.cport, this.port, 0);
    return t.find6(CLIENT6, 0, this.cport, this.port, 0);
  }

  /** A frame from the peer: seq relative to its ISN, ack relative to the server's ISS. */
  frame(s: SendSeg): Uint8Array {
    const seq = (CLIENT_ISS + (s.seq ?? this.next)) >>> 0;
    const ack = s.flags & ACK ? (this.iss + (s.ack ?? this.received)) >>> 0 : 0;
    const src = this.v6 ? CLIENT6 : CLIENT4, dst = this.v6 ? US6 : US4;
    const seg = tcp(src, dst, { sport: this.cport, dport: this.port, seq, ack, flags: s.flags, window: s.window ?? this.window, options: s.options, checksum: s.checksum }, s.data);
    return this.v6 ? ethernet(ETH_IPV6, ipv6(6, seg, { src, dst })) : ethernet(ETH_IPV4, ipv4(6, seg, { src, dst }));
  }

  /** Sends a segment (the peer's sequence number moves on by what it carries) and runs the loop. */
  send(s: SendSeg): Seg[] {
    const f = this.frame(s);
    const len = (s.data?.length ?? 0) + (s.flags & SYN ? 1 : 0) + (s.flags & FIN ? 1 : 0);
    const start = s.seq ?? this.next;
    if (((start + len - this.next) | 0) > 0) this.next = (start + len) >>> 0;
    if (s.flags & SYN && s.options) {
      for (let o = 0; o < s.options.length;) {
        const k = s.options[o]!;
        if (k === 0) break;
        if (k === 1) { o++; continue; }
        if (k === 3) this.peerShift = s.options[o + 2]!;
        o += Math.max(2, s.options[o + 1] ?? 2);
      }
    }
    if (s.flags & ACK) {
      this.peerAck = s.ack ?? this.received;
      this.peerWindow = (s.window ?? this.window) * 2 ** this.shift;
    }
    this.log.push(`→ ${flagNames(s.flags)} seq=${s.seq ?? this.next - len} ack=${s.flags & ACK ? (s.ack ?? this.received) : '-'} len=${s.data?.length ?? 0}`);
    if (sendFrames(this.rig.client, [f]) !== 1) throw new Error('the pipe refused the frame');
    return this.step();
  }

  /** Runs the loop (no new frame) and returns what the stack sent. */
  step(): Seg[] {
    this.rig.run();
    return this.collect();
  }

  /** Moves the clock on and returns what the stack sent as timers fired. */
  advance(ms: number): Seg[] {
    this.rig.advance(ms);
    return this.collect();
  }

  /** Moves the clock in steps of `stepMs` up to `ms`, collecting everything. */
  advanceBy(ms: number, stepMs = 10): Seg[] {
    const out: Seg[] = [];
    for (let t = 0; t < ms; t += stepMs) out.push(...this.advance(stepMs));
    return out;
  }

  private collect(): Seg[] {
    const out: Seg[] = [];
    for (const f of receiveFrames(this.rig.client)) {
      const p = this.rig.problems(f);
      for (const x of p) this.problems.push(`frame: ${x}`);
      const seg = this.parse(f);
      if (seg === null) continue;
      if (this.lose?.(seg)) {
        this.lost.push(seg);
        this.log.push(`✗ lost seq=${seg.seq} len=${seg.data.length}`);
        continue;
      }
      if (this.modelChecks) this.check(seg);
      this.log.push(`← ${flagNames(seg.flags)} seq=${seg.seq} ack=${seg.ack} len=${seg.data.length} win=${seg.window}`);
      out.push(seg);
    }
    for (const x of this.tcp.checkInvariants()) this.problems.push(`table: ${x}`);
    return out;
  }

  private parse(f: Uint8Array): Seg | null {
    const { l3, type } = layers(f);
    if (type !== (this.v6 ? ETH_IPV6 : ETH_IPV4)) return null;
    const l4 = l3 + (this.v6 ? 40 : 20);
    const end = this.v6 ? l3 + 40 + be16(f, l3 + 4) : l3 + be16(f, l3 + 2);
    if ((this.v6 ? f[l3 + 6] : f[l3 + 9]) !== 6) return null;
    const hl = (f[l4 + 12]! >> 4) * 4;
    if ((f[l4 + 13]! & (SYN | ACK)) === (SYN | ACK)) {
      this.iss = be32(f, l4 + 4);
      // Window scale is on when both SYNs carried it (RFC 7323 §2.2).
      let hasWs = false;
      for (let o = l4 + 20; o < l4 + hl;) {
        const k = f[o]!;
        if (k === 0) break;
        if (k === 1) { o++; continue; }
        if (k === 3) hasWs = true;
        o += Math.max(2, f[o + 1]!);
      }
      this.shift = hasWs && this.peerShift >= 0 ? this.peerShift : 0;
    }
    const seg: Seg = {
      seq: (be32(f, l4 + 4) - this.iss) >>> 0,
      ack: (be32(f, l4 + 8) - CLIENT_ISS) >>> 0,
      flags: f[l4 + 13]! & 0x3f,
      window: be16(f, l4 + 14),
      data: f.slice(l4 + hl, end),
      mss: 0, wscale: -1, sackOk: false,
      frame: f,
    };
    for (let o = l4 + 20; o < l4 + hl;) {
      const k = f[o]!;
      if (k === 0) break;
      if (k === 1) { o++; continue; }
      const l = f[o + 1]!;
      if (k === 2) seg.mss = be16(f, o + 2);
      if (k === 3) seg.wscale = f[o + 2]!;
      if (k === 4) seg.sackOk = true;
      o += Math.max(2, l);
    }
    if (this.modelChecks && (be16(f, l4) !== this.port || be16(f, l4 + 2) !== this.cport)) this.problems.push(`ports ${be16(f, l4)}→${be16(f, l4 + 2)}`);
    if (!f.subarray(0, 6).every((b, i) => b === CLIENT_MAC[i])) this.problems.push('not to the peer\'s MAC');
    return seg;
  }

  private check(s: Seg): void {
    const rst = (s.flags & RST) !== 0;
    if (!rst && s.flags & ACK) {
      if (((s.ack - this.next) | 0) > 0) this.problems.push(`ack ${s.ack} beyond what the peer sent (${this.next})`);
      if (((s.ack - this.lastAck) | 0) < 0 && !(s.flags & SYN)) this.problems.push(`ack went back from ${this.lastAck} to ${s.ack}`);
      this.lastAck = s.ack;
    }
    if (s.data.length > 0) {
      if (s.data.length > this.mss) this.problems.push(`${s.data.length} bytes > MSS ${this.mss}`);
      const end = (s.seq + s.data.length) >>> 0;
      const limit = (this.peerAck + this.peerWindow) >>> 0;
      if (((end - limit) | 0) > 0 && !(this.peerWindow === 0 && s.data.length === 1)) {
        this.problems.push(`data to ${end} beyond the window (ack ${this.peerAck} + ${this.peerWindow})`);
      }
      const top = s.seq + s.data.length;
      if (top > this.sentBytes.length && top < 1 << 28) {
        let n = this.sentBytes.length;
        while (n < top) n *= 2;
        const b = new Uint8Array(n), v = new Uint8Array(n);
        b.set(this.sentBytes);
        v.set(this.sentSeen);
        this.sentBytes = b;
        this.sentSeen = v;
      }
      if (top <= this.sentBytes.length) {
        for (let i = 0; i < s.data.length; i++) {
          const q = s.seq + i;
          if (this.sentSeen[q] === 1 && this.sentBytes[q] !== s.data[i]) {
            this.problems.push(`byte at ${q} was ${this.sentBytes[q]}, sent again as ${s.data[i]}`);
            break;
          }
          this.sentBytes[q] = s.data[i]!;
          this.sentSeen[q] = 1;
        }
      }
      // The peer's receive side: in order, or kept until the hole fills.
      if (s.seq === this.received) {
        this.take(s.data);
        for (let d = this.outOfOrder.get(this.received); d; d = this.outOfOrder.get(this.received)) {
          this.outOfOrder.delete(this.received - d.length);
          this.take(d);
        }
      } else if (((s.seq - this.received) | 0) > 0) {
        this.outOfOrder.set(s.seq, s.data);
      } else if (((s.seq + s.data.length - this.received) | 0) > 0) {
        this.take(s.data.subarray((this.received - s.seq) >>> 0));
      }
    }
    // A FIN right behind the last byte received takes one sequence number.
    if (s.flags & FIN && ((s.seq + s.data.length) >>> 0) === this.received) this.received = (this.received + 1) >>> 0;
  }

  private take(d: Uint8Array): void {
    for (let i = 0; i < d.length; i++) this.stream.push(d[i]!);
    this.received = (this.received + d.length) >>> 0;
  }

  // ── factories ───────────────────────────────────────────────────────────────────────

  /** MSS, window scale (shift 7), SACK-permitted, as Linux sends them (no timestamps). */
  synOptions(o: { mss?: number; wscale?: number | null; sack?: boolean } = {}): Uint8Array {
    const parts = [Uint8Array.of(2, 4, ((o.mss ?? this.mss) >> 8) & 0xff, (o.mss ?? this.mss) & 0xff)];
    if (o.sack !== false) parts.push(Uint8Array.of(1, 1, 4, 2));
    if (o.wscale !== null) parts.push(Uint8Array.of(1, 3, 3, o.wscale ?? 7));
    return concat(...parts);
  }

  /** The peer's view of a new connection (a test may open several, on other ports). */
  private fresh(): void {
    this.next = 0;
    this.received = 1;
    this.lastAck = 0;
    this.peerAck = 0;
    this.peerWindow = this.window;
    this.sentSeen.fill(0);
    this.outOfOrder.clear();
    this.stream = [];
    this.iss = SERVER_ISS;
  }

  /** SYN → SYN-ACK; returns the SYN-ACK. */
  syn(options = this.synOptions()): Seg {
    this.fresh();
    const r = this.send({ flags: SYN, options });
    const sa = r.find((s) => s.flags === (SYN | ACK));
    if (!sa) throw new Error(`no SYN-ACK: ${this.log.join('\n')}`);
    return sa;
  }

  /** A connection in ESTABLISHED (SYN, SYN-ACK, ACK). */
  established(options?: Uint8Array): Seg {
    const sa = this.syn(options);
    const r = this.send({ flags: ACK });
    if (r.length) throw new Error(`the handshake's ACK got ${r.length} segments back`);
    return sa;
  }

  /** Frames DNS messages with their two-byte length, for send({ data }). */
  static framed(...msgs: Uint8Array[]): Uint8Array {
    return concat(...msgs.map((m) => concat(Uint8Array.of(m.length >> 8, m.length & 0xff), m)));
  }

  /** The DNS messages in the stream the peer received so far (complete ones). */
  messages(): Uint8Array[] {
    const b = Uint8Array.from(this.stream);
    const out: Uint8Array[] = [];
    for (let o = 0; o + 2 <= b.length;) {
      const n = (b[o]! << 8) | b[o + 1]!;
      if (o + 2 + n > b.length) break;
      out.push(b.slice(o + 2, o + 2 + n));
      o += 2 + n;
    }
    return out;
  }

  /** TCP's counters that are not zero, by name. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    TCP_COUNTER_NAMES.forEach((n, i) => {
      const v = this.rig.counters[TCP_BASE + i]!;
      if (v !== 0) out[n] = v;
    });
    return out;
  }

  close(): Promise<void> {
    return this.rig.close();
  }
}

/** An image of the fixture zones plus big.test, whose big.big.test TXT answer is about 60 KB (230 × 250 octets). */
/** A rig on `image`, closed when the test ends. */
export function openRig(t: ExecutionContext, image: ZonesImage, o?: TcpRigOptions): TcpRig {
  const r = new TcpRig(image, o);
  t.teardown(() => r.close());
  return r;
}

/** The invariant checker found nothing; when it did, the last `tail` lines of the rig's log say what led there. */
export function assertClean(t: ExecutionContext, r: TcpRig, tail = 40): void {
  t.deepEqual(r.problems, [], r.log.slice(-tail).join('\n'));
}

export async function buildBigImage(): Promise<ZonesImage> {
  const { tempDir, buildTestImage } = await import('../../../../helpers/fixtures.js');
  const { loadImage } = await import('../../../../../specializers/image/format.js');
  const { ZONE_FILES } = await import('../../helpers/rig.js');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const tmp = tempDir('tcpbig');
  const zone = join(tmp.dir, 'big.test.zone');
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m', '  IN NS ns1', 'ns1 IN A 198.18.0.1'];
  for (let i = 0; i < 230; i++) lines.push(`big IN TXT "${String(i).padStart(4, '0')}${'x'.repeat(246)}"`);
  for (let i = 0; i < 8; i++) lines.push(`mid IN TXT "${String(i).padStart(4, '0')}${'y'.repeat(246)}"`);
  writeFileSync(zone, lines.join('\n') + '\n');
  const file = await buildTestImage(join(tmp.dir, 'big.apl'), [], [...ZONE_FILES.map((f) => ({ origin: null, file: f })), { origin: null, file: zone }]);
  return { file, shared: loadImage(file).shared, cleanup: tmp.cleanup };
}
