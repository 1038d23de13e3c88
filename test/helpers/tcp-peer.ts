// A small TCP client for tests, over any Device (a pipe end, perhaps behind a FaultDevice):
// enough of RFC 9293 to be a correct peer for the appliance's server-side TCP under loss, so
// that what a lossy test finds is the server's failure, not the client's. It is a test peer,
// not a product: it allocates freely, and leaves out what the tests do not need.
//
//   PeerHost (one per device): receives every frame, checks IP and TCP checksums, hands each
//   segment to its connection by (family, local port); runs the connections' timers; sends
//   what they have to send (sendFrames: one flush per poll). A segment for no connection (or
//   a closed one) gets a RST, as a real host would (RFC 9293 §3.10.7 CLOSED), and is counted.
//
//   TcpPeer (one per connection), active open only:
//     SYN-SENT → ESTABLISHED → (close) FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT
//                            → (the server's FIN) CLOSE-WAIT → (close) LAST-ACK → CLOSED
//     plus CLOSING when the FINs cross. A RST in the window: CLOSED, `reset` set.
//
// What it does:
//   - SYN with MSS, SACK-permitted and window scale as Linux sends them without timestamps
//     (02 04 mss | 01 01 04 02 | 01 03 03 shift); RFC 7323 §2.2: scaling only when both SYNs carry it.
//   - Sends its data within the server's window (no congestion control: a test peer sends
//     little), cut to the server's MSS; a FIN behind the last byte once close() is called.
//   - Retransmits on a fixed RTO driven by the test clock: the SYN, or go-back to SND.UNA
//     for data and FIN; a zero window is probed with one byte on the same timer. A window
//     that shrinks below what is in flight pulls SND.NXT back (the bytes go again later).
//     After `maxRetries` timeouts with no progress it gives up (CLOSED, `gaveUp`), so that a
//     test's loop is bounded.
//   - Receives with in-order reassembly and an out-of-order queue (the server's own
//     retransmissions fill the holes); overlapping bytes must equal what came before
//     (a retransmission that differs is a problem); ACKs every segment as it arrives, or every
//     second one with a 40 ms delayed ACK, but out-of-order data and hole fills at once
//     (RFC 5681 §4.2: the duplicate ACKs that start a fast retransmit), with SACK blocks
//     (RFC 2018) when SACK was agreed.
//   - The send window is taken from the newest segment (SND.WL1/WL2) and, as Linux does
//     (tcp_may_update_window), from any segment whose ACK moves SND.UNA on; a pure ACK never
//     carries a sequence number beyond the window's right edge (Linux tcp_acceptable_seq).
//   - An unacceptable segment (outside the window, or old: a SYN-ACK or FIN again) gets an ACK.
//   - TIME-WAIT answers the server's FIN again for `timeWaitMs`; a RST ends it early, as in
//     Linux (tcp_rfc1337 = 0), and is not counted as a reset of the connection.
//
// Sequence numbers are 32-bit and compared modulo 2^32 (the ISS defaults just below the
// wrap); positions in the streams are plain numbers from the first data byte.

import type { Device } from '../../netmap-binding/device.js';
import { receiveFrames, sendFrames } from '../../netmap-binding/device-util.js';
import {
  be16, be32, CLIENT4, CLIENT6, CLIENT_MAC, concat, ETH_IPV4, ETH_IPV6, ethernet, ipv4, ipv6, layers, pseudo4, pseudo6,
  sumsToOnes, tcp, US4, US6, US_MAC,
} from './packets.js';

export const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

/** a − b as a signed 32-bit distance (RFC 9293 §3.4: comparisons modulo 2^32). */
const diff = (a: number, b: number): number => (a - b) | 0;
const flagNames = (f: number): string => ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => f & (1 << i)).join('|') || '-';
const add = (a: number, n: number): number => (a + n) >>> 0;

export type PeerState = 'SYN-SENT' | 'ESTABLISHED' | 'FIN-WAIT-1' | 'FIN-WAIT-2' | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT' | 'CLOSED';

