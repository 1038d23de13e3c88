// The DNS tables' read-ahead before each batch (Stack.prefetch, DnsTables.prefetchRun) is
// a pure optimization: with it forced on and forced off, the same frames give the same
// replies, byte for byte and in order, and the same counters. The frames are the query
// corpus over every fixture zone (names that exist, that do not, wildcards, referrals,
// mixed case, EDNS) mixed with frames that only look like DNS queries to the read-ahead:
// names cut short, labels longer than 63, no root label, another port, random bytes.

import test from 'ava';
import fc from 'fast-check';
import { COUNTER_STRIDE } from '../../../appliance/stack/counters.js';
import { encodeQuery, fullCorpus, parseCorpusLine } from '../../helpers/dns.js';
import { udp4Frame } from '../../helpers/packets.js';
import { buildZonesImage, Rig, ZONE_FILES, type ZonesImage } from './helpers/rig.js';

let image: ZonesImage;
test.before(async () => {
  image = await buildZonesImage();
});
test.after.always(() => image?.cleanup());

function frames(seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  fullCorpus(ZONE_FILES).forEach((q, i) => out.push(udp4Frame(encodeQuery(q, { id: i, edns: i % 2 === 0 }), { sport: 1024 + (i % 30000) })));
  const www = encodeQuery(parseCorpusLine('www.example.com A')!, { id: 7 });
  out.push(udp4Frame(www.subarray(0, 14)));                       // the name cut short
  const long = Buffer.from(www); long[12] = 64; out.push(udp4Frame(long)); // a label longer than 63
  const open = Buffer.concat([www.subarray(0, 12), Buffer.alloc(300, 1)]); out.push(udp4Frame(open)); // no root label in 255 bytes
  out.push(udp4Frame(www, { dport: 5353 }));                      // not our port
  const rnd = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 80 }), { numRuns: 200, seed });
  for (const r of rnd) out.push(udp4Frame(Buffer.concat([www.subarray(0, 12), Buffer.from(r)])));
  return out;
}

test('replies and counters are the same with the read-ahead and without it', (t) => {
  const on = new Rig(image), off = new Rig(image);
  t.teardown(async () => { await on.close(); await off.close(); });
  on.stack.dnsTables!.prefetchMode = 'always';
  off.stack.dnsTables!.prefetchMode = 'never';
  t.true(on.stack.dnsTables!.prefetchPays);
  t.false(off.stack.dnsTables!.prefetchPays);
  const f = frames(42);
  // In chunks the pipe's rings hold (several batches each).
  const a: Uint8Array[] = [], b: Uint8Array[] = [];
  for (let i = 0; i < f.length; i += 200) {
    a.push(...on.exchange(f.slice(i, i + 200)));
    b.push(...off.exchange(f.slice(i, i + 200)));
  }
  t.true(a.length > f.length / 2, 'most frames were answered');
  t.is(a.length, b.length);
  let differ = 0;
  a.forEach((x, i) => { if (Buffer.compare(x, b[i]!) !== 0) differ++; });
  t.is(differ, 0);
  t.deepEqual([...on.counters.subarray(0, COUNTER_STRIDE)], [...off.counters.subarray(0, COUNTER_STRIDE)]);
});

test('the fixture zones are too small for the read-ahead to be used unless forced', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  t.false(r.stack.dnsTables!.prefetchPays);
});
