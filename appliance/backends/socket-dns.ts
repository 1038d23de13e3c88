// DNS over kernel sockets: UDP (node:dgram) and TCP (node:net), RFC 1035 §4.2, RFC 7766.
//
// The same responder as the fused stack: the query is copied into a buffer with room for
// the answer, answered in place, and sent. TCP framing, limits and deadlines are the DNS
// stream session's (appliance/dns/stream.ts), the code the fused TCP runs too: several
// queries per connection, pipelined, answered in order; the connections themselves are
// socket-conns.ts's, as for HTTP.
//
// Hostile peers (README "Limits"): a datagram no answer can go to (source port 0) is a
// counted drop; every socket has an error listener and every handler is contained (an
// exception costs that datagram or connection, is counted and logged at a bounded rate);
// TCP connections are capped in total and per source with eviction of the longest idle;
// a TCP peer that does not read stops being read once TCP_QUEUE_CAP bytes of answers wait
// for it (backpressure), so it holds a bounded amount of memory and UDP keeps its pace.
//
// Response rate limiting (dns/rrl.ts, NSD's semantics): one limiter per server; each UDP
// answer is decided by the client's address as the socket reports it (an IPv4-mapped
// address on a dual-stack socket counts as IPv4) and sent, sent slipped (TC=1, no records),
// or not sent (counted). TCP answers are never limited. Its clock is monotonic seconds,
// read per datagram (performance.now(): a wall clock stepped back would reset buckets).

import type { NotifyGate } from '../dns/notify.js';
import dgram from 'node:dgram';
import net from 'node:net';
import { ApplianceError } from '../../basics/errors.js';
import { DnsResponder, DNS_COUNTER_NAMES, TRANSPORT_UDP } from '../dns/responder.js';
import { DnsStreams, DNS_STREAM_COUNTER_NAMES, STREAM_CLOSE, STREAM_MESSAGE, type DnsStreamSink } from '../dns/stream.js';
import type { DnsTables } from '../dns/tables.js';
import { RRL_COUNTERS, RRL_COUNTER_NAMES, RRL_DEFAULTS, RRL_DROP, RRL_SLIP, ResponseRateLimiter, type RrlOptions } from '../dns/rrl.js';
import { EDNS_UDP_SIZE } from '../../specializers/dns/layout.js';
import { BoundedLog, errorFields, logger } from '../log.js';
import { TRANSPORT_TCP as LOG_TCP, TRANSPORT_UDP as LOG_UDP, type QueryLog } from '../log-ring.js';
import { CONN_TABLE_COUNTER_NAMES } from './conn-table.js';
import { CONN_CLOSE, SOCKET_CONN_COUNTER_NAMES, SocketConns } from './socket-conns.js';

export interface DnsSocketOptions {
  host: string;
  port: number;
  /** Idle TCP connections are closed after this (RFC 7766 §6.2.3). */
  idleTimeoutMs: number;
  /** One DNS message over TCP must arrive within this after its first byte (default 10 s). */
  messageTimeoutMs?: number;
  /** TCP connections at most (default 10,000). */
  maxConnections?: number;
  /** TCP connections at most from one IPv4 address or IPv6 /64 (default 256). */
  maxConnectionsPerSource?: number;
  /** Response rate limiting of UDP answers; absent, or a rate of 0: off (serve always passes its --rrl-* flags). */
  rrl?: RrlOptions;
  /** Serve UDP here (node:dgram); false when worker threads with batched sockets serve it (dns-udp-workers.ts). Default true. */
  udp?: boolean;
}

export const DEFAULT_MESSAGE_TIMEOUT_MS = 10_000;
/** A TCP peer with this many bytes of answers waiting is not read until they drain. */
export const TCP_QUEUE_CAP = 64 * 1024;

/** Room for a UDP answer: the largest we send, plus the question it repeats. */
const UDP_OUT = EDNS_UDP_SIZE + 512;

const N_UDP_DROP_PORT0 = 0;
const N_UDP_SEND_ERRORS = 1;
const N_MESSAGE_TIMEOUTS = 2;
const N_IDLE_TIMEOUTS = 3;
const N_HANDLER_ERRORS = 4;
const SERVER_COUNTER_NAMES = ['udp_drop_port0', 'udp_send_errors', 'tcp_message_timeouts', 'tcp_idle_timeouts', 'handler_errors'];