export interface ConnectOptions {
  v6?: boolean;
  /** Local port; default the host's next ephemeral port. */
  port?: number;
  serverPort?: number;
  /** MSS to announce; default 1460 (IPv4) or 1440 (IPv6). */
  mss?: number;
  /** Window scale shift to announce (default 7, as Linux); null: no option. */
  wscale?: number | null;
  /** SACK-permitted in the SYN (default true). */
  sack?: boolean;
  /** The receive window in bytes (default 256 KiB; without window scale at most 65,535). */
  window?: number;
  /** The initial sequence number; default just below the wrap. */
  iss?: number;
  /** The retransmission timeout (ms), fixed. Default 300. */
  rtoMs?: number;
  /** ACK every segment (1, default) or every second one (2, with a delayed ACK). */
  ackEvery?: 1 | 2;
  delayedAckMs?: number;
  /** Timeouts in a row, without progress, before giving up. Default 1000 (five minutes at 300 ms: the server may back off to 60 s and try 8 times). */
  maxRetries?: number;
  timeWaitMs?: number;
}

export interface PeerStats {
  segmentsIn: number;
  segmentsOut: number;
  /** Our own segments sent again (SYN, data, FIN). */
  retransmits: number;
  /** Server segments with data or FIN beyond a hole, kept in the out-of-order queue. */
  outOfOrder: number;
  /** Server segments that brought nothing new (all before RCV.NXT): its retransmissions, or duplicates. */
  duplicates: number;
  /** Pure ACKs sent; those sent for a hole (duplicate ACKs). */
  acks: number;
  dupAcks: number;
  zeroWindowProbes: number;
}

export class TcpPeer {
  state: PeerState = 'SYN-SENT';
  readonly v6: boolean;
  readonly port: number;
  readonly serverPort: number;
  /** A RST came (or we sent one for an unacceptable SYN-ACK). */
  reset = false;
  /** A RST ended our TIME-WAIT (the server answering a late duplicate of our last ACK, say). */
  resetInTimeWait = false;
  /** Retransmissions gave up. */
  gaveUp = false;
  /** The server's FIN came, in order. */
  peerFin = false;
  readonly problems: string[] = [];
  readonly stats: PeerStats = { segmentsIn: 0, segmentsOut: 0, retransmits: 0, outOfOrder: 0, duplicates: 0, acks: 0, dupAcks: 0, zeroWindowProbes: 0 };
  /** Server options seen in the SYN-ACK. */
  serverMss = 536;
  serverWscale = -1;
  serverSackOk = false;

  // Send side (RFC 9293 §3.3.1 names).
  readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndShift = 0;
  /** Bytes queued to send, from ISS + 1. */
  private out: Uint8Array = new Uint8Array(0);
  private outLen = 0;
  private finQueued = false;

  // Receive side.
  private irs = 0;
  private rcvNxt = 0;
  private readonly rcvWnd: number;
  private rcvShift = 0;
  /** What arrived in order (from IRS + 1). */
  private stream: Uint8Array = new Uint8Array(1 << 16);
  private streamLen = 0;
  /** Out of order: position (from IRS + 1) → bytes; and where the server's FIN is, once seen beyond a hole. */
  private readonly ooo = new Map<number, Uint8Array>();
  private oooFin = -1;
  /** The position of the newest out-of-order segment (its SACK block goes first). */
  private lastOoo = -1;

  // Timers (ms on the host's clock; 0: off).
  private rtoAt = 0;
  private retries = 0;
  private ackOwed = false;
  private ackNow = false;
  private unacked = 0;
  private delAckAt = 0;
  private timeWaitUntil = 0;
  private synNeeded = true;

  readonly mss: number;
  readonly wscale: number | null;
  readonly sack: boolean;
  readonly rtoMs: number;
  readonly ackEvery: number;
  readonly delayedAckMs: number;
  readonly maxRetries: number;
  readonly timeWaitMs: number;

  constructor(private readonly host: PeerHost, o: ConnectOptions & { port: number }) {
    this.v6 = o.v6 ?? false;
    this.port = o.port;
    this.serverPort = o.serverPort ?? 53;
    this.mss = o.mss ?? (this.v6 ? 1440 : 1460);
    this.wscale = o.wscale === undefined ? 7 : o.wscale;
    this.sack = o.sack ?? true;
    this.rcvWnd = Math.min(o.window ?? 256 * 1024, this.wscale === null ? 65535 : 65535 * 2 ** this.wscale);
    this.iss = (o.iss ?? (0x100000000 - 300 - ((this.port * 37) % 1000))) >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.rtoMs = o.rtoMs ?? 300;
    this.ackEvery = o.ackEvery ?? 1;
    this.delayedAckMs = o.delayedAckMs ?? 40;
    this.maxRetries = o.maxRetries ?? 1000;
    this.timeWaitMs = o.timeWaitMs ?? 60_000;
  }

  // ── What a test calls ──────────────────────────────────────────────────────────────────

