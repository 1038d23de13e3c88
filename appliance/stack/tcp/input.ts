// SEGMENT ARRIVES (RFC 9293 §3.10.7): a segment for no connection (a TIME-WAIT row, a
// listening port: SYN → a slot or a cookie, ACK → a cookie's check, else RST), for a slot
// in SYN-RECEIVED, or for a synchronized one — with RFC 5961's checks: a RST in the window
// but not at RCV.NXT and a SYN in the window get a challenge ACK, an ACK outside
// [SND.UNA − MAX.SND.WND, SND.NXT] is dropped. In-order data goes to the port's session;
// data beyond RCV.NXT is dropped and answered with a duplicate ACK (RFC 5681 §4.2).

import { ACK, FIN, RST, SYN } from '../../wire/tcp.js';
import { initialWindow, onDupAck, onNewAck } from './congestion.js';
import * as T from './counters.js';
import { RTO_INITIAL_MS, rttAck, rttProgress } from './rtt.js';
import { turnAround, type SynOptions } from './segment.js';
import { seqAdd, seqGt, seqInRange, seqLeq, seqLt } from './seq.js';
import {
  CLOSE_WAIT, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, F_ACK_NOW, F_COOKIE, F_FIN_AFTER_HOLD, F_FIN_QUEUED, F_SACK_OK, F_SHIFT_OK,
  F_WINDOW_CLOSED, LAST_ACK, RECEIVING, SYN_RECEIVED,
} from './table.js';
import { APP_CLOSE, RCV_WINDOW, type TcpCore as Tcp } from './core.js';
import { rearm } from './output.js';

/** ssthresh before any loss: "arbitrarily high" (RFC 5681 §3.1). */
const INITIAL_SSTHRESH = 1 << 30;
/** RFC 9293 §3.7.1: the MSS to assume when a SYN carries none. */
const DEFAULT_MSS4 = 536;
const DEFAULT_MSS6 = 1220;

const synOpts: SynOptions = { mss: 0, wscale: -1, sackOk: false };

export function input(tcp: Tcp, mem: Uint8Array, now: number): number {
  const g = tcp.seg;
  const c = tcp.counters;
  if (g.sport === 0 || g.dport === 0) {
    c[T.T_DROP_BAD_PORT]!++;
    return 0;
  }
  const t = tcp.table;
  const s = g.v4 ? t.find4(g.raddr, g.sport, g.dport, g.local) : t.find6(mem, g.raddrAt, g.sport, g.dport, g.local);
  if (s >= 0) return synchronized(tcp, s, mem, now);
  const tw = tcp.findTimeWait(mem);
  if (tw >= 0) {
    const r = timeWait(tcp, tw, mem, now);
    if (r !== -1) return r;
    // A new SYN took over the 4-tuple: as to a listening port.
  }
  const app = tcp.appIndex(g.dport);
  if (app < 0) {
    c[T.T_DROP_NO_LISTENER]!++;
    return resetFor(tcp, mem);
  }
  return listening(tcp, app, mem, now);
}

/**
 * RFC 9293 §3.10.7 CLOSED: a RST for a segment that belongs to nothing (none for a RST).
 */
function resetFor(tcp: Tcp, mem: Uint8Array): number {
  const g = tcp.seg;
  if (g.flags & RST) return 0;
  tcp.counters[T.T_RESETS_SENT]!++;
  tcp.counters[T.T_SEGMENTS_OUT]!++;
  if (g.flags & ACK) return turnAround(mem, g.frameAt, g.ipAt, g.tcpAt, g.v4, tcp.host.mac, g.ack, 0, RST, 0, null);
  const len = g.payloadLen + (g.flags & SYN ? 1 : 0) + (g.flags & FIN ? 1 : 0);
  return turnAround(mem, g.frameAt, g.ipAt, g.tcpAt, g.v4, tcp.host.mac, 0, seqAdd(g.seq, len), RST | ACK, 0, null);
}

/**
 * TIME-WAIT (§3.10.7 Other States and §3.6.1 of RFC 9293; RFC 6191 for a new SYN). -1: a SYN may open a new connection.
 */
