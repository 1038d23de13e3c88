// Closing (RFC 9293 §3.6, §3.10.7 Other States, the states of §3.3.2 a passive opener reaches): the peer
// first (CLOSE-WAIT → LAST-ACK → CLOSED), the server first (FIN-WAIT-1 → FIN-WAIT-2 →
// TIME-WAIT, in its own compact table), both at once (CLOSING), FIN-WAIT-2's timeout,
// TIME-WAIT's ACK of a FIN again, a new SYN into TIME-WAIT (RFC 6191), its expiry, and the
// table full (the oldest row recycled, counted).

import test, { type ExecutionContext } from 'ava';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import { buildZonesImage, type ZonesImage } from '../helpers/rig.js';
import { CLOSE_WAIT, CLOSING, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK } from '../../../../appliance/stack/tcp/table.js';
import { ACK, FIN, PSH, RST, SYN, TcpRig, assertClean, openRig, type TcpRigOptions } from './helpers/tcp-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildZonesImage(); });
test.after.always(() => image?.cleanup());

const rig = (t: ExecutionContext, o?: TcpRigOptions): TcpRig => openRig(t, image, o);

const clean = (t: ExecutionContext, r: TcpRig): void => assertClean(t, r);

const Q = encodeQuery(parseCorpusLine('www.example.com A')!);
const state = (r: TcpRig): number => r.tcp.table.STATE[r.slot()]!;

test('the peer closes first: its FIN is acknowledged, our FIN follows the answers (CLOSE-WAIT → LAST-ACK), its ACK closes', (t) => {
  const r = rig(t);
  r.established();
  const out = r.send({ flags: ACK | PSH | FIN, data: TcpRig.framed(Q) });
  // The answer and our FIN, acknowledging the query and the peer's FIN.
  t.is(r.messages().length, 1);
  const fin = out.find((s) => s.flags & FIN);
  t.truthy(fin);
  t.is(fin!.ack, r.next);
  t.is(state(r), LAST_ACK);
  t.deepEqual(r.send({ flags: ACK }), []);
  t.is(r.slot(), -1, 'closed: the slot is free');
  t.is(r.counters().closed, 1);
  t.is(r.tcp.tw.live, 0, 'the peer closed first: the TIME-WAIT is its own');
  clean(t, r);
});

test('CLOSE-WAIT: the FIN again is acknowledged again', (t) => {
  const r = rig(t);
  r.established();
  r.lose = (s) => (s.flags & FIN) !== 0;
  r.send({ flags: ACK | FIN });
  r.lose = null;
  const again = r.send({ flags: ACK | FIN, seq: r.next - 1 });
  t.true(again.some((s) => s.flags & ACK));
  clean(t, r);
});

test('the server closes first (idle): FIN-WAIT-1 → FIN-WAIT-2 → the peer\'s FIN → TIME-WAIT, acknowledged; the slot is free', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  const fin = r.advanceBy(1100, 20).find((s) => s.flags & FIN);
  t.truthy(fin);
  t.is(state(r), FIN_WAIT_1);
  t.deepEqual(r.send({ flags: ACK }), []);
  t.is(state(r), FIN_WAIT_2);
  const last = r.send({ flags: ACK | FIN });
  t.is(last.length, 1);
  t.is(last[0]!.flags, ACK);
  t.is(last[0]!.ack, r.next);
  t.is(r.slot(), -1);
  t.is(r.tcp.tw.live, 1);
  t.is(r.counters().time_wait_entered, 1);
  clean(t, r);
});

test('TIME-WAIT: the peer\'s FIN again gets the ACK again; a bare ACK gets nothing; after 60 s the row is gone', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  r.advanceBy(1100, 20);
  r.send({ flags: ACK });
  r.send({ flags: ACK | FIN });
  const again = r.send({ flags: ACK | FIN, seq: r.next - 1 });
  t.is(again.length, 1);
  t.is(again[0]!.flags, ACK);
  t.deepEqual(r.send({ flags: ACK }), []);
  r.advanceBy(61_000, 1000);
  t.is(r.tcp.tw.live, 0);
  clean(t, r);
});