  /** Queues bytes to send (they go at the next poll, within the server's window). */
  send(bytes: Uint8Array): void {
    if (this.finQueued) throw new Error('send after close');
    if (this.outLen + bytes.length > this.out.length) {
      const grown = new Uint8Array(Math.max(2 * this.out.length, this.outLen + bytes.length, 4096));
      grown.set(this.out.subarray(0, this.outLen));
      this.out = grown;
    }
    this.out.set(bytes, this.outLen);
    this.outLen += bytes.length;
  }

  /** Queues DNS messages, each behind its two-byte length (RFC 1035 §4.2.2). */
  sendDns(...msgs: Uint8Array[]): void {
    for (const m of msgs) this.send(concat(Uint8Array.of(m.length >> 8, m.length & 0xff), m));
  }

  /** Closes our side: a FIN behind the last byte queued. */
  close(): void {
    this.finQueued = true;
  }

  /** The bytes received in order so far. */
  received(): Uint8Array {
    return this.stream.subarray(0, this.streamLen);
  }

  /** The complete DNS messages in the stream received so far. */
  messages(): Uint8Array[] {
    const b = this.received();
    const out: Uint8Array[] = [];
    for (let o = 0; o + 2 <= b.length;) {
      const n = be16(b, o);
      if (o + 2 + n > b.length) break;
      out.push(b.slice(o + 2, o + 2 + n));
      o += 2 + n;
    }
    return out;
  }

  /** Everything we sent was acknowledged (our FIN too, once closed). */
  get allAcked(): boolean {
    return this.state !== 'SYN-SENT' && this.sndUna === this.sndMax && diff(this.sndUna, this.dataEnd) >= 0;
  }

  /** Nothing more will happen on this connection (closed, reset, given up, or in TIME-WAIT). */
  get done(): boolean {
    return this.state === 'CLOSED' || this.state === 'TIME-WAIT';
  }

  /** A server sequence number relative to its ISN (for traces). */
  relativeAck(seq: number): number {
    return this.state === 'SYN-SENT' ? seq : (seq - this.irs) >>> 0;
  }

  describe(): string {
    return `${this.v6 ? 'v6' : 'v4'}:${this.port} ${this.state} una=${diff(this.sndUna, this.iss)} nxt=${diff(this.sndNxt, this.iss)} ` +
      `max=${diff(this.sndMax, this.iss)} queued=${this.outLen}${this.finQueued ? '+FIN' : ''} wnd=${this.sndWnd} received=${this.streamLen}` +
      `${this.peerFin ? '+FIN' : ''} ooo=${this.ooo.size} retries=${this.retries}`;
  }

  // ── Sending ────────────────────────────────────────────────────────────────────────────

  /** Sequence number just past our last data byte (the FIN's). */
  private get dataEnd(): number {
    return add(this.iss, 1 + this.outLen);
  }

  private synOptions(): Uint8Array {
    const parts = [Uint8Array.of(2, 4, this.mss >> 8, this.mss & 0xff)];
    if (this.sack) parts.push(Uint8Array.of(1, 1, 4, 2));
    if (this.wscale !== null) parts.push(Uint8Array.of(1, 3, 3, this.wscale));
    return concat(...parts);
  }

  /** The window field: what we can take, scaled (never scaled on a SYN, RFC 7323 §2.2). */
  private windowField(syn: boolean): number {
    return syn ? Math.min(this.rcvWnd, 65535) : Math.min(65535, Math.floor(this.rcvWnd / 2 ** this.rcvShift));
  }

  private emit(seq: number, flags: number, data: Uint8Array = new Uint8Array(0), options?: Uint8Array): void {
    const ack = flags & ACK ? this.rcvNxt : 0;
    this.host.queue(this, { seq, ack, flags, window: this.windowField((flags & SYN) !== 0), options }, data);
    this.stats.segmentsOut++;
    if (flags & ACK) {
      // Every segment with ACK carries what an owed ACK would say.
      this.ackOwed = false;
      this.ackNow = false;
      this.unacked = 0;
      this.delAckAt = 0;
    }
  }

  /** SACK blocks for the out-of-order queue (RFC 2018 §4: the newest first, at most 3 without timestamps). */
  private sackOption(): Uint8Array | undefined {
    if (!this.sack || !this.serverSackOk || this.ooo.size === 0) return undefined;
    const ranges = [...this.ooo.entries()].map(([s, d]) => [s, s + d.length] as [number, number]).sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    const newest = merged.findIndex(([s, e]) => this.lastOoo >= s && this.lastOoo < e);
    if (newest > 0) merged.unshift(...merged.splice(newest, 1));
    const blocks = merged.slice(0, 3);
    const o = new Uint8Array(2 + 2 + 8 * blocks.length);
    o.set([1, 1, 5, 2 + 8 * blocks.length]);
    const base = add(this.irs, 1);
    blocks.forEach(([s, e], i) => {
      const dv = new DataView(o.buffer);
      dv.setUint32(4 + 8 * i, add(base, s));
      dv.setUint32(8 + 8 * i, add(base, e));
    });
    return o;
  }