/** Why a DNS port could not be bound, and what to do (the UDP workers say it the same way). */
export function listenError(proto: string, o: { host: string; port: number }, e: { code?: string; message: string }): ApplianceError {
  return new ApplianceError('APPL_ERR_LISTEN', `cannot listen for DNS over ${proto} on ${o.host}:${o.port}: ${e.code ?? e.message}` +
    (e.code === 'EADDRINUSE' ? ' (the port is taken; choose another with --dns ADDR:PORT)' : e.code === 'EACCES' ? ' (a port below 1024 needs the capability CAP_NET_BIND_SERVICE: start as root with --user USER to drop the rest, or grant it, as deploy/appliance.service does)' : ''));
}

export class DnsSocketServer implements DnsStreamSink {
  readonly responder: DnsResponder;
  readonly streams: DnsStreams;
  /** The server's response rate limiter, or null (off); its counters are always in stats(). */
  readonly rrl: ResponseRateLimiter | null;
  private readonly rrlCounters = new Float64Array(RRL_COUNTERS);
  private udp: dgram.Socket;
  private readonly tcp: net.Server;
  private readonly conns: SocketConns;
  private readonly counters = new Float64Array(SERVER_COUNTER_NAMES.length);
  private readonly log = new BoundedLog(logger().child({ part: 'dns' }));
  private readonly sweeper: NodeJS.Timeout;
  private readonly onSent = (e: Error | null): void => {
    if (e) this.counters[N_UDP_SEND_ERRORS]!++;
  };
  port = 0;
  /** The query log (--query-log), or null. */
  queryLog: QueryLog | null = null;
  /** Who may NOTIFY the secondary zones (null: none; every NOTIFY is REFUSED). */
  notifyGate: NotifyGate | null = null;

  constructor(t: DnsTables, private readonly o: DnsSocketOptions) {
    this.responder = new DnsResponder(t);
    this.rrl = o.rrl !== undefined && (o.rrl.rate ?? RRL_DEFAULTS.rate) > 0 ? new ResponseRateLimiter(o.rrl, this.rrlCounters) : null;
    const max = o.maxConnections ?? 10_000;
    this.streams = new DnsStreams(this.responder, { capacity: max, messageTimeoutMs: o.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS, idleTimeoutMs: o.idleTimeoutMs });
    const streams = this.streams;
    this.conns = new SocketConns({ maxConnections: max, maxPerSource: o.maxConnectionsPerSource ?? 256 }, {
      open: (slot, s, now) => {
        s.setNoDelay(true);
        streams.open(slot, now, s.remoteFamily === 'IPv6');
      },
      // Closed after the answers owed on STREAM_CLOSE (as NSD does for a peer not speaking DNS).
      data: (slot, chunk, now) => {
        const n = streams.data(slot, chunk, 0, chunk.length, now, this);
        return n === STREAM_CLOSE ? CONN_CLOSE : n;
      },
      free: (slot) => streams.free(slot),
      deadline: (slot) => streams.deadline(slot),
      expired: (slot) => { this.counters[streams.phaseOf(slot) === STREAM_MESSAGE ? N_MESSAGE_TIMEOUTS : N_IDLE_TIMEOUTS]!++; },
    }, o.idleTimeoutMs, (e, slot, where) => this.fault(e, slot, `tcp ${where}`));
    this.udp = this.udpSocket();
    this.tcp = net.createServer((s) => this.conns.accept(s));
    const every = Math.max(50, Math.min(1000, Math.floor(Math.min(o.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS, o.idleTimeoutMs) / 4)));
    this.sweeper = setInterval(() => this.conns.sweep(), every);
    this.sweeper.unref();
  }

