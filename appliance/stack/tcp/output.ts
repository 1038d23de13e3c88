// What to send, and when (RFC 9293 §3.8, RFC 5681, RFC 6298): for a ready slot, data from
// SND.NXT within min(SND.WND, CWND) and the peer's MSS, the segment at SND.UNA again after a
// fast retransmit or a partial ACK, a zero-window probe, the FIN behind the last byte, and
// the ACK owed when nothing else carries it. For a slot whose deadline came: the
// retransmission timeout (go back to SND.UNA, the window down to one segment, RTO doubled),
// the SYN-ACK again, a persist probe, the session's deadlines, FIN-WAIT-2's.

import { ACK, FIN, PSH, RST, SYN, TCP_HEADER_LEN } from '../../wire/tcp.js';
import { IPV4_HEADER_LEN } from '../../wire/ipv4.js';
import { IPV6_HEADER_LEN } from '../../wire/ipv6.js';
import { onTimeout } from './congestion.js';
import * as T from './counters.js';
import { rttBackoff, rttStart } from './rtt.js';
import { writeSegment, type SynOptions } from './segment.js';
import { seqAdd, seqGt, seqLt } from './seq.js';
import {
  CLOSE_WAIT, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, F_ACK_NOW, F_FIN_QUEUED, F_PROBE, F_RETRANSMITTED, F_RETX_ONE, F_RST_NOW,
  F_SACK_OK, F_SHIFT_OK, F_SYNACK_NOW, LAST_ACK, SENDING, SYN_RECEIVED,
} from './table.js';
import type { TcpCore as Tcp } from './core.js';
import type { TxQueue } from '../tx.js';

const synOpts: SynOptions = { mss: 0, wscale: -1, sackOk: false };
/** Data segments one connection sends in a turn before the others of the batch have theirs (fairness). */
const SEGMENTS_PER_TURN = 16;

/** One segment of slot `s` into a frame of the batch; false when no frame was left. */
function emit(tcp: Tcp, s: number, tx: TxQueue, seq: number, flags: number, n: number, syn: SynOptions | null): boolean {
  let at = tx.take();
  if (at < 0) return false;
  const t = tcp.table;
  if (n > 0 && syn === null) {
    // The frame starts up to 7 bytes later so that the payload has its source's alignment (out-queue.ts alignOf).
    const a = tcp.outq.alignOf(s, seq);
    if (a >= 0) {
      const hdr = 14 + (t.VLAN[s]! >= 0 ? 4 : 0) + (t.FAMILY[s] === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) + TCP_HEADER_LEN;
      const shift = (a - (tx.mem.byteOffset + at + hdr)) & 7;
      if (hdr + n + shift <= tx.maxFrameLen) at += shift;
    }
  }
  const pieces = tcp.outq.pieces;
  const len = writeSegment(tx.mem, at, t, s, tcp.host, seq, t.RCV_NXT[s]!, flags, t.RCV_WND[s]!, n, tcp.outq, syn);
  tx.push(at, len);
  const c = tcp.counters;
  c[T.T_SEGMENTS_OUT]!++;
  if (n > 0) c[tcp.outq.pieces !== pieces ? T.T_SEGMENTS_TEMPLATE : T.T_SEGMENTS_COPIED]!++;
  else if (!(flags & (SYN | FIN | RST))) c[T.T_ACKS_SENT]!++;
  t.FLAGS[s] = t.FLAGS[s]! & ~F_ACK_NOW; // every segment carries the ACK
  return true;
}