test('TIME-WAIT: a new SYN with a higher sequence number opens a new connection (RFC 6191, as Linux without timestamps)', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  r.advanceBy(1100, 20);
  r.send({ flags: ACK });
  r.send({ flags: ACK | FIN });
  t.is(r.tcp.tw.live, 1);
  const out = r.send({ flags: SYN, seq: r.next + 1000, options: r.synOptions() });
  t.true(out.some((s) => s.flags === (SYN | ACK)));
  t.is(r.tcp.tw.live, 0);
  t.not(r.slot(), -1);
  clean(t, r);
});

test('both close at once: our FIN crosses the peer\'s (FIN-WAIT-1 → CLOSING → TIME-WAIT)', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  r.advanceBy(1100, 20); // our FIN went
  // The peer's FIN before it acknowledged ours.
  const out = r.send({ flags: ACK | FIN, ack: 1 });
  t.true(out.some((s) => s.flags & ACK));
  t.is(state(r), CLOSING);
  r.send({ flags: ACK });
  t.is(r.slot(), -1);
  t.is(r.tcp.tw.live, 1);
  clean(t, r);
});

test('FIN-WAIT-2: a peer that never sends its FIN is let go after 60 s (Linux tcp_fin_timeout), counted', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  r.advanceBy(1100, 20);
  r.send({ flags: ACK });
  t.is(state(r), FIN_WAIT_2);
  r.advanceBy(61_000, 500);
  t.is(r.slot(), -1);
  t.is(r.counters().fin_wait_2_timeouts, 1);
  clean(t, r);
});

test('FIN-WAIT-1/2: data from the peer after our FIN is acknowledged and discarded', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  r.advanceBy(1100, 20);
  const out = r.send({ flags: ACK | PSH, data: TcpRig.framed(Q) });
  t.is(out.length, 1);
  t.is(out[0]!.data.length, 0);
  t.is(out[0]!.ack, r.next);
  t.is(r.messages().length, 0);
  clean(t, r);
});

test('a RST in CLOSE-WAIT or FIN-WAIT-2 at RCV.NXT frees the slot', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000 });
  r.established();
  r.advanceBy(1100, 20);
  r.send({ flags: ACK });
  t.is(state(r), FIN_WAIT_2);
  r.send({ flags: RST });
  t.is(r.slot(), -1);
  t.is(r.counters().resets_received, 1);
  clean(t, r);
});

test('LAST-ACK: our FIN lost, sent again; acknowledged, closed', (t) => {
  const r = rig(t);
  r.established();
  let first = true;
  r.lose = (s) => {
    if (!(s.flags & FIN) || !first) return false;
    first = false;
    return true;
  };
  r.send({ flags: ACK | FIN });
  t.is(state(r), LAST_ACK);
  const again = r.advanceBy(1200, 20);
  t.true(again.some((s) => s.flags & FIN));
  r.send({ flags: ACK });
  t.is(r.slot(), -1);
  clean(t, r);
});

test('TIME-WAIT rows are bounded: when the table is full the oldest goes early, counted', (t) => {
  const r = rig(t, { idleTimeoutMs: 1000, tcpConnections: 4 });
  const rows = r.tcp.tw.rows;
  for (let i = 0; i < rows + 3; i++) {
    r.cport = 30000 + i;
    r.established();
    r.send({ flags: ACK | FIN, data: TcpRig.framed(Q) });
    // Our FIN came with the answer: LAST-ACK. Its ACK closes; that is not TIME-WAIT (the peer closed first).
    r.send({ flags: ACK });
  }
  // Closing first on our side fills the table: do that now.
  for (let i = 0; i < rows + 3; i++) {
    r.cport = 20000 + i;
    r.established();
    r.advanceBy(1100, 100);
    r.send({ flags: ACK });
    r.send({ flags: ACK | FIN });
  }
  t.is(r.tcp.tw.live, rows);
  t.is(r.tcp.tw.recycled, 3);
  t.is(r.counters().time_wait_recycled, 3);
  clean(t, r);
});

void CLOSE_WAIT;