  /** What is to be sent now: the SYN, data within the window, the FIN, the ACK owed. */
  output(now: number): void {
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN-SENT') {
      if (this.synNeeded) {
        this.synNeeded = false;
        if (this.sndMax !== this.iss) this.stats.retransmits++;
        this.emit(this.iss, SYN, undefined, this.synOptions());
        this.sndNxt = this.sndMax = add(this.iss, 1);
        if (this.rtoAt === 0) this.rtoAt = now + this.rtoMs;
      }
      return;
    }
    if (this.state !== 'TIME-WAIT') {
      const end = this.dataEnd;
      for (;;) {
        const avail = diff(end, this.sndNxt);
        const room = diff(add(this.sndUna, this.sndWnd), this.sndNxt);
        if (avail > 0) {
          const n = Math.min(avail, room, this.serverMss);
          if (n <= 0) break;
          const off = diff(this.sndNxt, add(this.iss, 1));
          const fin = this.finQueued && n === avail;
          this.sendData(this.sndNxt, this.out.subarray(off, off + n), fin);
          continue;
        }
        if (this.finQueued && avail === 0) this.sendData(this.sndNxt, new Uint8Array(0), true);
        break;
      }
    }
    this.ackIfDue(now);
    if (this.rtoAt === 0 && (this.sndUna !== this.sndMax || (this.sndWnd === 0 && diff(this.dataEnd, this.sndNxt) > 0))) {
      this.rtoAt = now + this.rtoMs;
    }
  }

  /**
   * The ACK owed, if it is due: at once (out of order, a hole filled, a FIN, every segment
   * with ackEvery 1), on the second segment, or when the delayed-ACK timer runs out. Called
   * after each segment that arrives (so that every one of a burst gets its own ACK, and a
   * loss its duplicate ACKs) and from output().
   */
  ackIfDue(now: number): void {
    if (this.state === 'SYN-SENT' || this.state === 'CLOSED') return;
    if (this.ackNow || (this.ackOwed && (this.unacked >= this.ackEvery || (this.delAckAt > 0 && now >= this.delAckAt)))) {
      const sack = this.sackOption();
      if (sack) this.stats.dupAcks++;
      this.stats.acks++;
      // Never a sequence number beyond the window the server gave (Linux tcp_acceptable_seq):
      // when it shrank, a pure ACK at SND.NXT would be outside it and not be looked at.
      const edge = add(this.sndUna, this.sndWnd);
      this.emit(diff(this.sndNxt, edge) > 0 ? edge : this.sndNxt, ACK, undefined, sack);
    } else if (this.ackOwed && this.delAckAt === 0) {
      this.delAckAt = now + this.delayedAckMs;
    }
  }

  private sendData(seq: number, data: Uint8Array, fin: boolean): void {
    if (diff(seq, this.sndMax) < 0) this.stats.retransmits++;
    this.emit(seq, ACK | (data.length > 0 ? PSH : 0) | (fin ? FIN : 0), data);
    this.sndNxt = add(seq, data.length + (fin ? 1 : 0));
    if (diff(this.sndNxt, this.sndMax) > 0) this.sndMax = this.sndNxt;
    if (fin) {
      if (this.state === 'ESTABLISHED') this.state = 'FIN-WAIT-1';
      else if (this.state === 'CLOSE-WAIT') this.state = 'LAST-ACK';
    }
  }

  /** The clock moved: the RTO (retransmit or probe), the delayed ACK, TIME-WAIT's end. */
  timers(now: number): void {
    if (this.state === 'TIME-WAIT') {
      if (now >= this.timeWaitUntil) this.state = 'CLOSED';
      return;
    }
    if (this.state === 'CLOSED' || this.rtoAt === 0 || now < this.rtoAt) return;
    this.rtoAt = 0;
    if (++this.retries > this.maxRetries) {
      this.gaveUp = true;
      this.problems.push(`gave up after ${this.maxRetries} timeouts: ${this.describe()}`);
      this.state = 'CLOSED';
      return;
    }
    if (this.state === 'SYN-SENT') {
      this.synNeeded = true;
    } else if (this.sndUna !== this.sndMax) {
      // Go back to SND.UNA: everything in flight goes again (output() sends it).
      this.sndNxt = this.sndUna;
      if (this.sndWnd === 0 && diff(this.dataEnd, this.sndUna) > 0) this.probe();
    } else if (this.sndWnd === 0 && diff(this.dataEnd, this.sndNxt) > 0) {
      this.probe();
    }
    this.rtoAt = now + this.rtoMs;
  }

  /** A zero-window probe: the next byte, beyond the window (RFC 9293 §3.8.6.1). */
  private probe(): void {
    const off = diff(this.sndNxt, add(this.iss, 1));
    const fin = this.finQueued && off + 1 === this.outLen;
    this.stats.zeroWindowProbes++;
    this.sendData(this.sndNxt, this.out.subarray(off, off + 1), fin);
  }

  // ── Receiving (RFC 9293 §3.10.7: SYN-SENT, then Other States for the rest) ─────────────────────────

  segment(seq: number, ack: number, flags: number, window: number, data: Uint8Array, options: Uint8Array, now: number): void {
    this.stats.segmentsIn++;
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN-SENT') return this.synSent(seq, ack, flags, window, options);
    const segLen = data.length + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    // First: the sequence number (the four cases of acceptability).
    const inWindow = (s: number): boolean => diff(s, this.rcvNxt) >= 0 && diff(s, add(this.rcvNxt, this.rcvWnd)) < 0;
    const acceptable = segLen === 0 ? seq === this.rcvNxt || inWindow(seq) : inWindow(seq) || inWindow(add(seq, segLen - 1));
    if (!acceptable) {
      if (!(flags & RST)) {
        // Old (a retransmission of what we have) or beyond the window: say where we are.
        if (data.length > 0) this.checkOverlap(diff(seq, add(this.irs, 1)), data);
        if (segLen > 0) this.stats.duplicates++;
        this.ackNow = true;
        if (this.state === 'TIME-WAIT' && flags & FIN) this.timeWaitUntil = now + this.timeWaitMs;
      }
      return;
    }
    // Second: RST (in the window: RFC 9293 §3.10.7 Other States; we do not send challenge ACKs). In
    // TIME-WAIT it ends TIME-WAIT early, as Linux does (tcp_rfc1337 = 0): not a failure.
    if (flags & RST) {
      if (this.state === 'TIME-WAIT') this.resetInTimeWait = true;
      else this.reset = true;
      this.state = 'CLOSED';
      return;
    }
    // Fourth: a SYN in the window is an error (RFC 9293 §3.10.7 Other States; RFC 5961 would challenge).
    if (flags & SYN) {
      this.problems.push(`SYN in the window in ${this.state} (seq ${diff(seq, this.irs)})`);
      this.ackNow = true;
      return;
    }
    if (!(flags & ACK)) {
      this.problems.push(`a segment without ACK in ${this.state}`);
      return;
    }
    // Fifth: the ACK.
    if (diff(ack, this.sndMax) > 0) {
      this.problems.push(`ACK ${diff(ack, this.iss)} of data never sent (max ${diff(this.sndMax, this.iss)}) in ${this.state}`);
      this.ackNow = true;
      return;
    }
    const advanced = diff(ack, this.sndUna) > 0;
    if (advanced) {
      this.sndUna = ack;
      this.retries = 0;
      this.rtoAt = this.sndUna === this.sndMax ? 0 : now + this.rtoMs;
      if (diff(this.sndNxt, this.sndUna) < 0) this.sndNxt = this.sndUna;
    }
    // The window from the newest segment: RFC 9293's SND.WL1/WL2 test, and as Linux
    // (tcp_may_update_window) also from any segment whose ACK moves SND.UNA on — a sender's
    // retransmissions go back in sequence, and their window must not be ignored.
    if (advanced || diff(this.sndWl1, seq) < 0 || (this.sndWl1 === seq && diff(this.sndWl2, ack) <= 0)) {
      this.sndWnd = window * 2 ** this.sndShift;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      // A window that shrank below what is in flight: those bytes go again once it opens.
      const edge = add(this.sndUna, this.sndWnd);
      if (diff(this.sndNxt, edge) > 0 && diff(this.sndNxt, this.dataEnd) <= 0) this.sndNxt = edge;
    }
    const finAcked = this.finQueued && diff(this.sndUna, add(this.dataEnd, 1)) === 0;
    if (finAcked) {
      if (this.state === 'FIN-WAIT-1') this.state = 'FIN-WAIT-2';
      else if (this.state === 'CLOSING') this.enterTimeWait(now);
      else if (this.state === 'LAST-ACK') {
        this.state = 'CLOSED';
        return;
      }
    }
    if (this.state === 'TIME-WAIT') {
      if (flags & FIN) {
        this.ackNow = true;
        this.timeWaitUntil = now + this.timeWaitMs;
      }
      return;
    }
    // Seventh: the data; eighth: the FIN.
    const pos = diff(seq, add(this.irs, 1));
    if (data.length > 0 || flags & FIN) this.take(pos, data, (flags & FIN) !== 0, now);
  }

  private synSent(seq: number, ack: number, flags: number, window: number, options: Uint8Array): void {
    if (flags & ACK && ack !== add(this.iss, 1)) {
      // RFC 9293 §3.10.7 SYN-SENT: an unacceptable ACK gets a RST (unless it is one).
      if (!(flags & RST)) {
        this.problems.push(`SYN-SENT: ACK ${ack} for ISS ${this.iss}`);
        this.host.queue(this, { seq: ack, ack: 0, flags: RST, window: 0 }, new Uint8Array(0));
      }
      return;
    }
    if (flags & RST) {
      if (flags & ACK) {
        this.reset = true;
        this.state = 'CLOSED';
      }
      return;
    }
    if (!(flags & SYN) || !(flags & ACK)) {
      this.problems.push(`SYN-SENT: flags ${flags.toString(16)} (simultaneous open is not done here)`);
      return;
    }
    this.irs = seq;
    this.rcvNxt = add(seq, 1);
    for (let o = 0; o < options.length;) {
      const k = options[o]!;
      if (k === 0) break;
      if (k === 1) { o++; continue; }
      const l = options[o + 1]!;
      if (l < 2 || o + l > options.length) { this.problems.push('SYN-ACK: malformed options'); break; }
      if (k === 2 && l === 4) this.serverMss = be16(options, o + 2);
      if (k === 3 && l === 3) this.serverWscale = options[o + 2]!;
      if (k === 4 && l === 2) this.serverSackOk = true;
      o += l;
    }
    if (this.serverWscale >= 0 && this.wscale !== null) {
      this.sndShift = Math.min(this.serverWscale, 14);
      this.rcvShift = this.wscale;
    }
    if (this.serverSackOk && !this.sack) this.problems.push('SYN-ACK: SACK-permitted though our SYN did not offer it');
    if (this.serverWscale >= 0 && this.wscale === null) this.problems.push('SYN-ACK: window scale though our SYN had none');
    this.sndUna = ack;
    this.sndWnd = window; // a SYN's window is never scaled
    this.sndWl1 = seq;
    this.sndWl2 = ack;
    this.state = 'ESTABLISHED';
    this.retries = 0;
    this.rtoAt = 0;
    this.ackNow = true;
  }

  /** Bytes at stream position `pos` (and a FIN behind them): in order, or queued until the hole fills. */
  private take(pos: number, data: Uint8Array, fin: boolean, now: number): void {
    const hadHoles = this.ooo.size > 0;
    if (pos > this.streamLen) {
      // Beyond a hole: keep it; a duplicate ACK (with SACK) tells the server at once.
      this.checkOverlap(pos, data);
      if (data.length > 0) {
        const was = this.ooo.get(pos);
        if (!was || was.length < data.length) this.ooo.set(pos, data.slice());
        this.lastOoo = pos;
      }
      if (fin) this.oooFin = pos + data.length;
      this.stats.outOfOrder++;
      this.ackNow = true;
      return;
    }
    this.checkOverlap(pos, data);
    const fresh = pos + data.length - this.streamLen;
    if (fresh > 0) this.append(data.subarray(data.length - fresh));
    else if (!fin || this.peerFin) this.stats.duplicates++;
    // Fill from the queue what now follows in order.
    for (let moved = true; moved;) {
      moved = false;
      for (const [p, d] of this.ooo) {
        if (p > this.streamLen) continue;
        this.ooo.delete(p);
        this.checkOverlap(p, d);
        const f = p + d.length - this.streamLen;
        if (f > 0) this.append(d.subarray(d.length - f));
        moved = true;
      }
    }
    let finNow = fin && pos + data.length === this.streamLen;
    if (this.oooFin >= 0 && this.oooFin === this.streamLen) finNow = true;
    this.rcvNxt = add(this.irs, 1 + this.streamLen);
    if (finNow && !this.peerFin) {
      this.peerFin = true;
      this.oooFin = -1;
      this.rcvNxt = add(this.rcvNxt, 1);
      if (this.state === 'ESTABLISHED') this.state = 'CLOSE-WAIT';
      else if (this.state === 'FIN-WAIT-1') this.state = 'CLOSING';
      else if (this.state === 'FIN-WAIT-2') this.enterTimeWait(now);
      this.ackNow = true;
    }
    if (fresh > 0) {
      this.ackOwed = true;
      this.unacked++;
      if (hadHoles || this.ackEvery === 1) this.ackNow = true; // RFC 5681 §4.2: a hole filled is ACKed at once
    }
  }

  private enterTimeWait(now: number): void {
    this.state = 'TIME-WAIT';
    this.timeWaitUntil = now + this.timeWaitMs;
    this.rtoAt = 0;
  }

  private append(d: Uint8Array): void {
    if (this.streamLen + d.length > this.stream.length) {
      const grown = new Uint8Array(Math.max(2 * this.stream.length, this.streamLen + d.length));
      grown.set(this.stream.subarray(0, this.streamLen));
      this.stream = grown;
    }
    this.stream.set(d, this.streamLen);
    this.streamLen += d.length;
  }

  /** Bytes that arrive again must be the bytes that came before at the same place (docs/TCP-DESIGN.md: byte-identical retransmissions). */
  private checkOverlap(pos: number, d: Uint8Array): void {
    const inOrder = Math.min(pos + d.length, this.streamLen);
    for (let p = Math.max(pos, 0); p < inOrder; p++) {
      if (this.stream[p] !== d[p - pos]) {
        this.problems.push(`byte ${p} of the stream came again as ${d[p - pos]}, was ${this.stream[p]}`);
        return;
      }
    }
    for (const [q, e] of this.ooo) {
      const from = Math.max(pos, q), to = Math.min(pos + d.length, q + e.length);
      for (let p = from; p < to; p++) {
        if (e[p - q] !== d[p - pos]) {
          this.problems.push(`byte ${p} of the stream came again as ${d[p - pos]}, was ${e[p - q]} (out of order)`);
          return;
        }
      }
    }
  }
}

