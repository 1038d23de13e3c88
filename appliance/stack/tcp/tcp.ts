// The TCP of the fused stack: a server-side, passive-open TCP (RFC 9293) per worker, built
// from typed-array tables, fused with the sessions that serve its ports. Read first:
// RFC 9293 §3.10 (event processing), RFC 5961 (blind in-window attacks), RFC 6298 (the
// retransmission timer), RFC 5681 and RFC 6582 (congestion control), RFC 6928 (initial
// window), RFC 4987 (SYN cookies), RFC 6528 (ISNs), RFC 7323 §2 (window scale).
//
// What the stack calls, per batch (docs/TCP-DESIGN.md "One batch"):
//
//   segment(...)       a checked segment for one of our addresses → a reply written in the
//                      frame it came in (SYN-ACK, RST, ACK from TIME-WAIT), or 0
//   output(now, tx)    the slots with something to send: data within min(SND.WND, CWND),
//                      retransmissions, FIN, the ACK owed (once per batch, or riding on data)
//   tick(now, tx)      the slots whose deadline came: RTO, SYN-ACK resend, persist probe,
//                      the sessions' head/message/idle deadlines, FIN-WAIT-2; TIME-WAIT expiry
//   nextDeadline()     how long the loop may sleep
//
// Segment processing (the state machine of RFC 9293 §3.10.7) is in input.ts; deciding and
// writing what goes out is in output.ts; this file holds the tables and the glue. TCP never
// reads the bytes of a request: in-order data goes to the session of its port (TcpApp),
// whose answers come back as output records (out-queue.ts), copied into segments when sent.
//
// Left out, on purpose (README "TCP"): active open (SYN-SENT never occurs), timestamps and
// PAWS (RFC 7323 §3-5: the image's segments are cut for 1460/1440 bytes with no room for
// options), processing of SACK blocks (SACK-permitted is answered; blocks are ignored),
// urgent data, out-of-order queueing (dropped with a duplicate ACK), ECN.

import type { TcpView } from '../../wire/tcp.js';
import { CLOSED, F_READY } from './table.js';
import * as T from './counters.js';
import type { TxQueue } from '../tx.js';
import { TcpCore } from './core.js';
import { input } from './input.js';
import { expireSlot, sendSlot } from './output.js';

export { APP_CLOSE, RCV_WINDOW, SegmentIn, TcpCore, type TcpApp, type TcpConfig } from './core.js';

export class Tcp extends TcpCore {
  private readonly expired = new Int32Array(256);

  /**
   * A segment for one of our addresses, its checksum verified and its options parsed into
   * `view` (the stack did both). The frame starts at mem[frameAt]; `ipAt`/`view.off` are its
   * IP and TCP headers. Returns the length of a reply written in place, or 0.
   */
  segment(mem: Uint8Array, frameAt: number, ipAt: number, v4: boolean, local: number, vlan: number, view: TcpView, now: number): number {
    const g = this.seg;
    g.v4 = v4;
    g.local = local;
    g.frameAt = frameAt;
    g.ipAt = ipAt;
    g.tcpAt = view.off;
    g.vlan = vlan;
    g.view = view;
    g.raddr = v4 ? ((mem[ipAt + 12]! << 24) | (mem[ipAt + 13]! << 16) | (mem[ipAt + 14]! << 8) | mem[ipAt + 15]!) >>> 0 : 0;
    g.raddrAt = v4 ? 0 : ipAt + 8;
    g.sport = view.srcPort;
    g.dport = view.dstPort;
    g.seq = view.seq;
    g.ack = view.ack;
    g.flags = view.flags;
    g.window = view.window;
    g.payloadAt = view.payloadOffset;
    g.payloadLen = view.payloadLen;
    this.counters[T.T_SEGMENTS_IN]!++;
    return input(this, mem, now);
  }

  /** Sends what the ready slots have to send, while the batch has frames. */
  output(now: number, tx: TxQueue): void {
    const t = this.table;
    let n = this.readyCount;
    while (n-- > 0 && tx.room > 0) {
      const s = this.ready[this.readyHead]!;
      this.readyHead = (this.readyHead + 1) % this.ready.length;
      this.readyCount--;
      if (!(t.FLAGS[s]! & F_READY) || t.STATE[s] === CLOSED) continue;
      t.FLAGS[s] = t.FLAGS[s]! & ~F_READY;
      sendSlot(this, s, now, tx);
    }
    this.counters[T.T_CONNECTIONS] = t.used;
    this.counters[T.T_HALF_OPEN] = t.halfOpen;
  }

  /** Deadlines that came: handled, then what they made ready is sent. */
  tick(now: number, tx: TxQueue): void {
    for (;;) {
      const n = this.wheel.expire(now, this.expired);
      for (let i = 0; i < n; i++) expireSlot(this, this.expired[i]!, now);
      if (n < this.expired.length) break;
    }
    this.tw.expire(now);
    this.counters[T.T_TIME_WAIT_RECYCLED] = this.tw.recycled;
    this.output(now, tx);
  }

  /** The earliest time anything is due (ms), or Infinity. */
  nextDeadline(): number {
    if (this.readyCount > 0) return 0;
    return Math.min(this.wheel.nextDeadline(), this.tw.nextDeadline());
  }

}
