// Loss and its repair (RFC 6298, RFC 5681, RFC 6582): the retransmission timer (1 s before
// any sample, then SRTT + 4 × RTTVAR with a 200 ms floor, doubling per expiry, Karn's rule),
// go-back from SND.UNA with the window down to one segment, retransmissions byte-identical
// to the first transmission, a bounded number of retries then a reset; fast retransmit on
// the third duplicate ACK and NewReno's partial ACKs.

import test, { type ExecutionContext } from 'ava';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import type { ZonesImage } from '../helpers/rig.js';
import { ACK, buildBigImage, FIN, PSH, RST, TcpRig, assertClean, openRig, type Seg, type TcpRigOptions } from './helpers/tcp-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildBigImage(); });
test.after.always(() => image?.cleanup());

const rig = (t: ExecutionContext, o?: TcpRigOptions): TcpRig => openRig(t, image, o);

const clean = (t: ExecutionContext, r: TcpRig): void => assertClean(t, r);

const q = (line: string, id = 0x1234): Uint8Array => encodeQuery(parseCorpusLine(line)!, { id });

test('RTO before any RTT sample is 1 s (RFC 6298 §2.1); the lost answer comes again, byte for byte, then backs off', (t) => {
  const r = rig(t);
  r.established();
  r.lose = () => true; // the answer, and its first retransmission, never arrive
  r.send({ flags: ACK | PSH, data: TcpRig.framed(q('www.example.com A', 1)) });
  const at: number[] = [];
  for (let ms = 0; ms < 3100; ms += 10) for (const s of r.advance(10)) if (s.data.length > 0) at.push(ms + 10);
  t.deepEqual(at, []);
  t.is(r.lost.length, 3, 'the first send, then after 1 s and after 2 s more');
  t.deepEqual(r.lost.map((s) => s.seq), [1, 1, 1]);
  r.lose = null;
  const again = r.advanceBy(4000, 10);
  t.is(again.filter((s) => s.data.length > 0).length, 1);
  t.is(r.messages().length, 1, 'the retransmission carries the same answer');
  t.true((r.counters().rto_expiries ?? 0) >= 3);
  clean(t, r);
});

test('RTT samples set the RTO: SRTT + 4 × RTTVAR, never under 200 ms (RFC 6298 §2.2-2.4)', (t) => {
  const r = rig(t);
  r.established();
  // Answer after answer acked 30 ms later: SRTT ≈ 30 ms, so the RTO sits at the 200 ms floor.
  for (let i = 0; i < 5; i++) {
    r.lose = () => true;
    r.send({ flags: ACK | PSH, data: TcpRig.framed(q('www.example.com A', i)) });
    r.lose = null;
    r.received = (r.lost.at(-1)!.seq + r.lost.at(-1)!.data.length) >>> 0;
    r.advance(30);
    r.send({ flags: ACK });
  }
  const tcp = r.tcp.table;
  const slot = r.slot();
  t.true(tcp.SRTT[slot]! > 25 && tcp.SRTT[slot]! < 40, `SRTT ${tcp.SRTT[slot]}`);
  t.is(tcp.RTO[slot], 200);
  clean(t, r);
});

test('Karn\'s rule: an ACK for a retransmitted segment gives no RTT sample (RFC 6298 §3)', (t) => {
  const r = rig(t);
  r.established();
  let first = true;
  r.lose = () => {
    const l = first;
    first = false;
    return l;
  };
  r.send({ flags: ACK | PSH, data: TcpRig.framed(q('www.example.com A', 1)) });
  r.advanceBy(1100, 10); // the retransmission arrives
  r.send({ flags: ACK });
  t.is(r.tcp.table.SRTT[r.slot()], 0, 'no sample taken');
  clean(t, r);
});

/** Answers acked after 30 ms, so that the RTO sits at its 200 ms floor. */
function sample(r: TcpRig, n = 3): void {
  for (let i = 0; i < n; i++) {
    r.lose = () => true;
    r.send({ flags: ACK | PSH, data: TcpRig.framed(q('www.example.com A', 100 + i)) });
    r.lose = null;
    r.received = (r.lost.at(-1)!.seq + r.lost.at(-1)!.data.length) >>> 0;
    r.advance(30);
    r.send({ flags: ACK });
  }
}

test('retries are bounded: after 12 retransmissions with no ACK (past the 100 s of RFC 1122 §4.2.3.5) the connection is reset, counted', (t) => {
  const r = rig(t, { idleTimeoutMs: 10 * 60_000 });
  r.established();
  sample(r);
  const earlier = r.lost.length;
  r.lose = (s) => !(s.flags & RST);
  r.send({ flags: ACK | PSH, data: TcpRig.framed(q('www.example.com A', 1)) });
  const out: Seg[] = [];
  let gaveUpAt = 0;
  for (let ms = 0; ms < 600_000 && !gaveUpAt; ms += 100) {
    const got = r.advance(100);
    out.push(...got);
    if (got.some((s) => s.flags & RST)) gaveUpAt = ms + 100;
  }
  t.true(gaveUpAt > 100_000, `gave up after ${gaveUpAt} ms`);
  t.is(r.lost.slice(earlier).filter((s) => s.data.length > 0).length, 13, 'the first transmission and 12 retransmissions');
  t.is(r.counters().retry_limit, 1);
  t.is(r.counters().connections ?? 0, 0);
  clean(t, r);
});

