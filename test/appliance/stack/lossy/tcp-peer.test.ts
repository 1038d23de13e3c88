// The test peer (test/helpers/tcp-peer.ts) checked on its own, against the appliance with
// no loss: so that when a lossy test fails, the client is not the suspect. Reordering and
// duplication toward the client exercise its out-of-order queue; a damaged frame must be
// refused by its checksum check; what it sends passes the same checks it applies.

import test from 'ava';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import type { ZonesImage } from '../helpers/rig.js';
import { buildLossyImage, LossyRig } from './lossy-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildLossyImage(); });
test.after.always(() => image?.cleanup());

const query = (line: string, id: number): Uint8Array => new Uint8Array(encodeQuery(parseCorpusLine(line)!, { id }));

test('peer: handshake with Linux\'s SYN options, a 60 KB answer in order, close, TIME-WAIT; the server ends clean', (t) => {
  const r = new LossyRig(image, { seed: 1 });
  const p = r.host.connect();
  const q = query('big.big.test TXT', 7);
  p.sendDns(q);
  t.true(r.runUntil(() => p.messages().length === 1, 100));
  t.deepEqual(p.messages()[0], r.referenceAnswer(q, false));
  t.is(p.serverMss, 1460);
  t.is(p.serverWscale, 0, 'the server answered our window scale with its own');
  t.true(p.serverSackOk);
  p.close();
  t.true(r.runUntil(() => p.done && r.tcp.table.used === 0, 100));
  t.is(p.state, 'TIME-WAIT');
  t.is(p.stats.outOfOrder, 0);
  t.is(p.stats.retransmits, 0);
  t.deepEqual(r.problems, []);
});

test('peer: frames reordered and duplicated toward it are put back in order (its out-of-order queue, SACK blocks), byte for byte', (t) => {
  const r = new LossyRig(image, { seed: 3, client: { rx: { reorder: 0.3, duplicate: 0.2, reorderMs: 10 } } });
  const p = r.host.connect({ v6: true });
  const qs = [query('big.big.test TXT', 1), query('example.com SOA', 2), query('big.big.test TXT', 3)];
  p.sendDns(...qs);
  t.true(r.runUntil(() => p.messages().length === 3, 1000));
  t.deepEqual(p.messages(), qs.map((q) => r.referenceAnswer(q, true)));
  t.true(p.stats.outOfOrder > 0, 'nothing came out of order');
  t.true(p.stats.duplicates > 0, 'no duplicate came');
  t.true(p.stats.dupAcks > 0, 'no ACK with SACK blocks went');
  p.close();
  t.true(r.runUntil(() => p.done && r.tcp.table.used === 0, 1000));
  t.deepEqual(r.problems, []);
});

test('peer: a frame whose TCP checksum is wrong is refused, counted, and the server\'s retransmission gets through', (t) => {
  const r = new LossyRig(image, { seed: 1 });
  // Damage the first data segment from the server once, in flight (a byte of its payload).
  let damaged = false;
  const dev = r.pipeB;
  const receive = dev.receive.bind(dev);
  dev.receive = (addrs, lens, max) => {
    const n = receive(addrs, lens, max);
    for (let i = 0; i < n && !damaged; i++) {
      if (lens[i]! > 200) {
        dev.mem[addrs[i]! + 100] = dev.mem[addrs[i]! + 100]! ^ 0xff;
        damaged = true;
      }
    }
    return n;
  };
  const p = r.host.connect();
  const q = query('big.big.test TXT', 9);
  p.sendDns(q);
  t.true(r.runUntil(() => p.messages().length === 1, 1000));
  t.true(damaged);
  t.is(r.host.badChecksums, 1);
  t.deepEqual(p.messages()[0], r.referenceAnswer(q, false));
  t.true(r.tcpCounter('retransmits') > 0);
  t.deepEqual(r.problems.filter((x) => !/bad TCP checksum/.test(x)), []);
});
