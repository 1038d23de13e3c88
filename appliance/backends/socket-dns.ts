// DNS over kernel sockets: UDP (node:dgram) and TCP (node:net), RFC 1035 §4.2, RFC 7766.
//
// The same responder as the fused stack: the query is copied into a buffer with room for
// the answer, answered in place, and sent. TCP connections carry several queries, also
// pipelined, each framed by its two-byte length; answers go back in order.

import dgram from 'node:dgram';
import net from 'node:net';
import { ApplianceError } from '../../basics/errors.js';
import { DnsResponder, MAX_MESSAGE, TRANSPORT_TCP, TRANSPORT_UDP } from '../dns/responder.js';
import type { DnsTables } from '../dns/tables.js';
import { EDNS_UDP_SIZE } from '../../specializers/dns/layout.js';

export interface DnsSocketOptions {
  host: string;
  port: number;
  /** Idle TCP connections are closed after this (RFC 7766 §6.2.3). */
  idleTimeoutMs: number;
}

/** Room for a UDP answer: the largest we send, plus the question it repeats. */
const UDP_OUT = EDNS_UDP_SIZE + 512;

function listenError(proto: string, o: DnsSocketOptions, e: NodeJS.ErrnoException): ApplianceError {
  return new ApplianceError('APPL_ERR_LISTEN', `cannot listen for DNS over ${proto} on ${o.host}:${o.port}: ${e.code ?? e.message}` +
    (e.code === 'EADDRINUSE' ? ' (the port is taken; choose another with --dns ADDR:PORT)' : e.code === 'EACCES' ? ' (ports below 1024 need root)' : ''));
}

export class DnsSocketServer {
  readonly responder: DnsResponder;
  private readonly udp: dgram.Socket;
  private readonly tcp: net.Server;
  private readonly conns = new Set<net.Socket>();
  private readonly tcpBuf = Buffer.allocUnsafe(MAX_MESSAGE + 2);
  port = 0;

  constructor(t: DnsTables, private readonly o: DnsSocketOptions) {
    this.responder = new DnsResponder(t);
    this.udp = dgram.createSocket({ type: net.isIPv6(o.host) ? 'udp6' : 'udp4' });
    this.udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
    this.tcp = net.createServer((s) => this.onTcp(s));
  }

  async listen(): Promise<{ address: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.udp.once('error', (e) => reject(listenError('UDP', this.o, e)));
      this.udp.bind(this.o.port, this.o.host, () => resolve());
    });
    this.port = this.udp.address().port;
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', (e) => reject(listenError('TCP', this.o, e)));
      this.tcp.listen({ host: this.o.host, port: this.port }, () => resolve());
    });
    return { address: this.o.host, port: this.port };
  }

  close(): Promise<void> {
    for (const s of this.conns) s.destroy();
    return new Promise((resolve) => {
      this.udp.close();
      this.tcp.close(() => resolve());
    });
  }

  private onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // The send is asynchronous: each answer gets its own buffer.
    const out = Buffer.allocUnsafe(Math.max(msg.length, UDP_OUT));
    msg.copy(out);
    const n = this.responder.answer(out, 0, msg.length, out.length, TRANSPORT_UDP, rinfo.family === 'IPv6');
    if (n > 0) this.udp.send(out, 0, n, rinfo.port, rinfo.address);
  }

  private onTcp(s: net.Socket): void {
    this.conns.add(s);
    let pending: Buffer = Buffer.alloc(0);
    const v6 = s.remoteFamily === 'IPv6';
    s.setNoDelay(true);
    s.setTimeout(this.o.idleTimeoutMs, () => s.destroy());
    let closing = false;
    s.on('data', (chunk: Buffer) => {
      if (closing) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let off = 0;
      while (pending.length - off >= 2) {
        const len = pending.readUInt16BE(off);
        if (pending.length - off - 2 < len) break;
        const work = this.tcpBuf;
        pending.copy(work, 2, off + 2, off + 2 + len);
        off += 2 + len;
        const n = this.responder.answer(work, 2, len, MAX_MESSAGE, TRANSPORT_TCP, v6);
        if (n < 0) {
          // Dropped (a response, or too short for a question): this peer is not speaking
          // DNS; the connection is closed after what is already answered, as NSD does.
          closing = true;
          s.end();
          return;
        }
        work.writeUInt16BE(n, 0);
        s.write(Buffer.from(work.subarray(0, n + 2)));
      }
      pending = off === pending.length ? Buffer.alloc(0) : pending.subarray(off);
    });
    s.on('error', () => s.destroy());
    s.on('close', () => this.conns.delete(s));
  }
}