/** Sends what slot `s` has to send now. */
export function sendSlot(tcp: Tcp, s: number, now: number, tx: TxQueue): void {
  const t = tcp.table;
  const q = tcp.outq;
  const c = tcp.counters;
  let f = t.FLAGS[s]!;
  if (f & F_RST_NOW) {
    // At the highest sequence number sent (RFC 9293 §3.10.5: SND.NXT of the RFC's model, which
    // a retransmission never rewinds), or the peer finds it outside its window and keeps a dead connection.
    if (emit(tcp, s, tx, t.SND_MAX[s]!, RST | ACK, 0, null)) c[T.T_RESETS_SENT]!++;
    tcp.release(s);
    return;
  }
  const st = t.STATE[s]!;
  if (st === SYN_RECEIVED) {
    // Its first SYN-ACK went out in the SYN's frame; this is the timer's resend.
    if (f & F_SYNACK_NOW) {
      if (!emitSynAck(tcp, s, tx)) return tcp.markReady(s);
      t.FLAGS[s] = t.FLAGS[s]! & ~F_SYNACK_NOW;
      c[T.T_RETRANSMITS]!++;
    }
    return;
  }
  const mss = t.MSS[s]!;
  const dataEnd = seqAdd(q.Q_SEQ[s]!, q.Q_LEN[s]!);
  const finQueued = (f & F_FIN_QUEUED) !== 0;

  // A fast retransmit or a partial ACK: the segment at SND.UNA again, at once.
  if (f & F_RETX_ONE) {
    t.FLAGS[s] = f & ~F_RETX_ONE;
    const una = t.SND_UNA[s]!;
    const n = Math.min(mss, seqLt(una, dataEnd) ? q.runLength(s, una) : 0);
    const fin = finQueued && seqAdd(una, n) === dataEnd && seqGt(t.SND_MAX[s]!, dataEnd);
    if (n > 0 || fin) {
      if (!emit(tcp, s, tx, una, ACK | (fin ? FIN : 0) | (n > 0 ? PSH : 0), n, null)) return tcp.markReady(s);
      c[T.T_RETRANSMITS]!++;
      t.FLAGS[s] = t.FLAGS[s]! | F_RETRANSMITTED;
    }
    f = t.FLAGS[s]!;
  }

  // A persist probe: one byte beyond the zero window, so that a lost window update cannot stall us.
  if (f & F_PROBE) {
    t.FLAGS[s] = f & ~F_PROBE;
    const nxt = t.SND_NXT[s]!;
    if (seqLt(nxt, dataEnd)) {
      if (!emit(tcp, s, tx, nxt, ACK, 1, null)) return tcp.markReady(s);
      c[T.T_ZERO_WINDOW_PROBES]!++;
      sent(tcp, s, nxt, 1, now);
    }
  }

  // New data, or data again after a timeout rewound SND.NXT.
  const wnd = Math.min(t.SND_WND[s]!, t.CWND[s]!);
  for (let turn = 0; ; turn++) {
    if (turn === SEGMENTS_PER_TURN) {
      tcp.markReady(s); // more later in the batch, after the others
      break;
    }
    const nxt = t.SND_NXT[s]!;
    const inFlight = (nxt - t.SND_UNA[s]!) >>> 0;
    const avail = seqLt(nxt, dataEnd) ? (dataEnd - nxt) >>> 0 : 0;
    if (avail > 0) {
      const usable = Math.floor(wnd - inFlight);
      if (usable <= 0) break;
      // A segment never spans two records: a response's pieces stay the image's pieces.
      const run = q.runLength(s, nxt);
      const n = Math.min(mss, run, usable);
      // Sender-side silly window avoidance (RFC 9293 §3.8.6.2.1): when the congestion window,
      // not the peer's, leaves room for only part of a segment while more of the record waits
      // and some is in flight, the ACK is waited for instead of sending a runt.
      if (n < mss && n < run && inFlight > 0 && t.CWND[s]! < t.SND_WND[s]!) break;
      const fin = finQueued && seqAdd(nxt, n) === dataEnd;
      if (!emit(tcp, s, tx, nxt, ACK | (n === avail ? PSH : 0) | (fin ? FIN : 0), n, null)) return tcp.markReady(s);
      sent(tcp, s, nxt, n + (fin ? 1 : 0), now);
      continue;
    }
    if (finQueued && nxt === dataEnd) {
      // Every byte is out: the FIN now (it needs no window).
      if (!emit(tcp, s, tx, nxt, ACK | FIN, 0, null)) return tcp.markReady(s);
      sent(tcp, s, nxt, 1, now);
    }
    break;
  }
  if (t.FLAGS[s]! & F_ACK_NOW) {
    // A bare ACK carries the highest sequence number sent, as BSD's snd_max: after a timeout
    // rewound SND_NXT it must not look older than what the peer has seen (SND.WL1 at its end).
    if (!emit(tcp, s, tx, t.SND_MAX[s]!, ACK, 0, null)) return tcp.markReady(s);
  }
  // A zero window with data waiting and nothing in flight: the persist timer probes it.
  if (t.SND_WND[s] === 0 && t.RTO_AT[s] === 0 && seqLt(t.SND_NXT[s]!, dataEnd) && t.SND_NXT[s] === t.SND_UNA[s]) {
    t.RTO_AT[s] = now + t.RTO[s]!;
  }
  rearm(tcp, s, now);
}

