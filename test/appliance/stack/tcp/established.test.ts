// The fused TCP in ESTABLISHED (RFC 9293 §3.10.7 Other States), carrying DNS over TCP (RFC 7766):
// pipelined queries, messages split across segments and several in one, an answer of
// 60 KB cut to the peer's MSS and sent within its window and the congestion window,
// the peer's window scale and zero window, data out of order (a duplicate ACK, RFC 5681
// §4.2), and RFC 5961's checks (challenge ACKs, RST validation, ACKs of what was never sent).

import test, { type ExecutionContext } from 'ava';
import { DnsResponder, MAX_MESSAGE, TRANSPORT_TCP } from '../../../../appliance/dns/responder.js';
import { DnsTables } from '../../../../appliance/dns/tables.js';
import { attachImage } from '../../../../specializers/image/format.js';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import { concat } from '../../../helpers/packets.js';
import type { ZonesImage } from '../helpers/rig.js';
import { ACK, buildBigImage, FIN, PSH, RST, SYN, TcpRig, assertClean, openRig, type Seg, type TcpRigOptions } from './helpers/tcp-rig.js';

let image: ZonesImage;
let reference: DnsResponder;
test.before(async () => {
  image = await buildBigImage();
  reference = new DnsResponder(new DnsTables(attachImage(image.file, image.shared)));
});
test.after.always(() => image?.cleanup());

const rig = (t: ExecutionContext, o?: TcpRigOptions): TcpRig => openRig(t, image, o);

const clean = (t: ExecutionContext, r: TcpRig): void => assertClean(t, r);

const q = (line: string, id = 0x1234): Uint8Array => encodeQuery(parseCorpusLine(line)!, { id });

/** The responder's answer over TCP, without the stack. */
function answer(query: Uint8Array): Uint8Array {
  const b = new Uint8Array(MAX_MESSAGE);
  b.set(query);
  const n = reference.answer(b, 0, query.length, MAX_MESSAGE, TRANSPORT_TCP, false);
  return b.slice(0, n);
}

/** ACKs everything the peer has received, as a reader would, until the stack has nothing more to send (bounded). */
function drain(r: TcpRig, rounds = 200): Seg[] {
  const all: Seg[] = [];
  for (let i = 0; i < rounds; i++) {
    const out = r.send({ flags: ACK });
    all.push(...out);
    if (out.length === 0) break;
  }
  return all;
}

test('pipelined queries in one segment are answered in order, byte for byte (RFC 7766 §6.2.1.1)', (t) => {
  const r = rig(t);
  r.established();
  const qs = [q('www.example.com A', 1), q('example.com MX', 2), q('nope.example.com A', 3), q('mail.example.com AAAA', 4)];
  r.send({ flags: ACK | PSH, data: TcpRig.framed(...qs) });
  t.deepEqual(r.messages(), qs.map(answer));
  clean(t, r);
});

test('a query split across segments, and one byte at a time, is answered once whole', (t) => {
  const r = rig(t);
  r.established();
  const data = TcpRig.framed(q('www.example.com A', 7), q('example.com NS', 8));
  for (let i = 0; i < data.length; i++) r.send({ flags: ACK, data: data.subarray(i, i + 1) });
  t.deepEqual(r.messages(), [answer(q('www.example.com A', 7)), answer(q('example.com NS', 8))]);
  clean(t, r);
});

test('a 60 KB answer is cut to the peer\'s MSS, sent within IW10 and then the growing window, byte for byte (RFC 6928, RFC 5681 §3.1)', (t) => {
  const r = rig(t, { mss: 1000 });
  r.established(r.synOptions({ mss: 1000 }));
  const big = q('big.big.test TXT', 9);
  const first = r.send({ flags: ACK | PSH, data: TcpRig.framed(big) });
  // Initial window: min(10 × MSS, max(2 × MSS, 14600)) = 10,000 bytes, at most 1,000 a segment.
  t.is(first.length, 10);
  t.true(first.every((s) => s.data.length <= 1000));
  drain(r);
  const m = r.messages();
  t.is(m.length, 1);
  t.true(m[0]!.length > 55_000);
  t.deepEqual(m[0], answer(big));
  clean(t, r);
});

