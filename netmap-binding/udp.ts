// UDP through a kernel socket, a batch per system call (recvmmsg, sendmmsg; src/udp.c):
// for the socket backend's DNS, where Node's dgram makes one system call and one Buffer per
// datagram. The batch's memory is allocated once; answers are written in place over the
// queries, and go back to the address each came from.
//
//   bufs   BATCH slots of SLOT bytes     lens   a length per slot     names  a sockaddr per slot
//
// A name is the kernel's sockaddr_in (family 2: port at 2, address at 4) or sockaddr_in6
// (family 10: port at 2, address at 8); peerAt() says where a slot's address is.

import { callNative, loadNative } from './loader.js';
import { parseIPv4, parseIPv6 } from './afxdp.js';

/** Datagrams per system call. */
export const UDP_BATCH = 64;
/** Bytes per slot: a query in, its answer out (the responder is told this room). */
export const UDP_SLOT = 4096;
export const NAME_LEN = 28;
const AF_INET6 = 10;

export class UdpBatchSocket {
  readonly bufs = new Uint8Array(UDP_BATCH * UDP_SLOT);
  readonly lens = new Uint32Array(UDP_BATCH);
  readonly names = new Uint8Array(UDP_BATCH * NAME_LEN);
  private readonly result = new Uint32Array(3);
  /** Answers the kernel refused (a peer it cannot send to), and sends that found the buffer full. */
  refused = 0;
  blocked = 0;
  private closed = false;

  private constructor(readonly fd: number, readonly port: number, private readonly native: ReturnType<typeof loadNative>) {}

  /** A socket on host:port (port 0: any; reusePort: several sockets share the port, the kernel spreads the flows). */
  static open(host: string, port: number, reusePort: boolean): UdpBatchSocket {
    const native = loadNative();
    const addr = host.includes(':') ? parseIPv6(host) : parseIPv4(host);
    const s = callNative(() => native.udpOpen(addr, port, reusePort));
    return new UdpBatchSocket(s.fd, s.port, native);
  }

  /** Datagrams into the batch (lens[i] 0: one to skip); 0 when none came within timeoutMs. */
  receive(timeoutMs: number): number {
    return this.native.udpRecv(this.fd, this.bufs, UDP_SLOT, this.lens, this.names, UDP_BATCH, timeoutMs);
  }

  /** Sends slot i's answer for each i < n whose lens[i] is not 0. */
  send(n: number): number {
    const sent = this.native.udpSend(this.fd, this.bufs, UDP_SLOT, this.lens, this.names, n, this.result);
    this.refused += this.result[1]!;
    this.blocked += this.result[2]!;
    return sent;
  }

  /** Is slot i's peer IPv6 (an IPv4-mapped address, from a dual-stack socket, counts as IPv4)? */
  isV6(i: number): boolean {
    return this.names[i * NAME_LEN] === AF_INET6 && !this.mapped(i);
  }

  /** Where slot i's peer address starts in `names` (4 bytes for IPv4, 16 for IPv6). */
  peerAt(i: number): number {
    const at = i * NAME_LEN;
    if (this.names[at] !== AF_INET6) return at + 4;
    return this.mapped(i) ? at + 20 : at + 8;
  }

  peerPort(i: number): number {
    const at = i * NAME_LEN;
    return (this.names[at + 2]! << 8) | this.names[at + 3]!;
  }

  private mapped(i: number): boolean {
    const a = i * NAME_LEN + 8;
    const n = this.names;
    for (let k = 0; k < 10; k++) if (n[a + k] !== 0) return false;
    return n[a + 10] === 0xff && n[a + 11] === 0xff;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    callNative(() => this.native.closeFd(this.fd));
  }
}