export interface PeerHostOptions {
  now: () => number;
  mac?: Uint8Array;
  serverMac?: Uint8Array;
  ip4?: Uint8Array;
  server4?: Uint8Array;
  ip6?: Uint8Array;
  server6?: Uint8Array;
  /** The first ephemeral port (default 40000). */
  firstPort?: number;
  /** Told of every segment in and out, one line each (for debugging a failing test). */
  trace?: (line: string) => void;
}

interface Outgoing {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options?: Uint8Array;
}

/** The client's end of the wire: every TcpPeer on one device. */
export class PeerHost {
  readonly peers: TcpPeer[] = [];
  readonly problems: string[] = [];
  /** Segments for no connection (answered with RST unless they were one), frames that were not TCP to us. */
  strays = 0;
  /** Of those, the ones that carried data or a SYN (a closed connection should not get any). */
  straysWithData = 0;
  resetsSent = 0;
  ignored = 0;
  badChecksums = 0;
  private readonly byPort = new Map<string, TcpPeer>();
  private nextPort: number;
  private readonly pending: Uint8Array[] = [];
  private readonly mac: Uint8Array;
  private readonly serverMac: Uint8Array;
  private readonly ip4: Uint8Array;
  private readonly server4: Uint8Array;
  private readonly ip6: Uint8Array;
  private readonly server6: Uint8Array;