function timeWait(tcp: Tcp, r: number, mem: Uint8Array, now: number): number {
  const g = tcp.seg;
  const tw = tcp.tw;
  if (g.flags & RST) {
    tw.remove(r);
    return 0;
  }
  if ((g.flags & (SYN | ACK)) === SYN) {
    // A new incarnation is welcome if it starts beyond the old one (as Linux does without timestamps).
    if (seqGt(g.seq, tw.RCV_NXT[r]!)) {
      tw.remove(r);
      return -1;
    }
  } else if (!(g.flags & FIN) && g.payloadLen === 0) {
    return 0; // a bare ACK: our last ACK arrived; nothing to say
  }
  if (g.flags & FIN) tw.restart(r, now);
  tcp.counters[T.T_ACKS_SENT]!++;
  tcp.counters[T.T_SEGMENTS_OUT]!++;
  return turnAround(mem, g.frameAt, g.ipAt, g.tcpAt, g.v4, tcp.host.mac, tw.SND_NXT[r]!, tw.RCV_NXT[r]!, ACK, RCV_WINDOW, null);
}

/**
 * LISTEN (§3.10.7 LISTEN), and the ACK that returns a SYN cookie (RFC 4987 §3.6).
 */
function listening(tcp: Tcp, app: number, mem: Uint8Array, now: number): number {
  const g = tcp.seg;
  const c = tcp.counters;
  const t = tcp.table;
  const f = g.flags;
  if (f & RST) return 0;
  if (f & ACK) {
    if (f & SYN) return resetFor(tcp, mem);
    const mss = tcp.isn.check(tcp.tupleWord(0, mem), tcp.tupleWord(1, mem), tcp.tupleWord(2, mem), tcp.tupleWord(3, mem), tcp.tupleWord(4, mem), g.ack, g.seq, now);
    if (mss === 0) {
      c[T.T_DROP_BAD_COOKIE]!++;
      return resetFor(tcp, mem);
    }
    const s = newSlot(tcp, mem);
    if (s < 0) {
      c[T.T_TABLE_FULL]!++;
      return resetFor(tcp, mem);
    }
    c[T.T_COOKIES_ACCEPTED]!++;
    const iss = (g.ack - 1) >>> 0;
    openSlot(tcp, s, app, mem, iss, (g.seq - 1) >>> 0, Math.min(mss, g.v4 ? tcp.mss4 : tcp.mss6), now);
    t.FLAGS[s] = F_COOKIE;
    t.SND_SHIFT[s] = 0;
    t.SND_WND[s] = g.window;
    t.MAX_SND_WND[s] = g.window;
    t.SND_WL1[s] = g.seq;
    t.SND_WL2[s] = g.ack;
    establish(tcp, s, now);
    // The rest of the segment (data, FIN) as in ESTABLISHED.
    return synchronized(tcp, s, mem, now);
  }
  if (!(f & SYN)) {
    c[T.T_DROP_NO_CONNECTION]!++;
    return 0;
  }
  if (tcp.shedSyns) {
    c[T.T_SYNS_SHED]!++;
    return 0;
  }
  c[T.T_SYN_RECEIVED]!++;
  if (g.payloadLen > 0) c[T.T_SYN_DATA_IGNORED]!++;
  const view = g.view!;
  const ourMss = g.v4 ? tcp.mss4 : tcp.mss6;
  const peerMss = view.mss > 0 ? view.mss : g.v4 ? DEFAULT_MSS4 : DEFAULT_MSS6;
  const s = t.halfOpen >= tcp.halfOpenLimit ? -1 : newSlot(tcp, mem);
  if (s < 0) {
    // No state for this SYN: a cookie carries what the handshake needs (no window scale, no SACK).
    if (t.halfOpen >= tcp.halfOpenLimit) c[T.T_HALF_OPEN_LIMIT]!++;
    c[T.T_COOKIES_SENT]!++;
    c[T.T_SEGMENTS_OUT]!++;
    const iss = tcp.isn.cookie(tcp.tupleWord(0, mem), tcp.tupleWord(1, mem), tcp.tupleWord(2, mem), tcp.tupleWord(3, mem), tcp.tupleWord(4, mem), g.seq, Math.min(peerMss, ourMss), now);
    synOpts.mss = ourMss;
    synOpts.wscale = -1;
    synOpts.sackOk = false;
    return turnAround(mem, g.frameAt, g.ipAt, g.tcpAt, g.v4, tcp.host.mac, iss, seqAdd(g.seq, 1), SYN | ACK, RCV_WINDOW, synOpts);
  }
  const iss = tcp.isn.isn(tcp.tupleWord(0, mem), tcp.tupleWord(1, mem), tcp.tupleWord(2, mem), tcp.tupleWord(3, mem), tcp.tupleWord(4, mem), now);
  openSlot(tcp, s, app, mem, iss, g.seq, Math.min(peerMss, ourMss), now);
  t.setState(s, SYN_RECEIVED);
  // Window scale only when both SYNs carry it (RFC 7323 §2.2); a SYN's own window is never scaled.
  let flags = 0;
  if (view.wscale >= 0) {
    flags |= F_SHIFT_OK;
    t.SND_SHIFT[s] = view.wscale;
  } else {
    t.SND_SHIFT[s] = 0;
  }
  if (view.sackOk) flags |= F_SACK_OK;
  t.FLAGS[s] = flags;
  t.SND_WND[s] = g.window;
  t.MAX_SND_WND[s] = g.window;
  t.SND_WL1[s] = g.seq;
  t.SND_WL2[s] = iss;
  t.RTO_AT[s] = now + t.RTO[s]!;
  rearm(tcp, s, now);
  c[T.T_SEGMENTS_OUT]!++;
  synOpts.mss = ourMss;
  synOpts.wscale = view.wscale >= 0 ? 0 : -1;
  synOpts.sackOk = view.sackOk;
  return turnAround(mem, g.frameAt, g.ipAt, g.tcpAt, g.v4, tcp.host.mac, iss, t.RCV_NXT[s]!, SYN | ACK, RCV_WINDOW, synOpts);
}

