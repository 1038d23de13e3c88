// HTTP over kernel sockets (node:net): the image served without AF_XDP or root.
//
// Per request the only formatting is the Date (and Connection) field patched into a copy
// of the prebuilt header block; the body is written as a view of the shared image, never
// copied. Requests are framed here (whole heads to the parser), answered in order
// (pipelining), and reading stops while the socket's write buffer is full (backpressure:
// a slow reader holds a few views of the image, not copies of it).

import net from 'node:net';
import { ApplianceError } from '../../basics/errors.js';
import * as L from '../../specializers/http/layout.js';
import { DateCache } from '../http/date.js';
import { headLength, HEAD_OK, RequestHead, RequestParser } from '../http/request.js';
import { HttpResponder, PLAN_TEMPLATE, ResponsePlan } from '../http/responder.js';
import type { HttpTables } from '../http/tables.js';

export interface HttpSocketOptions {
  host: string;
  port: number;
  /** Idle keep-alive connections (and heads that never complete) are closed after this. */
  idleTimeoutMs: number;
}

export interface HttpSocketStats {
  connections: number;
  requests: number;
  badRequests: number;
}

const CONN_KEEP_ALIVE = Buffer.from(L.CONN_KEEP_ALIVE, 'latin1');
const CONN_CLOSE = Buffer.from(L.CONN_CLOSE, 'latin1');
/** Bodies up to this size are copied after the header block and sent in one write. */
const INLINE_BODY_MAX = 16 * 1024;

export class HttpSocketServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly responder: HttpResponder;
  private readonly date = new DateCache();
  private closing = false;
  readonly stats: HttpSocketStats = { connections: 0, requests: 0, badRequests: 0 };

  constructor(private readonly t: HttpTables, private readonly opts: HttpSocketOptions) {
    this.responder = new HttpResponder(t);
    this.server = net.createServer({ noDelay: true }, (s) => this.accept(s));
  }

  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(new ApplianceError('APPL_ERR_LISTEN', `cannot listen for HTTP on ${this.opts.host}:${this.opts.port}: ${e.code ?? e.message}` +
          (e.code === 'EADDRINUSE' ? ' (the port is taken; choose another with --http ADDR:PORT)' : e.code === 'EACCES' ? ' (ports below 1024 need root)' : '')));
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /** Stops accepting, lets responses in flight finish, closes every connection. */
  close(graceMs = 2000): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.end();
      setTimeout(() => { for (const s of this.sockets) s.destroy(); }, graceMs).unref();
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    this.sockets.add(socket);
    new Connection(socket, this);
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** @internal used by Connection */
  get internals(): { t: HttpTables; responder: HttpResponder; date: DateCache; opts: HttpSocketOptions; stats: HttpSocketStats } {
    return { t: this.t, responder: this.responder, date: this.date, opts: this.opts, stats: this.stats };
  }
}

class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private skip = 0;
  private waitingForDrain = false;
  private ended = false;
  private readonly parser = new RequestParser();
  private readonly req = new RequestHead();
  private readonly plan = new ResponsePlan();
  private readonly t: HttpTables;
  private readonly responder: HttpResponder;
  private readonly date: DateCache;
  private readonly stats: HttpSocketStats;

  constructor(private readonly socket: net.Socket, server: HttpSocketServer) {
    const i = server.internals;
    this.t = i.t;
    this.responder = i.responder;
    this.date = i.date;
    this.stats = i.stats;
    socket.setTimeout(i.opts.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (!this.waitingForDrain) return;
      this.waitingForDrain = false;
      socket.resume();
      this.process();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.parser.destroy());
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.waitingForDrain) this.process();
  }

  /** Answers every complete request buffered, in order, until the write buffer fills. */
  private process(): void {
    const now = Date.now();
    if (this.date.update(now)) this.responder.date = this.date.value;
    if (this.responder.date === '') this.responder.date = this.date.value;
    let off = 0;
    while (off < this.buf.length && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length - off);
        this.skip -= n;
        off += n;
        continue;
      }
      const len = headLength(this.buf, off);
      if (len === 0) break;
      this.stats.requests++;
      if (len < 0) {
        this.stats.badRequests++;
        this.responder.planError(-len, this.plan);
        this.send(); // a head over the limits always closes
        break;
      }
      const status = this.parser.parse(this.buf, off, len, this.req);
      off += len;
      if (status !== HEAD_OK) {
        this.stats.badRequests++;
        this.responder.planError(status, this.plan);
      } else {
        this.responder.respond(this.req, this.plan);
        if (this.req.bodyLength > 0) this.skip = this.req.bodyLength;
      }
      const ok = this.send();
      if (this.ended) break;
      if (!ok) {
        // Backpressure: stop reading and answering until the socket drains.
        this.waitingForDrain = true;
        this.socket.pause();
        break;
      }
    }
    this.buf = off >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }

  /** Writes the plan; returns false when the socket's buffer is full. */
  private send(): boolean {
    const plan = this.plan;
    const t = this.t;
    const s = this.socket;
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
      if (bodyLen > inline) ok = s.write(Buffer.from(t.blob.buffer, t.blob.byteOffset + headOff + headLen, bodyLen));
    } else {
      ok = s.write(Buffer.from(plan.head, 'latin1'));
      if (plan.bodyLen > 0) ok = s.write(Buffer.from(t.blob.buffer, t.blob.byteOffset + plan.bodyOff, plan.bodyLen));
    }
    s.uncork();
    if (plan.close) {
      this.ended = true;
      s.end();
    }
    return ok;
  }
}