  /**
   * TCP first, then UDP on the same port. Asked for port 0, the kernel picks TCP's, and that
   * number may be taken for UDP by another socket: then both are tried again on another.
   */
  async listen(): Promise<{ address: string; port: number }> {
    for (let attempt = 1; ; attempt++) {
      await new Promise<void>((resolve, reject) => {
        this.tcp.once('error', (e) => reject(listenError('TCP', this.o, e)));
        this.tcp.listen({ host: this.o.host, port: this.o.port }, () => resolve());
      });
      this.tcp.removeAllListeners('error');
      this.port = (this.tcp.address() as net.AddressInfo).port;
      if (this.o.udp === false) break;
      const bound = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        this.udp.once('error', (e) => resolve(e));
        this.udp.bind(this.port, this.o.host, () => resolve(null));
      });
      if (bound === null) break;
      if (this.o.port !== 0 || bound.code !== 'EADDRINUSE' || attempt === 8) {
        this.tcp.close();
        throw listenError('UDP', this.o, bound);
      }
      await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
      this.udp = this.udpSocket();
    }
    // From now on an error on a socket (say, a send the kernel refuses) is counted, never fatal.
    if (this.o.udp === false) {
      this.udp.close();
      this.tcp.on('error', (e) => this.fault(e, -1, 'tcp server'));
      return { address: this.o.host, port: this.port };
    }
    this.udp.removeAllListeners('error');
    this.udp.on('error', (e) => this.fault(e, -1, 'udp socket'));
    this.tcp.on('error', (e) => this.fault(e, -1, 'tcp server'));
    return { address: this.o.host, port: this.port };
  }

  private udpSocket(): dgram.Socket {
    const u = dgram.createSocket({ type: net.isIPv6(this.o.host) ? 'udp6' : 'udp4' });
    u.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
    return u;
  }

  /** A reloaded image's tables, for the queries from now on (over UDP and TCP). */
  setTables(t: DnsTables): void {
    this.responder.t = t;
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.conns.closeAll(false);
    return new Promise((resolve) => {
      try { this.udp.close(); } catch { /* never bound */ }
      this.tcp.close(() => resolve());
    });
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = { tcp_connections_open: this.conns.size };
    DNS_COUNTER_NAMES.forEach((n, i) => { out[n] = this.responder.counters[i]!; });
    CONN_TABLE_COUNTER_NAMES.forEach((n, i) => { out[`tcp_connections_${n}`] = this.conns.table.counters[i]!; });
    SOCKET_CONN_COUNTER_NAMES.forEach((n, i) => { out[`tcp_${n}`] = this.conns.counters[i]!; });
    DNS_STREAM_COUNTER_NAMES.forEach((n, i) => { out[`tcp_${n}`] = this.streams.counters[i]!; });
    SERVER_COUNTER_NAMES.forEach((n, i) => { out[n] = this.counters[i]!; });
    RRL_COUNTER_NAMES.forEach((n, i) => { out[n] = this.rrlCounters[i]!; });
    return out;
  }

  private onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      // No answer can go to port 0 (and dgram refuses to send there): a spoofed source.
      if (rinfo.port === 0) {
        this.counters[N_UDP_DROP_PORT0]!++;
        return;
      }
      // The send is asynchronous: each answer gets its own buffer.
      const out = Buffer.allocUnsafe(Math.max(msg.length, UDP_OUT));
      msg.copy(out);
      const r = this.responder;
      let n = r.answer(out, 0, msg.length, out.length, TRANSPORT_UDP, rinfo.family === 'IPv6');
      if (n <= 0) return;
      if (r.notified >= 0) n = this.notifyGate !== null ? this.notifyGate.judgeText(r, out, 0, n, rinfo.address) : r.notifyRefused(out, 0);
      if (this.rrl !== null) {
        const d = this.rrl.decideAddress(rinfo.address, r.rrlClass, r.rrlName, (performance.now() / 1000) | 0);
        if (d === RRL_DROP) return; // counted by the limiter
        if (d === RRL_SLIP) n = r.slip(out, 0);
      }
      this.udp.send(out, 0, n, rinfo.port, rinfo.address, this.onSent);
      if (this.queryLog !== null) this.queryLog.fromText(LOG_UDP, rinfo.address, rinfo.port, out, 0, n, Date.now());
    } catch (e) {
      this.fault(e, -1, 'udp message');
    }
  }

  /** DnsStreamSink: a NOTIFY over TCP, judged by the connection's peer. */
  judgeNotify(slot: number, r: DnsResponder, buf: Uint8Array, off: number, n: number): number {
    const from = this.conns.socketOf(slot)?.remoteAddress;
    return this.notifyGate !== null && from !== undefined ? this.notifyGate.judgeText(r, buf, off, n, from) : r.notifyRefused(buf, off);
  }

  /** DnsStreamSink: one framed answer; false once TCP_QUEUE_CAP bytes wait for the peer. */
  send(slot: number, buf: Uint8Array, off: number, len: number): boolean {
    const s = this.conns.beginWrite(slot, Date.now());
    s.write(Buffer.from(buf.subarray(off, off + len)));
    if (this.queryLog !== null && len > 2) this.queryLog.fromText(LOG_TCP, s.remoteAddress, s.remotePort ?? 0, buf, off + 2, len - 2, Date.now());
    return s.writableLength < TCP_QUEUE_CAP;
  }

  private fault(e: unknown, slot: number, where: string): void {
    this.counters[N_HANDLER_ERRORS]!++;
    this.log.error({ ...errorFields(e), where, slot }, 'DNS handler failed; that datagram or connection is dropped');
    if (slot >= 0) {
      try { this.conns.drop(slot); } catch { /* gone already */ }
    }
  }
}