/**
 * A slot for the segment's 4-tuple: a free one, or when the table is full the one waiting
 * longest since its last answer among those that can go: with nothing in flight and no
 * request under way; or past its answers (our FIN sent: the application is done with it,
 * as Linux's orphans); or retransmitting to a peer that has not answered (an RTO expired).
 * -1 if none.
 */
function newSlot(tcp: Tcp, mem: Uint8Array): number {
  const g = tcp.seg;
  const t = tcp.table;
  if (t.free === 0) {
    const v = t.victim((s) => (t.STATE[s]! & (FIN_WAIT_1 | CLOSING | LAST_ACK)) !== 0 || t.RETRIES[s]! > 0 ||
      (t.SND_UNA[s] === t.SND_MAX[s] && !tcp.app(tcp.appOf[s]!).inRequest(s) && tcp.outq.records(s) === 0));
    if (v < 0) return -1;
    tcp.counters[T.T_EVICTED]!++;
    tcp.counters[T.T_RESETS_SENT]!++;
    // The evicted peer learns of it when it next sends: its segments then belong to nothing (RST).
    tcp.release(v);
  }
  return t.alloc(g.v4 ? 4 : 6, g.raddr, mem, g.raddrAt, g.sport, g.dport, g.local);
}

/** The columns every new connection starts with. */
function openSlot(tcp: Tcp, s: number, app: number, mem: Uint8Array, iss: number, irs: number, mss: number, now: number): void {
  const t = tcp.table;
  const g = tcp.seg;
  tcp.appOf[s] = app;
  for (let i = 0; i < 6; i++) t.R_MAC[s * 6 + i] = mem[g.frameAt + 6 + i]!;
  t.VLAN[s] = g.vlan;
  t.ISS[s] = iss;
  t.IRS[s] = irs;
  t.SND_UNA[s] = iss;
  t.SND_NXT[s] = seqAdd(iss, 1);
  t.SND_MAX[s] = t.SND_NXT[s]!;
  t.RCV_NXT[s] = seqAdd(irs, 1);
  t.RCV_WND[s] = RCV_WINDOW;
  t.MSS[s] = mss;
  t.CWND[s] = initialWindow(mss);
  t.SSTHRESH[s] = INITIAL_SSTHRESH;
  t.RECOVER[s] = iss;
  t.SRTT[s] = 0;
  t.RTTVAR[s] = 0;
  t.RTO[s] = RTO_INITIAL_MS;
  t.PROGRESS_AT[s] = now;
  tcp.outq.open(s, seqAdd(iss, 1));
}

/** SYN-RECEIVED → ESTABLISHED: the session starts. */
function establish(tcp: Tcp, s: number, now: number): void {
  const t = tcp.table;
  t.setState(s, ESTABLISHED);
  t.SND_UNA[s] = t.SND_NXT[s]!;
  t.RTO_AT[s] = 0;
  t.RETRIES[s] = 0;
  t.PROGRESS_AT[s] = now;
  tcp.counters[T.T_ESTABLISHED]!++;
  tcp.app(tcp.appOf[s]!).open(s, now, t.FAMILY[s] === 6);
}

/**
 * Is the segment acceptable (§3.10.7 Other States, first check: the four cases of the receive window)?
 */
