// HTTP over kernel sockets (node:net): the image served without AF_XDP or root.
//
// The framing, limits and deadlines are the HTTP session's (appliance/http/session.ts), the
// same code the fused TCP runs; the connections (caps, backpressure, the sweep, containment)
// are socket-conns.ts's, as for DNS over TCP. This file writes the responses.
// Per request the only formatting is the Date (and Connection) field patched into a copy of
// the prebuilt header block; large bodies are written as views of the shared image, never
// copied. Reading stops while a socket's write buffer is full (backpressure: a slow reader
// holds a few views of the image, not copies of it).
//
// Hostile clients (README "Limits"): connections are capped in total and per source, and
// at a cap the longest-waiting idle connection is closed to make room (conn-table.ts); a
// sweep closes connections past their head, body or idle deadline, and those whose client
// has not taken any of a response for the idle timeout. Every handler is contained: an
// exception in one costs that connection only, is counted, and is logged at a bounded rate.

import net from 'node:net';
import { ApplianceError } from '../../basics/errors.js';
import * as L from '../../specializers/http/layout.js';
import { DateCache } from '../http/date.js';
import { PLAN_TEMPLATE, type ResponsePlan } from '../http/responder.js';
import {
  HttpSessions, HTTP_SESSION_COUNTER_NAMES, PHASE_BODY, PHASE_CHUNKED, PHASE_HEAD, SESSION_CLOSE, type HttpSink,
} from '../http/session.js';
import type { HttpTables } from '../http/tables.js';
import type { AccessLogSink } from '../http/session.js';
import { addressBytes, type LogRing } from '../log-ring.js';
import { BoundedLog, errorFields, logger } from '../log.js';
import { CONN_TABLE_COUNTER_NAMES } from './conn-table.js';
import { CONN_CLOSE as END_CONNECTION, SOCKET_CONN_COUNTER_NAMES, SocketConns } from './socket-conns.js';

export interface HttpSocketOptions {
  host: string;
  port: number;
  /** Idle keep-alive connections are closed after this; a client that takes none of a response for this long too. */
  idleTimeoutMs: number;
  /** A request head must be complete this long after its first byte (default: 60 s, as nginx's client_header_timeout). */
  headerTimeoutMs?: number;
  /** Connections at most (default 10,000). */
  maxConnections?: number;
  /** Connections at most from one IPv4 address or IPv6 /64 (default 256). */
  maxConnectionsPerSource?: number;
}

export const DEFAULT_HEADER_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MAX_PER_SOURCE = 256;

// The server's own counters.
const N_HEADER_TIMEOUTS = 0;
const N_BODY_TIMEOUTS = 1;
const N_IDLE_TIMEOUTS = 2;
const N_HANDLER_ERRORS = 3;
const SERVER_COUNTER_NAMES = ['header_timeouts', 'body_timeouts', 'idle_timeouts', 'handler_errors'];

const CONN_KEEP_ALIVE = Buffer.from(L.CONN_KEEP_ALIVE, 'latin1');
const CONN_CLOSE = Buffer.from(L.CONN_CLOSE, 'latin1');
/** Bodies up to this size are copied after the header block and sent in one write. */
const INLINE_BODY_MAX = 16 * 1024;
/** Larger bodies are written as views of this size, so that a slow reader's progress is seen. */
const BODY_SLICE = 1 << 20;

export class HttpSocketServer implements HttpSink, AccessLogSink {
  private readonly server: net.Server;
  private t: HttpTables;
  readonly sessions: HttpSessions;
  private readonly conns: SocketConns;
  private readonly date = new DateCache();
  private readonly log = new BoundedLog(logger().child({ part: 'http' }));
  private readonly counters = new Float64Array(SERVER_COUNTER_NAMES.length);
  private readonly sweeper: NodeJS.Timeout;
  private readonly headerTimeoutMs: number;
  /** Monotonic-enough time of the current event, for the session. */
  private now = Date.now();
  private ring: LogRing | null = null;
  private readonly addr = new Uint8Array(16);

  constructor(t: HttpTables, private readonly opts: HttpSocketOptions) {
    this.t = t;
    this.headerTimeoutMs = opts.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
    const max = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.sessions = new HttpSessions(t, { capacity: max, headerTimeoutMs: this.headerTimeoutMs, idleTimeoutMs: opts.idleTimeoutMs });
    const sessions = this.sessions;
    this.conns = new SocketConns({ maxConnections: max, maxPerSource: opts.maxConnectionsPerSource ?? DEFAULT_MAX_PER_SOURCE }, {
      open: (slot, _s, now) => sessions.open(slot, now),
      data: (slot, chunk, now) => {
        this.now = now;
        const n = sessions.data(slot, chunk, 0, chunk.length, now, this);
        return n === SESSION_CLOSE ? END_CONNECTION : n;
      },
      free: (slot) => sessions.free(slot),
      deadline: (slot) => sessions.deadline(slot),
      expired: (slot) => {
        const phase = sessions.phaseOf(slot);
        this.counters[phase === PHASE_HEAD ? N_HEADER_TIMEOUTS : phase === PHASE_BODY || phase === PHASE_CHUNKED ? N_BODY_TIMEOUTS : N_IDLE_TIMEOUTS]!++;
      },
    }, opts.idleTimeoutMs, (e, slot, where) => this.fault(e, slot, where));
    this.server = net.createServer({ noDelay: true }, (s) => this.conns.accept(s));
    this.server.on('error', (e) => this.fault(e, -1, 'server'));
    const every = Math.max(50, Math.min(1000, Math.floor(Math.min(this.headerTimeoutMs, opts.idleTimeoutMs) / 4)));
    this.sweeper = setInterval(() => this.conns.sweep(), every);
    this.sweeper.unref();
  }

  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(new ApplianceError('APPL_ERR_LISTEN', `cannot listen for HTTP on ${this.opts.host}:${this.opts.port}: ${e.code ?? e.message}` +
          (e.code === 'EADDRINUSE' ? ' (the port is taken; choose another with --http ADDR:PORT)' : e.code === 'EACCES' ? ' (a port below 1024 needs the capability CAP_NET_BIND_SERVICE: start as root with --user USER to drop the rest, or grant it, as deploy/appliance.service does)' : '')));
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /**
   * A reloaded image's tables, for the requests from now on (a response being written goes
   * on from the image it started on: its views keep that image alive until written).
   */
  setTables(t: HttpTables): void {
    this.t = t;
    this.sessions.responder.setTables(t);
  }