/** Bookkeeping after `n` sequence numbers went out at `seq`. */
function sent(tcp: Tcp, s: number, seq: number, n: number, now: number): void {
  const t = tcp.table;
  const end = seqAdd(seq, n);
  if (seqLt(seq, t.SND_MAX[s]!)) {
    tcp.counters[T.T_RETRANSMITS]!++;
  } else {
    rttStart(t, s, seq, now);
  }
  t.SND_NXT[s] = end;
  if (seqGt(end, t.SND_MAX[s]!)) t.SND_MAX[s] = end;
  if (t.RTO_AT[s] === 0) t.RTO_AT[s] = now + t.RTO[s]!;
  // The FIN went out: ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK.
  const dataEnd = seqAdd(tcp.outq.Q_SEQ[s]!, tcp.outq.Q_LEN[s]!);
  if (end === seqAdd(dataEnd, 1) && t.FLAGS[s]! & F_FIN_QUEUED) {
    const st = t.STATE[s]!;
    if (st === ESTABLISHED) t.setState(s, FIN_WAIT_1);
    else if (st === CLOSE_WAIT) t.setState(s, LAST_ACK);
  }
}

/**
 * Arms the slot's one timer for the earliest thing due: the retransmission/persist/SYN-ACK
 * timer, the session's deadline while it may still be read, the send deadline while data
 * waits for the peer, FIN-WAIT-2's.
 */
export function rearm(tcp: Tcp, s: number, _now: number): void {
  const t = tcp.table;
  const st = t.STATE[s]!;
  let at = t.RTO_AT[s]! > 0 ? t.RTO_AT[s]! : Infinity;
  if (st === SYN_RECEIVED) {
    tcp.wheel.arm(s, at);
    return;
  }
  const busy = t.SND_UNA[s] !== t.SND_MAX[s] || tcp.outq.Q_LEN[s]! > 0;
  // The session's deadlines are about a connection that is idle or slow to send its request:
  // while answers are on their way, they wait (as the socket backend's).
  if (st & (ESTABLISHED | CLOSE_WAIT) && !(t.FLAGS[s]! & F_FIN_QUEUED) && !busy) {
    const d = tcp.app(tcp.appOf[s]!).deadline(s);
    if (d < at) at = d;
  }
  if (busy && t.SND_WND[s] === 0) {
    const d = t.PROGRESS_AT[s]! + tcp.sendTimeoutMs;
    if (d < at) at = d;
  }
  if (st === FIN_WAIT_2) {
    const d = t.PROGRESS_AT[s]! + tcp.finWait2Ms;
    if (d < at) at = d;
  }
  if (at === Infinity) tcp.wheel.cancel(s);
  else tcp.wheel.arm(s, at);
}