  constructor(readonly dev: Device, private readonly o: PeerHostOptions) {
    this.mac = o.mac ?? CLIENT_MAC;
    this.serverMac = o.serverMac ?? US_MAC;
    this.ip4 = o.ip4 ?? CLIENT4;
    this.server4 = o.server4 ?? US4;
    this.ip6 = o.ip6 ?? CLIENT6;
    this.server6 = o.server6 ?? US6;
    this.nextPort = o.firstPort ?? 40000;
  }

  /** A new connection; its SYN goes at the next poll(). */
  connect(o: ConnectOptions = {}): TcpPeer {
    const port = o.port ?? this.nextPort++;
    const key = `${o.v6 ? 6 : 4}:${port}:${o.serverPort ?? 53}`;
    if (this.byPort.has(key)) throw new Error(`port ${port} is in use`);
    const p = new TcpPeer(this, { ...o, port });
    this.peers.push(p);
    this.byPort.set(key, p);
    return p;
  }

  /**
   * One turn: every frame that came is handled, timers run, and what the connections have
   * to send goes out in one flush. Returns the frames received plus the frames sent (0: quiet).
   */
  poll(): number {
    const now = this.o.now();
    const frames = receiveFrames(this.dev);
    for (const f of frames) this.frame(f, now);
    for (const p of this.peers) {
      p.timers(now);
      p.output(now);
    }
    const out = this.pending.splice(0);
    if (out.length > 0) {
      const went = sendFrames(this.dev, out);
      if (went < out.length) this.problems.push(`the client's device took ${went} of ${out.length} frames`);
    }
    return frames.length + out.length;
  }

