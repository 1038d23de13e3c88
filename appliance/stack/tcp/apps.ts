// The sessions the fused TCP serves, behind the TcpApp interface: DNS over TCP and HTTP,
// each the very session the socket backend runs (appliance/dns/stream.ts,
// appliance/http/session.ts). Answers go into the connection's output records — a DNS
// answer copied into the arena, a prebuilt HTTP response as a reference to the image (its
// pre-cut pieces go out from there), a dynamic head copied and its body a span of the image
// — which TCP keeps until the peer acknowledges them; when a connection's records are full
// its session is told to stop (backpressure).

import { DnsStreams, STREAM_CLOSE, type DnsStreamSink } from '../../dns/stream.js';
import { PLAN_TEMPLATE, type ResponsePlan } from '../../http/responder.js';
import { HttpSessions, SESSION_CLOSE, type AccessLogSink, type HttpSink } from '../../http/session.js';
import type { LogRing, QueryLog } from '../../log-ring.js';
import type { NotifyGate } from '../../dns/notify.js';
import type { DnsResponder } from '../../dns/responder.js';
import { T_BUFFER_EXHAUSTED } from './counters.js';
import { APP_CLOSE, type TcpApp, type TcpCore } from './core.js';
import { F_RST_NOW } from './table.js';

/** The peer's address of a slot into `out` (IPv4 in the first 4 bytes); its family, 4 or 6. */
function peerAddress(tcp: TcpCore, slot: number, out: Uint8Array): number {
  const t = tcp.table;
  if (t.FAMILY[slot] === 4) {
    const a = t.R_ADDR4[slot]!;
    out[0] = a >>> 24;
    out[1] = (a >>> 16) & 0xff;
    out[2] = (a >>> 8) & 0xff;
    out[3] = a & 0xff;
    return 4;
  }
  for (let i = 0; i < 16; i++) out[i] = t.R_ADDR6[slot * 16 + i]!;
  return 6;
}

export class DnsTcpApp implements TcpApp, DnsStreamSink {
  /** The query log (--query-log), or null; `now` is the batch's time, for its records. */
  queryLog: QueryLog | null = null;
  /** Who may NOTIFY the secondary zones (null: none; NOTIFY is REFUSED). */
  notifyGate: NotifyGate | null = null;
  now = 0;
  private readonly addr = new Uint8Array(16);

  constructor(readonly streams: DnsStreams, private readonly tcp: TcpCore) {}

  open(slot: number, now: number, v6: boolean): void {
    this.streams.open(slot, now, v6);
  }

  data(slot: number, mem: Uint8Array, off: number, len: number, now: number): number {
    this.now = now;
    const n = this.streams.data(slot, mem, off, len, now, this);
    return n === STREAM_CLOSE ? APP_CLOSE : n;
  }

  deadline(slot: number): number {
    return this.streams.deadline(slot);
  }

  inRequest(slot: number): boolean {
    return this.streams.inMessage(slot);
  }

  free(slot: number): void {
    this.streams.free(slot);
  }

  /** DnsStreamSink: a NOTIFY judged by the connection's peer address. */
  judgeNotify(slot: number, r: DnsResponder, buf: Uint8Array, off: number, n: number): number {
    if (this.notifyGate === null) return r.notifyRefused(buf, off);
    const family = peerAddress(this.tcp, slot, this.addr);
    return this.notifyGate.judge(r, buf, off, n, this.addr, 0, family);
  }

  /** DnsStreamSink: one framed answer into the connection's records. */
  send(slot: number, buf: Uint8Array, off: number, len: number): boolean {
    const tcp = this.tcp;
    if (!tcp.outq.appendCopy(slot, buf, off, len)) {
      // No block for the answer (the arena is spent): this connection is reset, counted.
      tcp.counters[T_BUFFER_EXHAUSTED]!++;
      tcp.table.FLAGS[slot] = tcp.table.FLAGS[slot]! | F_RST_NOW;
      tcp.markReady(slot);
      return false;
    }
    tcp.markReady(slot);
    tcp.table.touch(slot);
    if (this.queryLog !== null && len > 2) {
      this.queryLog.tcp(peerAddress(tcp, slot, this.addr), this.addr, 0, tcp.table.R_PORT[slot]!, buf, off + 2, len - 2, this.now);
    }
    return tcp.outq.hasRoom(slot);
  }
}

export class HttpTcpApp implements TcpApp, HttpSink, AccessLogSink {
  private now = 0;
  /** A dynamic head's bytes, before they are copied into the arena. */
  private readonly head = new Uint8Array(4096);

  private readonly addr = new Uint8Array(16);
  /** The access log's ring (--access-log), or null. */
  private ring: LogRing | null = null;

  constructor(readonly sessions: HttpSessions, private readonly tcp: TcpCore, private readonly wallOffsetMs: number) {}

  /** Logs every request answered into `ring`. */
  logTo(ring: LogRing): void {
    this.ring = ring;
    this.sessions.accessLog = this;
  }

  /** AccessLogSink: the request into the ring, with the peer's address and the wall-clock time. */
  request(slot: number, head: Uint8Array, off: number, len: number, status: number, bodyBytes: number): void {
    const family = peerAddress(this.tcp, slot, this.addr);
    this.ring!.access(family, this.addr, 0, this.tcp.table.R_PORT[slot]!, status, bodyBytes, this.now + this.wallOffsetMs, head, off, len);
  }

  open(slot: number, now: number): void {
    this.sessions.open(slot, now);
  }

  data(slot: number, mem: Uint8Array, off: number, len: number, now: number): number {
    this.now = now;
    const n = this.sessions.data(slot, mem, off, len, now, this);
    return n === SESSION_CLOSE ? APP_CLOSE : n;
  }

  deadline(slot: number): number {
    return this.sessions.deadline(slot);
  }

  inRequest(slot: number): boolean {
    return this.sessions.inRequest(slot);
  }

  free(slot: number): void {
    this.sessions.free(slot);
  }

  /** HttpSink: the response into the connection's records. */
  send(slot: number, plan: ResponsePlan): boolean {
    const tcp = this.tcp;
    const q = tcp.outq;
    let ok: boolean;
    if (plan.kind === PLAN_TEMPLATE) {
      // The Date is frozen at the second the response is queued: a retransmission sends the same bytes.
      ok = q.appendResponse(slot, plan.resp, Math.floor((this.now + this.wallOffsetMs) / 1000), plan.close);
    } else {
      const h = plan.head;
      const n = h.length;
      const bytes = n <= this.head.length ? this.head : new Uint8Array(n); // the responder's heads are short
      for (let i = 0; i < n; i++) bytes[i] = h.charCodeAt(i);
      ok = q.appendCopy(slot, bytes, 0, n) && q.appendBlob(slot, plan.bodyOff, plan.bodyLen);
    }
    if (!ok) {
      tcp.counters[T_BUFFER_EXHAUSTED]!++;
      tcp.table.FLAGS[slot] = tcp.table.FLAGS[slot]! | F_RST_NOW;
      tcp.markReady(slot);
      return false;
    }
    tcp.markReady(slot);
    tcp.table.touch(slot);
    return q.hasRoom(slot);
  }
}