function acceptable(tcp: Tcp, s: number, segLen: number): boolean {
  const g = tcp.seg;
  const t = tcp.table;
  const nxt = t.RCV_NXT[s]!;
  const wnd = t.RCV_WND[s]!;
  if (segLen === 0) return wnd === 0 ? g.seq === nxt : g.seq === nxt || seqInRange(g.seq, nxt, seqAdd(nxt, wnd));
  if (wnd === 0) return false;
  const end = seqAdd(nxt, wnd);
  return seqInRange(g.seq, nxt, end) || seqInRange(seqAdd(g.seq, segLen - 1), nxt, end) ||
    // A segment that starts before RCV.NXT and reaches past it (a retransmission with new data).
    (seqLt(g.seq, nxt) && seqGt(seqAdd(g.seq, segLen), nxt));
}

/** A segment for an existing slot (SYN-RECEIVED or synchronized). */
function synchronized(tcp: Tcp, s: number, mem: Uint8Array, now: number): number {
  const g = tcp.seg;
  const t = tcp.table;
  const c = tcp.counters;
  const f = g.flags;
  let st = t.STATE[s]!;
  // The symmetric-path rule: answers go to the MAC the peer's frames now come from.
  for (let i = 0; i < 6; i++) t.R_MAC[s * 6 + i] = mem[g.frameAt + 6 + i]!;

  if (st === SYN_RECEIVED && (f & (SYN | ACK)) === SYN && g.seq === t.IRS[s]) {
    // The peer sent its SYN again (our SYN-ACK was lost): the same SYN-ACK again.
    c[T.T_RETRANSMITS]!++;
    c[T.T_SEGMENTS_OUT]!++;
    synOpts.mss = g.v4 ? tcp.mss4 : tcp.mss6;
    synOpts.wscale = t.FLAGS[s]! & F_SHIFT_OK ? 0 : -1;
    synOpts.sackOk = (t.FLAGS[s]! & F_SACK_OK) !== 0;
    return turnAround(mem, g.frameAt, g.ipAt, g.tcpAt, g.v4, tcp.host.mac, t.ISS[s]!, t.RCV_NXT[s]!, SYN | ACK, RCV_WINDOW, synOpts);
  }

  const segLen = g.payloadLen + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
  // First: the sequence number.
  let takeData = true;
  if (!acceptable(tcp, s, segLen)) {
    c[T.T_DROP_OUT_OF_WINDOW]!++;
    // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should
    // be made to accept valid ACKs, URGs, and RSTs" (§3.10.7 Other States): at RCV.NXT, the ACK (which
    // may free answers and reopen the window) is still looked at; the data is not taken.
    if (!(t.RCV_WND[s] === 0 && g.seq === t.RCV_NXT[s] && f & ACK && !(f & (SYN | RST)))) {
      if (!(f & RST)) tcp.ackNow(s);
      return 0;
    }
    takeData = false;
    tcp.ackNow(s);
  }
  // Second: RST (RFC 5961 §3.2): exactly at RCV.NXT resets; elsewhere in the window, a challenge.
  if (f & RST) {
    if (g.seq === t.RCV_NXT[s]) {
      c[T.T_RESETS_RECEIVED]!++;
      tcp.release(s);
    } else {
      tcp.challengeAck(s, now);
    }
    return 0;
  }
  // Fourth: a SYN in the window (RFC 5961 §4.2): a challenge ACK, never a reset.
  if (f & SYN) {
    tcp.challengeAck(s, now);
    return 0;
  }
  // Fifth: the ACK.
  if (!(f & ACK)) return 0;
  if (st === SYN_RECEIVED) {
    if (!(seqLt(t.SND_UNA[s]!, g.ack) && seqLeq(g.ack, t.SND_NXT[s]!))) return resetFor(tcp, mem);
    t.SND_WND[s] = t.FLAGS[s]! & F_SHIFT_OK ? g.window << t.SND_SHIFT[s]! : g.window;
    t.MAX_SND_WND[s] = t.SND_WND[s]!;
    t.SND_WL1[s] = g.seq;
    t.SND_WL2[s] = g.ack;
    establish(tcp, s, now);
    st = ESTABLISHED;
  } else if (!ackArrives(tcp, s, now)) {
    return 0;
  }
  st = t.STATE[s]!;
  if (st === 0) return 0; // LAST-ACK acknowledged: closed

  // Seventh: the data.
  let fin = takeData && (f & FIN) !== 0;
  if (g.payloadLen > 0 && takeData) {
    if (st & RECEIVING) {
      const skip = (t.RCV_NXT[s]! - g.seq) | 0;
      if (skip < 0) {
        // Beyond RCV.NXT: a hole before it. Not queued; the duplicate ACK tells the peer at once.
        c[T.T_DROP_OUT_OF_ORDER]!++;
        tcp.ackNow(s);
        return 0;
      }
      if (skip < g.payloadLen) {
        const n = g.payloadLen - skip;
        const at = g.payloadAt + skip;
        let took: number;
        if (t.FLAGS[s]! & F_FIN_QUEUED) {
          took = n; // we are closing: read and discard
        } else if (tcp.HOLD_LEN[s]! > 0) {
          // Earlier bytes still wait for the session: these go behind them.
          took = tcp.hold(s, mem, at, n) ? n : 0;
        } else {
          took = tcp.app(tcp.appOf[s]!).data(s, mem, at, n, now);
          if (took === APP_CLOSE) {
            took = n;
            queueFin(tcp, s);
          } else if (took < n && tcp.hold(s, mem, at + took, n - took)) {
            // The session backed up (its answers wait for the peer): the rest of what the
            // window allowed is held, the window shrinks by it.
            took = n;
          }
        }
        if (took < n) {
          // Nothing left to hold it in: take no more; a zero window says so (the peer sends it again).
          t.FLAGS[s] = t.FLAGS[s]! | F_WINDOW_CLOSED;
          t.RCV_WND[s] = 0;
          c[T.T_WINDOW_CLOSED]!++;
          fin = false;
        }
        t.RCV_NXT[s] = seqAdd(t.RCV_NXT[s]!, took);
      }
      tcp.ackNow(s);
    } else {
      // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN came already; this cannot be new.
      tcp.ackNow(s);
    }
  }
  // Eighth: FIN, when every byte before it was taken.
  if (fin) {
    if (seqAdd(g.seq, g.payloadLen) === t.RCV_NXT[s]) {
      t.RCV_NXT[s] = seqAdd(t.RCV_NXT[s]!, 1);
      tcp.ackNow(s);
      st = t.STATE[s]!;
      if (st === ESTABLISHED) {
        t.setState(s, CLOSE_WAIT);
        // The peer is done: we close once our answers are out (those to held bytes too).
        if (tcp.HOLD_LEN[s]! > 0) t.FLAGS[s] = t.FLAGS[s]! | F_FIN_AFTER_HOLD;
        else queueFin(tcp, s);
      } else if (st === FIN_WAIT_1) {
        t.setState(s, CLOSING);
      } else if (st === FIN_WAIT_2) {
        // The peer's FIN ends it: TIME-WAIT, and its ACK goes back in the frame the FIN came in.
        const snd = t.SND_NXT[s]!, rcv = t.RCV_NXT[s]!;
        enterTimeWait(tcp, s, now);
        tcp.counters[T.T_ACKS_SENT]!++;
        tcp.counters[T.T_SEGMENTS_OUT]!++;
        return turnAround(mem, g.frameAt, g.ipAt, g.tcpAt, g.v4, tcp.host.mac, snd, rcv, ACK, RCV_WINDOW, null);
      }
    } else if (t.STATE[s]! & (CLOSE_WAIT | CLOSING | LAST_ACK)) {
      tcp.ackNow(s); // the peer's FIN again
    }
  }
  rearm(tcp, s, now);
  return 0;
}