test('a peer that keeps its window shut and answers every probe is reset at the send deadline (60 s), counted', (t) => {
  const r = rig(t, { idleTimeoutMs: 10 * 60_000, window: 1000 });
  r.established(r.synOptions({ wscale: null }));
  r.send({ flags: ACK | PSH, data: TcpRig.framed(q('big.big.test TXT', 1)), window: 1000 });
  // The peer takes what it got, then its window stays shut; it acknowledges nothing new.
  const acked = r.received;
  r.send({ flags: ACK, window: 0 });
  let reset = false;
  for (let ms = 0; ms < 70_000 && !reset; ms += 100) {
    for (const s of r.advance(100)) {
      if (s.flags & RST) reset = true;
      else if (s.data.length === 1) r.send({ flags: ACK, ack: acked, window: 0 }); // the probe answered, the window still shut
    }
  }
  t.true(reset);
  t.is(r.counters().send_timeouts, 1);
});

test('go-back from SND.UNA with one segment after a timeout, growing again by slow start (RFC 5681 §3.1)', (t) => {
  const r = rig(t);
  r.established();
  r.lose = () => true;
  r.send({ flags: ACK | PSH, data: TcpRig.framed(q('big.big.test TXT', 9)) });
  t.is(r.lost.length, 10, 'the initial window, all lost');
  r.lose = null;
  const after = r.advanceBy(1050, 10);
  t.is(after.filter((s) => s.data.length > 0).length, 1, 'one segment after the timeout');
  t.is(after[0]!.seq, 1);
  // ACK it: two go (cwnd 2 × MSS), then four...
  const two = r.send({ flags: ACK });
  t.is(two.filter((s) => s.data.length > 0).length, 2);
  for (let i = 0; i < 100 && r.messages().length === 0; i++) r.send({ flags: ACK });
  t.is(r.messages().length, 1);
  t.is(r.messages()[0]!.length > 55_000, true);
  clean(t, r);
});

test('fast retransmit on the third duplicate ACK, then NewReno: a partial ACK sends the next hole at once (RFC 5681 §3.2, RFC 6582)', (t) => {
  const r = rig(t);
  r.established();
  // Segments 2 and 5 of the initial window are lost.
  let k = 0;
  r.lose = (s) => {
    if (s.data.length === 0) return false;
    k++;
    return k === 2 || k === 5;
  };
  r.send({ flags: ACK | PSH, data: TcpRig.framed(q('big.big.test TXT', 9)) });
  r.lose = null;
  t.is(r.lost.length, 2);
  const hole1 = r.lost[0]!.seq, hole2 = r.lost[1]!.seq;
  // The peer ACKs what it has, up to the first hole (a new ACK), then once per segment that
  // arrived after the hole: duplicate ACKs (the same ack, no data, the same window).
  r.send({ flags: ACK });
  const dup = (): Seg[] => r.send({ flags: ACK });
  t.false(dup().some((s) => s.seq === hole1));
  t.false(dup().some((s) => s.seq === hole1));
  const third = dup();
  t.true(third.some((s) => s.seq === hole1 && s.data.length > 0), 'the first hole again, at the third duplicate');
  t.is(r.counters().fast_retransmits, 1);
  // With the first hole filled, the ACK is partial (below RECOVER): the second hole goes at once.
  const partial = r.send({ flags: ACK }).filter((s) => s.data.length);
  t.is(partial[0]?.seq, hole2);
  for (let i = 0; i < 100 && r.messages().length === 0; i++) r.send({ flags: ACK });
  t.is(r.messages().length, 1);
  t.is(r.counters().rto_expiries ?? 0, 0, 'repaired without a timeout');
  clean(t, r);
});

test('a lost FIN is sent again on the RTO', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  let first = true;
  r.lose = (s) => {
    if (!(s.flags & FIN) || !first) return false;
    first = false;
    return true;
  };
  const out = r.advanceBy(4000, 20);
  t.is(r.lost.length, 1);
  t.true(out.some((s) => s.flags & FIN), 'the FIN again');
  clean(t, r);
});

test('an ACK of new data after timeouts lets the backoff go: the RTO is SRTT + 4 × RTTVAR again, though Karn gave no sample', (t) => {
  const r = rig(t);
  r.established();
  sample(r);
  const slot = r.slot();
  let n = 0;
  r.lose = (s) => s.data.length > 0 && n++ < 3; // the answer lost three times: the RTO doubles thrice
  r.send({ flags: ACK | PSH, data: TcpRig.framed(q('www.example.com A', 7)) });
  for (let ms = 0; ms < 3000 && n < 4; ms += 10) r.advance(10);
  t.true(r.tcp.table.RTO[slot]! >= 1600, `backed off to ${r.tcp.table.RTO[slot]}`);
  r.lose = null;
  r.advanceBy(4000, 10);
  r.send({ flags: ACK });
  t.is(r.tcp.table.RTO[slot], 200);
  clean(t, r);
});