  /** Builds a segment of `p` (called by TcpPeer). */
  queue(p: TcpPeer, s: Outgoing, data: Uint8Array): void {
    this.o.trace?.(`${p.port} → ${flagNames(s.flags)} seq=${(s.seq - p.iss) >>> 0} ack=${s.flags & ACK ? p.relativeAck(s.ack) : '-'} win=${s.window} len=${data.length}${s.options && !(s.flags & SYN) ? ' +SACK' : ''} [${p.state}]`);
    this.pending.push(this.build(p.v6, p.port, p.serverPort, s, data));
  }

  private build(v6: boolean, sport: number, dport: number, s: Outgoing, data: Uint8Array): Uint8Array {
    const src = v6 ? this.ip6 : this.ip4, dst = v6 ? this.server6 : this.server4;
    const seg = tcp(src, dst, { sport, dport, seq: s.seq, ack: s.ack, flags: s.flags, window: s.window, options: s.options }, data);
    const eth = { src: this.mac, dst: this.serverMac };
    return v6 ? ethernet(ETH_IPV6, ipv6(6, seg, { src, dst }), eth) : ethernet(ETH_IPV4, ipv4(6, seg, { src, dst }), eth);
  }

  private frame(f: Uint8Array, now: number): void {
    const { l3, type } = layers(f);
    let seg: Uint8Array, ph: Uint8Array, v6: boolean;
    if (type === ETH_IPV4 && f.length >= l3 + 20 && f[l3 + 9] === 6) {
      const ihl = (f[l3]! & 0x0f) * 4;
      const total = be16(f, l3 + 2);
      if (!sumsToOnes(f.subarray(l3, l3 + ihl))) return this.bad('IPv4 header checksum');
      seg = f.subarray(l3 + ihl, l3 + total);
      ph = pseudo4(f.subarray(l3 + 12, l3 + 16), f.subarray(l3 + 16, l3 + 20), 6, seg.length);
      v6 = false;
    } else if (type === ETH_IPV6 && f.length >= l3 + 40 && f[l3 + 6] === 6) {
      seg = f.subarray(l3 + 40, l3 + 40 + be16(f, l3 + 4));
      ph = pseudo6(f.subarray(l3 + 8, l3 + 24), f.subarray(l3 + 24, l3 + 40), 6, seg.length);
      v6 = true;
    } else {
      this.ignored++;
      return;
    }
    if (seg.length < 20 || !sumsToOnes(ph, seg)) return this.bad('TCP checksum');
    const sport = be16(seg, 0), dport = be16(seg, 2);
    const seq = be32(seg, 4), ack = be32(seg, 8);
    const hl = (seg[12]! >> 4) * 4;
    const flags = seg[13]! & 0x3f;
    const window = be16(seg, 14);
    const p = this.byPort.get(`${v6 ? 6 : 4}:${dport}:${sport}`);
    if (!p || p.state === 'CLOSED') {
      // RFC 9293 §3.10.7 CLOSED: a RST for anything but a RST.
      this.strays++;
      if (seg.length > hl || flags & SYN) this.straysWithData++;
      if (flags & RST) return;
      this.resetsSent++;
      const len = seg.length - hl + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
      const r = flags & ACK ? { seq: ack, ack: 0, flags: RST, window: 0 } : { seq: 0, ack: add(seq, len), flags: RST | ACK, window: 0 };
      this.pending.push(this.build(v6, dport, sport, r, new Uint8Array(0)));
      return;
    }
    this.o.trace?.(`${p.port} ← ${flagNames(flags)} seq=${p.relativeAck(seq)} ack=${(ack - p.iss) >>> 0} win=${window} len=${seg.length - hl} [${p.state}]`);
    const was = p.state;
    p.segment(seq, ack, flags, window, seg.slice(hl), seg.slice(20, hl), now);
    // The handshake's ACK waits for output(), so that the first data rides on it.
    if (was !== 'SYN-SENT') p.ackIfDue(now);
  }

  private bad(why: string): void {
    this.badChecksums++;
    this.problems.push(`received a frame with a bad ${why}`);
  }
}