/**
 * The ACK field of a synchronized connection (§3.10.7 Other States, fifth check, RFC 5961 §5.2, RFC 5681,
 * RFC 6298). Returns false when the segment is to be dropped.
 */
function ackArrives(tcp: Tcp, s: number, now: number): boolean {
  const g = tcp.seg;
  const t = tcp.table;
  const c = tcp.counters;
  const ack = g.ack;
  const una = t.SND_UNA[s]!;
  if (seqGt(ack, t.SND_MAX[s]!)) {
    // It acknowledges what was never sent: drop it, and say where we are.
    c[T.T_DROP_BAD_ACK]!++;
    tcp.ackNow(s);
    return false;
  }
  if (seqLt(ack, (una - t.MAX_SND_WND[s]!) >>> 0)) {
    c[T.T_DROP_BAD_ACK]!++;
    tcp.challengeAck(s, now);
    return false;
  }
  const wnd = t.FLAGS[s]! & F_SHIFT_OK ? g.window << t.SND_SHIFT[s]! : g.window;
  if (seqGt(ack, una)) {
    const acked = (ack - una) >>> 0;
    // The FIN, when acknowledged, is the one sequence number past the data.
    const dataEnd = seqAdd(tcp.outq.Q_SEQ[s]!, tcp.outq.Q_LEN[s]!);
    const dataAcked = Math.min(acked, seqLt(una, dataEnd) ? (dataEnd - una) >>> 0 : 0);
    if (dataAcked > 0) tcp.outq.acked(s, dataAcked);
    t.SND_UNA[s] = ack;
    if (seqLt(t.SND_NXT[s]!, ack)) t.SND_NXT[s] = ack;
    t.RETRIES[s] = 0;
    t.PROGRESS_AT[s] = now;
    rttAck(t, s, ack, now);
    rttProgress(t, s);
    onNewAck(t, s, ack, acked);
    t.RTO_AT[s] = ack === t.SND_MAX[s] ? 0 : now + t.RTO[s]!;
    if (tcp.HOLD_LEN[s]! > 0 && tcp.outq.hasRoom(s)) {
      // Answers drained: the held bytes go to the session again; the window opens by what it took.
      if (tcp.feedHeld(s, now) === APP_CLOSE) queueFin(tcp, s);
      else if (tcp.HOLD_LEN[s] === 0 && t.FLAGS[s]! & F_FIN_AFTER_HOLD) queueFin(tcp, s);
      t.FLAGS[s] = t.FLAGS[s]! | F_ACK_NOW;
    }
    if (t.FLAGS[s]! & F_WINDOW_CLOSED && tcp.outq.hasRoom(s) && tcp.HOLD_LEN[s] === 0) {
      // Room again: reopen the window and say so (a window update).
      t.FLAGS[s] = t.FLAGS[s]! & ~F_WINDOW_CLOSED;
      t.RCV_WND[s] = RCV_WINDOW;
      t.FLAGS[s] = t.FLAGS[s]! | F_ACK_NOW;
    }
    tcp.markReady(s);
    t.touch(s);
  } else if (ack === una && g.payloadLen === 0 && !(g.flags & FIN) && wnd === t.SND_WND[s] && una !== t.SND_MAX[s]) {
    // A duplicate ACK (RFC 5681 §2, the five conditions).
    if (onDupAck(t, s)) c[T.T_FAST_RETRANSMITS]!++;
    tcp.markReady(s);
  }
  // The send window, from the newest segment only (SND.WL1/WL2).
  if (seqLt(t.SND_WL1[s]!, g.seq) || (t.SND_WL1[s] === g.seq && seqLeq(t.SND_WL2[s]!, ack))) {
    const was = t.SND_WND[s]!;
    t.SND_WND[s] = wnd;
    t.SND_WL1[s] = g.seq;
    t.SND_WL2[s] = ack;
    if (wnd > t.MAX_SND_WND[s]!) t.MAX_SND_WND[s] = wnd;
    if (wnd > was) tcp.markReady(s);
  }
  // Our FIN acknowledged?
  const st = t.STATE[s]!;
  const finAcked = (st & (FIN_WAIT_1 | CLOSING | LAST_ACK)) !== 0 && t.SND_UNA[s] === seqAdd(seqAdd(tcp.outq.Q_SEQ[s]!, tcp.outq.Q_LEN[s]!), 1);
  if (finAcked) {
    if (st === FIN_WAIT_1) {
      t.setState(s, FIN_WAIT_2);
      t.PROGRESS_AT[s] = now;
    } else if (st === CLOSING) {
      enterTimeWait(tcp, s, now);
      return false;
    } else {
      c[T.T_CLOSED]!++;
      tcp.release(s);
      return false;
    }
  }
  return true;
}

/** Close after what is queued: the FIN goes out behind the last byte. */
export function queueFin(tcp: Tcp, s: number): void {
  const t = tcp.table;
  if (t.FLAGS[s]! & F_FIN_QUEUED) return;
  t.FLAGS[s] = t.FLAGS[s]! | F_FIN_QUEUED;
  tcp.markReady(s);
}

/** TIME-WAIT: a compact row in its own table; the slot is free for the next connection. */
function enterTimeWait(tcp: Tcp, s: number, now: number): void {
  const t = tcp.table;
  tcp.tw.add(t.keys, s, t.SND_NXT[s]!, t.RCV_NXT[s]!, t.R_MAC, s * 6, t.VLAN[s]!, now);
  tcp.counters[T.T_TIME_WAIT_ENTERED]!++;
  tcp.counters[T.T_CLOSED]!++;
  tcp.release(s);
}