  /** Logs every request answered into `ring` (drained by the serve command). */
  logTo(ring: LogRing): void {
    this.ring = ring;
    this.sessions.accessLog = this;
  }

  /** AccessLogSink. */
  request(slot: number, head: Uint8Array, off: number, len: number, status: number, bodyBytes: number): void {
    const s = this.conns.socketOf(slot);
    const family = addressBytes(s?.remoteAddress, this.addr);
    this.ring!.access(family, this.addr, 0, s?.remotePort ?? 0, status, bodyBytes, Date.now(), head, off, len);
  }

  /** Stops accepting, lets responses in flight finish, closes every connection. */
  close(graceMs = 2000): Promise<void> {
    clearInterval(this.sweeper);
    return new Promise((resolve) => {
      this.server.close(() => {
        this.sessions.destroy();
        resolve();
      });
      this.conns.closeAll(true);
      setTimeout(() => this.conns.closeAll(false), graceMs).unref();
    });
  }

  /** Every counter, by name. */
  stats(): Record<string, number> {
    const out: Record<string, number> = { connections_open: this.conns.size };
    CONN_TABLE_COUNTER_NAMES.forEach((n, i) => { out[`connections_${n}`] = this.conns.table.counters[i]!; });
    SOCKET_CONN_COUNTER_NAMES.forEach((n, i) => { out[n] = this.conns.counters[i]!; });
    HTTP_SESSION_COUNTER_NAMES.forEach((n, i) => { out[n] = this.sessions.counters[i]!; });
    SERVER_COUNTER_NAMES.forEach((n, i) => { out[n] = this.counters[i]!; });
    out.head_blocks_in_use = this.sessions.headBlocksInUse;
    return out;
  }

  /** HttpSink: writes the plan; false when the socket's buffer is full. */
  send(slot: number, plan: ResponsePlan): boolean {
    const t = this.t;
    this.date.update(this.now);
    const s = this.conns.beginWrite(slot, this.now);
    s.cork();
    let ok: boolean;
    if (plan.kind === PLAN_TEMPLATE) {
      const a = plan.resp * L.RESPONSE_WORDS;
      const headOff = t.responses[a + L.RESP_HEAD_OFF]!;
      const headLen = t.responses[a + L.RESP_HEAD_LEN]!;
      const bodyLen = t.responses[a + L.RESP_BODY_LEN]!;
      // Small responses go out as one copy (one write); large bodies as views of the image.
      const inline = bodyLen <= INLINE_BODY_MAX ? bodyLen : 0;
      const out = Buffer.allocUnsafe(headLen + inline);
      out.set(t.blob.subarray(headOff, headOff + headLen + inline));
      out.set(this.date.bytes, t.responses[a + L.RESP_DATE_AT]!);
      out.set(plan.close ? CONN_CLOSE : CONN_KEEP_ALIVE, t.responses[a + L.RESP_CONN_AT]!);
      ok = s.write(out);
      if (bodyLen > inline) ok = this.writeBody(slot, s, headOff + headLen, bodyLen);
    } else {
      ok = s.write(Buffer.from(plan.head, 'latin1'));
      if (plan.bodyLen > 0) ok = this.writeBody(slot, s, plan.bodyOff, plan.bodyLen);
    }
    s.uncork();
    return ok;
  }

  /** A span of the BLOB, as views of the shared image, in slices whose completion marks progress. */
  private writeBody(slot: number, s: net.Socket, off: number, len: number): boolean {
    const t = this.t;
    let ok = true;
    for (let done = 0; done < len; done += BODY_SLICE) {
      const n = Math.min(BODY_SLICE, len - done);
      const view = Buffer.from(t.blob.buffer, t.blob.byteOffset + off + done, n);
      ok = len <= BODY_SLICE ? s.write(view) : s.write(view, () => this.conns.progressed(slot, s));
    }
    return ok;
  }

  /** An exception in a handler: counted, logged at a bounded rate, and it costs that connection only. */
  private fault(e: unknown, slot: number, where: string): void {
    this.counters[N_HANDLER_ERRORS]!++;
    this.log.error({ ...errorFields(e), where, slot }, 'HTTP handler failed; the connection is closed');
    if (slot >= 0) {
      try { this.conns.drop(slot); } catch { /* the socket is gone already */ }
    }
  }
}
