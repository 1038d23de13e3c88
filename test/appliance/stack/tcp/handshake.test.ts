// The fused TCP, LISTEN and SYN-RECEIVED (RFC 9293 §3.10.7 LISTEN and Other States), on the pipe: the SYN-ACK
// and its options, the handshake's ACK, a SYN again, RSTs for what belongs to nothing,
// SYN cookies past the half-open bound (RFC 4987), the SYN-ACK's retransmission and its end.

import test, { type ExecutionContext } from 'ava';
import { buildZonesImage, type ZonesImage } from '../helpers/rig.js';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import { ACK, CLIENT_ISS, FIN, RST, SERVER_ISS, SYN, TcpRig, assertClean, openRig, type TcpRigOptions } from './helpers/tcp-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildZonesImage(); });
test.after.always(() => image?.cleanup());

const rig = (t: ExecutionContext, o?: TcpRigOptions): TcpRig => openRig(t, image, o);

const clean = (t: ExecutionContext, r: TcpRig): void => assertClean(t, r, Infinity);

const QUERY = encodeQuery(parseCorpusLine('www.example.com A')!);

for (const v6 of [false, true]) {
  const fam = v6 ? 'IPv6' : 'IPv4';
  test(`LISTEN: a SYN gets a SYN-ACK from our ISS with our MSS, window scale 0 and SACK-permitted (RFC 9293 §3.10.7 LISTEN, RFC 7323 §2.2), ${fam}`, (t) => {
    const r = rig(t, { v6 });
    const sa = r.syn();
    t.is(sa.seq, 0);
    t.is(sa.ack, 1);
    t.is(sa.mss, v6 ? 1440 : 1460);
    t.is(sa.wscale, 0);
    t.true(sa.sackOk);
    t.is(sa.data.length, 0);
    t.deepEqual(r.counters(), { syn_received: 1, segments_in: 1, segments_out: 1, half_open: 1, connections: 1 });
    clean(t, r);
  });
}

test('LISTEN: no window scale or SACK in the SYN, none in the SYN-ACK (RFC 7323 §2.2)', (t) => {
  const r = rig(t);
  const sa = r.syn(r.synOptions({ wscale: null, sack: false }));
  t.is(sa.wscale, -1);
  t.false(sa.sackOk);
  clean(t, r);
});

test('SYN-RECEIVED: the handshake\'s ACK establishes; a query on it is answered (RFC 9293 §3.10.7 Other States fifth)', (t) => {
  const r = rig(t);
  r.established();
  t.is(r.counters().established, 1);
  const out = r.send({ flags: ACK | 0x08, data: TcpRig.framed(QUERY) });
  t.is(out.length, 1);
  t.is(out[0]!.flags, ACK | 0x08);
  t.is(out[0]!.ack, 1 + QUERY.length + 2);
  const m = r.messages();
  t.is(m.length, 1);
  t.is(m[0]![0], QUERY[0]);
  t.is(m[0]![1], QUERY[1]);
  clean(t, r);
});

test('SYN-RECEIVED: the data may come with the handshake\'s ACK', (t) => {
  const r = rig(t);
  r.syn();
  const out = r.send({ flags: ACK, data: TcpRig.framed(QUERY) });
  t.is(out.length, 1);
  t.is(r.messages().length, 1);
  clean(t, r);
});

test('SYN-RECEIVED: the peer\'s SYN again gets the same SYN-ACK again', (t) => {
  const r = rig(t);
  const a = r.syn();
  const again = r.send({ flags: SYN, seq: 0, options: r.synOptions() });
  t.is(again.length, 1);
  t.is(again[0]!.seq, a.seq);
  t.is(again[0]!.flags, SYN | ACK);
  t.is(r.counters().connections, 1);
  clean(t, r);
});

test('SYN-RECEIVED: an ACK that acknowledges something else gets a RST with its ack as seq (RFC 9293 §3.10.7 SYN-SENT)', (t) => {
  const r = rig(t);
  r.syn();
  const out = r.send({ flags: ACK, ack: 5 });
  t.is(out.length, 1);
  t.is(out[0]!.flags, RST);
  t.is(out[0]!.seq, 5);
  clean(t, r);
});