test('the peer\'s window scale applies to its window (RFC 7323 §2.3): a small scaled window holds the data back', (t) => {
  const r = rig(t, { window: 4 });
  // Shift 10: an advertised 4 is a window of 4,096 bytes.
  r.established(r.synOptions({ wscale: 10 }));
  const big = q('big.big.test TXT', 9);
  const out = r.send({ flags: ACK | PSH, data: TcpRig.framed(big), window: 4 });
  const bytes = out.reduce((n, s) => n + s.data.length, 0);
  t.is(bytes, 4096);
  clean(t, r);
});

test('a zero window: nothing more is sent, the persist timer probes with one byte and backs off (RFC 9293 §3.8.6.1)', (t) => {
  const r = rig(t, { window: 2000 });
  r.established(r.synOptions({ wscale: null }));
  const big = q('big.big.test TXT', 9);
  r.send({ flags: ACK | PSH, data: TcpRig.framed(big), window: 2000 });
  const got = r.stream.length;
  t.is(got, 2000);
  // The peer takes it all but its window is now 0.
  t.deepEqual(r.send({ flags: ACK, window: 0 }), []);
  const probes: number[] = [];
  for (let ms = 0; ms < 10_000; ms += 50) for (const s of r.advance(50)) if (s.data.length === 1) probes.push(ms);
  t.true(probes.length >= 3, `probes at ${probes.join(', ')}`);
  t.true(probes[2]! - probes[1]! > probes[1]! - probes[0]!, 'backing off');
  t.true((r.counters().zero_window_probes ?? 0) >= 3);
  // The window opens: the rest flows.
  r.window = 65535;
  drain(r);
  t.deepEqual(r.messages()[0], answer(big));
  clean(t, r);
});

test('data beyond RCV.NXT is not queued: dropped, with an immediate duplicate ACK (RFC 5681 §4.2)', (t) => {
  const r = rig(t);
  r.established();
  const data = TcpRig.framed(q('www.example.com A', 5));
  const out = r.send({ flags: ACK, seq: 1 + 10, data: data.subarray(10) });
  t.is(out.length, 1);
  t.is(out[0]!.ack, 1);
  t.is(out[0]!.data.length, 0);
  t.is(r.counters().drop_out_of_order, 1);
  // The hole filled (the whole message again): answered.
  r.send({ flags: ACK, seq: 1, data });
  t.is(r.messages().length, 1);
  clean(t, r);
});

test('a retransmitted segment that overlaps what was taken: only the new part is taken', (t) => {
  const r = rig(t);
  r.established();
  const data = TcpRig.framed(q('www.example.com A', 5), q('example.com SOA', 6));
  r.send({ flags: ACK, seq: 1, data: data.subarray(0, 20) });
  r.send({ flags: ACK, seq: 1, data });
  t.deepEqual(r.messages(), [answer(q('www.example.com A', 5)), answer(q('example.com SOA', 6))]);
  clean(t, r);
});

test('a segment entirely before RCV.NXT (a duplicate) gets an ACK and is not taken again', (t) => {
  const r = rig(t);
  r.established();
  const data = TcpRig.framed(q('www.example.com A', 5));
  r.send({ flags: ACK, data });
  const again = r.send({ flags: ACK, seq: 1, data });
  t.is(again.length, 1);
  t.is(again[0]!.data.length, 0);
  t.is(r.messages().length, 1);
  clean(t, r);
});

test('RST exactly at RCV.NXT resets the connection; in the window elsewhere it gets a challenge ACK (RFC 5961 §3.2)', (t) => {
  const r = rig(t);
  r.established();
  let out = r.send({ flags: RST, seq: 100 });
  t.is(out.length, 1);
  t.is(out[0]!.flags, ACK);
  t.is(r.counters().challenge_acks, 1);
  t.is(r.counters().connections, 1);
  out = r.send({ flags: RST, seq: 1 });
  t.deepEqual(out, []);
  t.is(r.counters().resets_received, 1);
  t.is(r.counters().connections ?? 0, 0);
  clean(t, r);
});

test('RST outside the window is dropped silently (RFC 5961 §3.2)', (t) => {
  const r = rig(t);
  r.established();
  t.deepEqual(r.send({ flags: RST, seq: 1 + 1_000_000 }), []);
  t.is(r.counters().connections, 1);
  clean(t, r);
});

