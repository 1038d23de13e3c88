// The retransmission timer (RFC 6298): SRTT and RTTVAR from one timed segment per round
// trip, Karn's rule (no sample from a segment that was sent again), exponential backoff.
// Deployed values: a minimum of 200 ms (Linux's, where RFC 6298 §2.4 asks 1 s; docs/TCP-DESIGN.md),
// a maximum of 60 s, 1 s before the first sample (§2.1).

import { F_RETRANSMITTED, F_RTT_TIMING, type TcpTable } from './table.js';

export const RTO_INITIAL_MS = 1000;
export const RTO_MIN_MS = 200;
export const RTO_MAX_MS = 60_000;
/** The clock granularity G of §2.3. */
const G_MS = 1;

/** §2: a new sample R (ms) for slot s. */
export function rttSample(t: TcpTable, s: number, r: number): void {
  if (t.SRTT[s] === 0) {
    t.SRTT[s] = r;
    t.RTTVAR[s] = r / 2;
  } else {
    const srtt = t.SRTT[s]!;
    t.RTTVAR[s] = 0.75 * t.RTTVAR[s]! + 0.25 * Math.abs(srtt - r);
    t.SRTT[s] = 0.875 * srtt + 0.125 * r;
  }
  t.RTO[s] = clampRto(t.SRTT[s]! + Math.max(G_MS, 4 * t.RTTVAR[s]!));
}

/** Starts timing the segment that begins at `seq` (when none is being timed). */
export function rttStart(t: TcpTable, s: number, seq: number, now: number): void {
  if (t.FLAGS[s]! & F_RTT_TIMING) return;
  t.FLAGS[s] = (t.FLAGS[s]! | F_RTT_TIMING) & ~F_RETRANSMITTED;
  t.RTT_SEQ[s] = seq;
  t.RTT_AT[s] = now;
}

/** An ACK for `ack` arrived: a sample if it covers the timed segment and Karn allows it. */
export function rttAck(t: TcpTable, s: number, ack: number, now: number): void {
  const f = t.FLAGS[s]!;
  if (!(f & F_RTT_TIMING) || ((ack - t.RTT_SEQ[s]!) | 0) <= 0) return;
  t.FLAGS[s] = f & ~(F_RTT_TIMING | F_RETRANSMITTED);
  if (!(f & F_RETRANSMITTED)) rttSample(t, s, now - t.RTT_AT[s]!);
}

/**
 * New data was acknowledged with no sample to take (Karn): the backoff is let go, the RTO
 * back to what SRTT and RTTVAR give. RFC 6298 §5 lets a new measurement collapse it; at heavy
 * loss (every timed segment sent again) none may come for a long time and a 60 s RTO then
 * costs a minute per loss, so progress is taken as the sign the path works again.
 */
export function rttProgress(t: TcpTable, s: number): void {
  if (t.SRTT[s]! > 0) t.RTO[s] = clampRto(t.SRTT[s]! + Math.max(G_MS, 4 * t.RTTVAR[s]!));
}

/** §5.5: the timer expired: back off. */
export function rttBackoff(t: TcpTable, s: number): void {
  t.RTO[s] = clampRto(t.RTO[s]! * 2);
  t.FLAGS[s] = t.FLAGS[s]! | F_RETRANSMITTED;
}

export function clampRto(ms: number): number {
  return ms < RTO_MIN_MS ? RTO_MIN_MS : ms > RTO_MAX_MS ? RTO_MAX_MS : ms;
}