/** The slot's deadline came: do what is due. */
export function expireSlot(tcp: Tcp, s: number, now: number): void {
  const t = tcp.table;
  const c = tcp.counters;
  const st = t.STATE[s]!;
  if (st === 0) return;
  const rtoDue = t.RTO_AT[s]! > 0 && t.RTO_AT[s]! <= now;
  if (st === SYN_RECEIVED) {
    if (!rtoDue) return rearm(tcp, s, now);
    if (t.RETRIES[s]! >= tcp.synAckRetries) {
      c[T.T_SYN_ACK_TIMEOUTS]!++;
      tcp.release(s);
      return;
    }
    t.RETRIES[s]!++;
    rttBackoff(t, s);
    t.RTO_AT[s] = now + t.RTO[s]!;
    t.FLAGS[s] = t.FLAGS[s]! | F_SYNACK_NOW;
    tcp.markReady(s);
    return rearm(tcp, s, now);
  }
  if (st === FIN_WAIT_2 && now >= t.PROGRESS_AT[s]! + tcp.finWait2Ms) {
    c[T.T_FIN_WAIT_2_TIMEOUTS]!++;
    c[T.T_CLOSED]!++;
    tcp.release(s);
    return;
  }
  const waiting = t.SND_UNA[s] !== t.SND_MAX[s] || tcp.outq.Q_LEN[s]! > 0;
  if (waiting && t.SND_WND[s] === 0 && now >= t.PROGRESS_AT[s]! + tcp.sendTimeoutMs) {
    // The peer kept its window shut and took nothing for the whole send deadline (a reader
    // that never reads: its probes are answered, so the retry limit never comes).
    c[T.T_SEND_TIMEOUTS]!++;
    resetNow(tcp, s);
    return;
  }
  if (rtoDue) {
    t.RTO_AT[s] = 0;
    if (t.SND_UNA[s] !== t.SND_MAX[s]) {
      if (t.RETRIES[s]! >= tcp.maxRetries) {
        c[T.T_RETRY_LIMIT]!++;
        resetNow(tcp, s);
        return;
      }
      // RFC 6298 §5.4-5.6, RFC 5681 §3.1: go back to SND.UNA, one segment, RTO doubled.
      c[T.T_RTO_EXPIRIES]!++;
      t.RETRIES[s]!++;
      onTimeout(t, s);
      rttBackoff(t, s);
      t.SND_NXT[s] = t.SND_UNA[s]!;
      if (t.SND_WND[s] === 0) t.FLAGS[s] = t.FLAGS[s]! | F_PROBE; // what is lost may be the probe
      t.RTO_AT[s] = now + t.RTO[s]!;
      tcp.markReady(s);
    } else if (t.SND_WND[s] === 0 && tcp.outq.Q_LEN[s]! > 0) {
      // Persist (RFC 9293 §3.8.6.1): probe the zero window, backing off as the RTO does.
      t.FLAGS[s] = t.FLAGS[s]! | F_PROBE;
      rttBackoff(t, s);
      t.RTO_AT[s] = now + t.RTO[s]!;
      tcp.markReady(s);
    }
  }
  if ((st & SENDING) && !(t.FLAGS[s]! & F_FIN_QUEUED) && !waiting) {
    const app = tcp.app(tcp.appOf[s]!);
    if (app.deadline(s) <= now) {
      // The session's head, message or idle deadline: the server closes first (FIN after what is queued).
      c[app.inRequest(s) ? T.T_MESSAGE_TIMEOUTS : T.T_IDLE_TIMEOUTS]!++;
      t.FLAGS[s] = t.FLAGS[s]! | F_FIN_QUEUED;
      tcp.markReady(s);
    }
  }
  rearm(tcp, s, now);
}

/** Reset and free at the next output (the RST needs a frame of the batch). */
function resetNow(tcp: Tcp, s: number): void {
  tcp.table.FLAGS[s] = tcp.table.FLAGS[s]! | F_RST_NOW;
  tcp.markReady(s);
}

/** Writes the SYN-ACK of slot `s` (called from the output pass, with a frame). */
export function emitSynAck(tcp: Tcp, s: number, tx: TxQueue): boolean {
  const t = tcp.table;
  synOpts.mss = t.FAMILY[s] === 4 ? tcp.mss4 : tcp.mss6;
  synOpts.wscale = t.FLAGS[s]! & F_SHIFT_OK ? 0 : -1;
  synOpts.sackOk = (t.FLAGS[s]! & F_SACK_OK) !== 0;
  return emit(tcp, s, tx, t.ISS[s]!, SYN | ACK, 0, synOpts);
}