test('SYN-RECEIVED: the SYN-ACK is sent again on the RTO, backing off, then the slot is freed (RFC 6298, Linux tcp_synack_retries)', (t) => {
  const r = rig(t);
  r.syn();
  const times: number[] = [];
  for (let ms = 0; ms < 70_000; ms += 100) {
    for (const s of r.advance(100)) if (s.flags === (SYN | ACK)) times.push(ms + 100);
  }
  t.is(times.length, 5);
  // 1 s, then doubling: 1, 3, 7, 15, 31 s after the SYN.
  t.deepEqual(times.map((x) => Math.round(x / 1000)), [1, 3, 7, 15, 31]);
  const c = r.counters();
  t.is(c.syn_ack_timeouts, 1);
  t.is(c.connections ?? 0, 0);
  clean(t, r);
});

test('no connection, no listener: a segment with ACK gets RST seq=SEG.ACK; without ACK, RST|ACK ack=SEG.SEQ+SEG.LEN; a RST gets nothing (RFC 9293 §3.10.7 CLOSED)', (t) => {
  const r = rig(t, { port: 8053 });
  let out = r.send({ flags: ACK, seq: 100, ack: 77 });
  t.is(out.length, 1);
  t.is(out[0]!.flags, RST);
  t.is(out[0]!.seq, 77);
  out = r.send({ flags: FIN, seq: 100, data: Uint8Array.of(1, 2, 3) });
  t.is(out.length, 1);
  t.is(out[0]!.flags, RST | ACK);
  t.is(out[0]!.ack, 104);
  out = r.send({ flags: RST, seq: 100 });
  t.is(out.length, 0);
  clean(t, r);
});

test('LISTEN: a segment with neither SYN nor ACK (a FIN, data) is dropped (RFC 9293 §3.10.7 LISTEN fourth); a RST too', (t) => {
  const r = rig(t);
  t.deepEqual(r.send({ flags: FIN, seq: 100, data: Uint8Array.of(1, 2, 3) }), []);
  t.deepEqual(r.send({ flags: RST, seq: 100 }), []);
  t.is(r.counters().drop_no_connection, 1);
  clean(t, r);
});

test('a port we do not serve: the SYN gets a RST|ACK, counted', (t) => {
  const r = rig(t, { port: 80 });
  const out = r.send({ flags: SYN, options: r.synOptions() });
  t.is(out.length, 1);
  t.is(out[0]!.flags, RST | ACK);
  t.is(out[0]!.ack, 1);
  t.is(r.counters().drop_no_listener, 1);
  clean(t, r);
});

test('SYN cookies: past the half-open bound a SYN gets a stateless cookie SYN-ACK (no window scale, no SACK), whose ACK opens the connection (RFC 4987 §3.6)', (t) => {
  const r = rig(t, { tcpConnections: 64 });
  // The bound is max(16, capacity / 4) = 16 half-open slots.
  for (let i = 0; i < 16; i++) {
    r.cport = 50000 + i;
    r.syn();
  }
  t.is(r.counters().half_open, 16);
  r.cport = 40999;
  const sa = r.syn();
  t.is(r.counters().cookies_sent, 1);
  t.is(sa.wscale, -1);
  t.false(sa.sackOk);
  t.is(r.counters().half_open, 16, 'no state kept for the cookie');
  t.not(r.iss, SERVER_ISS, 'a cookie, not the fixed test ISS');
  // The ACK returns the cookie: ESTABLISHED, and the query is answered.
  const out = r.send({ flags: ACK, data: TcpRig.framed(QUERY) });
  t.is(r.counters().cookies_accepted, 1);
  t.is(out.length, 1);
  t.is(r.messages().length, 1);
  clean(t, r);
});

test('SYN cookies: an ACK with a cookie that does not check gets a RST (counted)', (t) => {
  const r = rig(t);
  r.next = 1;
  const out = r.send({ flags: ACK, ack: 12345, data: TcpRig.framed(QUERY) });
  t.is(out.length, 1);
  t.is(out[0]!.flags, RST);
  t.is(r.counters().drop_bad_cookie, 1);
  clean(t, r);
});

test('ISNs cross the 2^32 wrap in these tests', (t) => {
  t.true(SERVER_ISS > 0xffffff00 && CLIENT_ISS > 0xffffff00);
});
