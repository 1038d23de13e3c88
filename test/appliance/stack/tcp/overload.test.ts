// The fused TCP under overload: new SYNs shed while the worker is backlogged (the loop sets
// shedSyns: full batches waiting), and a full table that makes room from connections the
// application is done with or whose peer has gone quiet, not only idle ones.

import test from 'ava';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import { sendFrames } from '../../../../netmap-binding/device-util.js';
import { udp4Frame } from '../../../helpers/packets.js';
import { buildZonesImage, Rig, type ZonesImage } from '../helpers/rig.js';
import { ACK, FIN, PSH, SYN, TcpRig } from './helpers/tcp-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildZonesImage(); });
test.after.always(() => image?.cleanup());

const Q = encodeQuery(parseCorpusLine('www.example.com A')!);

test('while shedding, a SYN gets nothing back (counted) and a connection already open is still answered; after, SYNs are answered', (t) => {
  const r = new TcpRig(image);
  t.teardown(() => r.close());
  r.cport = 30000;
  r.established();
  r.tcp.shedSyns = true;
  r.send({ flags: ACK | PSH, data: TcpRig.framed(Q) });
  t.is(r.messages().length, 1, 'the open connection is answered');
  r.cport = 30001;
  const out = r.send({ flags: SYN, options: r.synOptions() });
  t.deepEqual(out, []);
  t.is(r.counters().syns_shed, 1);
  t.is(r.counters().syn_received, 1, 'only the first connection\'s SYN was taken');
  r.tcp.shedSyns = false;
  r.cport = 30002;
  r.established();
  t.is(r.counters().syn_received, 2);
  t.deepEqual(r.problems, []);
});

test('a full table makes room from a connection past its answers (our FIN sent, not yet acknowledged)', (t) => {
  const r = new TcpRig(image, { tcpConnections: 4 });
  t.teardown(() => r.close());
  for (let i = 0; i < 4; i++) {
    r.cport = 30000 + i;
    r.established();
    r.send({ flags: ACK | PSH, data: TcpRig.framed(Q) });
    // The peer takes the answer and closes; our FIN goes out and is never acknowledged (LAST-ACK).
    const fin = r.send({ flags: ACK | FIN });
    t.true(fin.some((s) => (s.flags & FIN) !== 0), 'our FIN');
  }
  t.is(r.tcp.table.free, 0);
  r.cport = 31000;
  r.established();
  t.is(r.counters().evicted, 1);
  r.send({ flags: ACK | PSH, data: TcpRig.framed(Q) });
  t.is(r.messages().length, 1);
  t.deepEqual(r.problems, []);
});

test('a full table makes room from a connection retransmitting to a silent peer; one whose answer is merely in flight is kept', (t) => {
  const r = new TcpRig(image, { tcpConnections: 2 });
  r.modelChecks = false; // several 4-tuples through one rig: the frame checker judges
  t.teardown(() => r.close());
  // Two connections with an answer unacknowledged.
  for (let i = 0; i < 2; i++) {
    r.cport = 30000 + i;
    r.established();
    r.send({ flags: ACK | PSH, data: TcpRig.framed(Q) });
  }
  // Nothing can go yet: a new connection gets a cookie, and its ACK is refused (the table stays full).
  r.cport = 31000;
  const sa = r.syn();
  t.is(sa.flags, SYN | ACK);
  t.is(r.counters().cookies_sent, 1);
  t.false('evicted' in r.counters());
  // The retransmission timer fires for both: now they may go.
  r.advance(1500);
  t.true((r.counters().rto_expiries ?? 0) >= 2);
  r.cport = 31001;
  r.established();
  t.is(r.counters().evicted, 1);
  t.deepEqual(r.problems, []);
});

test('the loop calls itself backlogged after eight full batches in a row, and TCP sheds SYNs until a batch is not full', (t) => {
  const rig = new Rig(image, { end: { ringSize: 1024, frames: 2048 } });
  t.teardown(() => rig.dev.close());
  const frames = Array.from({ length: 600 }, (_, i) => udp4Frame(Q, { sport: 1024 + i }));
  t.is(sendFrames(rig.client, frames), 600);
  const seen: boolean[] = [];
  while (rig.runner.run(rig.now) > 0) seen.push(rig.stack.tcp!.shedSyns);
  // 600 frames: nine full batches of 64, then 24.
  t.deepEqual(seen, [false, false, false, false, false, false, false, true, true, false]);
  t.false(rig.runner.backlogged);
});
