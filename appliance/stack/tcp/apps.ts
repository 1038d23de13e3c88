// The sessions the fused TCP serves, behind the TcpApp interface: DNS over TCP (the
// DNS-over-TCP session the socket backend runs too, appliance/dns/stream.ts). Answers go
// into the connection's output records (copied into the arena: TCP keeps them until the
// peer acknowledges them); when the records are full the session is told to stop, and
// TCP closes the window (backpressure).

import { DnsStreams, STREAM_CLOSE, type DnsStreamSink } from '../../dns/stream.js';
import { T_BUFFER_EXHAUSTED } from './counters.js';
import { APP_CLOSE, type TcpApp, type TcpCore } from './core.js';
import { F_RST_NOW } from './table.js';

export class DnsTcpApp implements TcpApp, DnsStreamSink {
  constructor(readonly streams: DnsStreams, private readonly tcp: TcpCore) {}

  open(slot: number, now: number, v6: boolean): void {
    this.streams.open(slot, now, v6);
  }

  data(slot: number, mem: Uint8Array, off: number, len: number, now: number): number {
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
    return tcp.outq.hasRoom(slot);
  }
}