test('a SYN in the window gets a challenge ACK, never a reset (RFC 5961 §4.2)', (t) => {
  const r = rig(t);
  r.established();
  const out = r.send({ flags: SYN, seq: 5, options: r.synOptions() });
  t.is(out.length, 1);
  t.is(out[0]!.flags, ACK);
  t.is(out[0]!.ack, 1);
  t.is(r.counters().connections, 1);
  clean(t, r);
});

test('an ACK of data never sent is dropped, answered with an ACK (RFC 9293 §3.10.7 Other States, RFC 5961 §5.2)', (t) => {
  const r = rig(t);
  r.established();
  const out = r.send({ flags: ACK, ack: 5000, data: TcpRig.framed(q('www.example.com A')) });
  t.is(out.length, 1);
  t.is(out[0]!.data.length, 0);
  t.is(r.counters().drop_bad_ack, 1);
  t.is(r.messages().length, 0, 'the data of a dropped segment is not taken');
  clean(t, r);
});

test('a segment outside the receive window gets a duplicate ACK and is not taken', (t) => {
  const r = rig(t);
  r.established();
  const out = r.send({ flags: ACK, seq: 1 + 70_000, data: Uint8Array.of(1, 2, 3) });
  t.is(out.length, 1);
  t.is(out[0]!.ack, 1);
  t.is(r.counters().drop_out_of_window, 1);
  clean(t, r);
});

test('a message that is not a query closes the connection after the answers owed (FIN), as NSD', (t) => {
  const r = rig(t);
  r.established();
  const response = concat(Uint8Array.of(0x12, 0x34, 0x84, 0), q('www.example.com A').subarray(4));
  const out = r.send({ flags: ACK, data: TcpRig.framed(q('www.example.com A', 1), response) });
  t.is(r.messages().length, 1);
  t.true(out.some((s) => s.flags & FIN));
  clean(t, r);
});

test('the DNS session\'s idle deadline closes the connection, the server first (FIN) (RFC 7766 §6.2.3)', (t) => {
  const r = rig(t, { idleTimeoutMs: 2000 });
  r.established();
  const out = r.advanceBy(2500, 50);
  t.is(out.length, 1);
  t.is(out[0]!.flags, FIN | ACK);
  t.is(r.counters().idle_timeouts, 1);
  clean(t, r);
});

test('a message that trickles in is closed at the message deadline (FIN), counted', (t) => {
  const r = rig(t, { messageTimeoutMs: 1000, idleTimeoutMs: 60_000 });
  r.established();
  r.send({ flags: ACK, data: Uint8Array.of(0, 33, 1) });
  const out = r.advanceBy(1500, 50);
  t.true(out.some((s) => s.flags & FIN));
  t.is(r.counters().message_timeouts, 1);
  clean(t, r);
});

test('backpressure: a peer that reads nothing fills its 64 KB of answers; what it sends next is held (the window shrinks by it, no byte dropped), then answered in order once it reads', (t) => {
  const r = rig(t);
  r.established();
  // The answers are not acknowledged (the peer does not read them): they queue up.
  r.lose = () => true;
  const mid = q('mid.big.test TXT', 1); // about 2 KB an answer
  const batch = TcpRig.framed(...Array.from({ length: 40 }, (_, i) => q('mid.big.test TXT', i)));
  r.send({ flags: ACK | PSH, data: batch });
  const windows = r.lost.map((s) => s.window);
  t.true(r.tcp.HOLD_LEN[r.slot()]! > 0, 'the rest held');
  t.true(Math.min(...windows) < 65535, 'the window shrank by what is held');
  t.is(r.counters().window_closed ?? 0, 0, 'nothing refused');
  // The peer reads at last: everything is answered, in order, byte for byte.
  r.lose = null;
  r.received = 1;
  for (let i = 0; i < 400 && r.messages().length < 40; i++) {
    // Whatever arrives is acknowledged at once (as a reader's kernel does), until the next timer.
    let o = r.advance(50);
    for (let k = 0; k < 100 && o.some((x) => x.data.length > 0); k++) o = r.send({ flags: ACK });
  }
  const m = r.messages();
  t.is(m.length, 40);
  m.forEach((a, i) => t.deepEqual(a, answer(q('mid.big.test TXT', i)), `answer ${i}`));
  t.is(r.tcp.HOLD_LEN[r.slot()], 0);
  void mid;
  clean(t, r);
});
