// Congestion control: RFC 5681 slow start and congestion avoidance (with RFC 3465's byte
// counting, L = 1 SMSS), fast retransmit on the third duplicate ACK, RFC 6582 NewReno fast
// recovery; RFC 6928's initial window of ten segments.

import { F_RECOVERY, F_RETX_ONE, type TcpTable } from './table.js';

/** RFC 6928 §2: min(10 × MSS, max(2 × MSS, 14,600)). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}

/** Bytes sent and not yet acknowledged. */
export function flightSize(t: TcpTable, s: number): number {
  return (t.SND_MAX[s]! - t.SND_UNA[s]!) >>> 0;
}

/**
 * New data acknowledged (`acked` bytes; SND_UNA already moved to `ack`). Grows the window,
 * or, in recovery, handles a partial or a full acknowledgment (RFC 6582 §3.2 steps 3-4).
 */
export function onNewAck(t: TcpTable, s: number, ack: number, acked: number): void {
  const mss = t.MSS[s]!;
  t.DUPACKS[s] = 0;
  if (t.FLAGS[s]! & F_RECOVERY) {
    if (((ack - t.RECOVER[s]!) | 0) >= 0) {
      // Full acknowledgment: leave recovery with a window of what is in flight plus one.
      t.CWND[s] = Math.min(t.SSTHRESH[s]!, Math.max(flightSize(t, s), mss) + mss);
      t.FLAGS[s] = t.FLAGS[s]! & ~F_RECOVERY;
    } else {
      // Partial: the next hole goes again at once; deflate by what was acked, add back one.
      t.FLAGS[s] = t.FLAGS[s]! | F_RETX_ONE;
      t.CWND[s] = Math.max(mss, t.CWND[s]! - acked + mss);
    }
    return;
  }
  if (t.CWND[s]! < t.SSTHRESH[s]!) t.CWND[s] = t.CWND[s]! + Math.min(acked, mss);
  else t.CWND[s] = t.CWND[s]! + Math.max(1, Math.floor((mss * mss) / t.CWND[s]!)); // whole bytes: windows are counted in bytes
}

/** A duplicate ACK (RFC 5681 §3.2): the third starts fast retransmit; later ones inflate the window. */
export function onDupAck(t: TcpTable, s: number): boolean {
  const mss = t.MSS[s]!;
  const n = t.DUPACKS[s]! < 255 ? ++t.DUPACKS[s]! : 255;
  if (t.FLAGS[s]! & F_RECOVERY) {
    t.CWND[s] = t.CWND[s]! + mss;
    return false;
  }
  if (n !== 3) return false;
  // RFC 6582 §3.2 step 2: only if the ACK covers more than RECOVER (no second reaction to one loss).
  if (((t.SND_UNA[s]! - t.RECOVER[s]!) | 0) <= 0) return false;
  t.SSTHRESH[s] = Math.max(Math.floor(flightSize(t, s) / 2), 2 * mss);
  t.RECOVER[s] = t.SND_MAX[s]!;
  t.CWND[s] = t.SSTHRESH[s]! + 3 * mss;
  t.FLAGS[s] = t.FLAGS[s]! | F_RECOVERY | F_RETX_ONE;
  return true;
}

/** RFC 5681 §3.1 eq. 4 and after: the retransmission timer expired. */
export function onTimeout(t: TcpTable, s: number): void {
  const mss = t.MSS[s]!;
  t.SSTHRESH[s] = Math.max(Math.floor(flightSize(t, s) / 2), 2 * mss);
  t.CWND[s] = mss;
  t.DUPACKS[s] = 0;
  t.RECOVER[s] = t.SND_MAX[s]!;
  t.FLAGS[s] = t.FLAGS[s]! & ~(F_RECOVERY | F_RETX_ONE);
}
