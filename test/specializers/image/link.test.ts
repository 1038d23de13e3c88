// Linking: an image with secondary zones linked in answers every query of the corpus byte
// for byte as one image built from all the zones together, and its HTTP tables are the
// base's; the zone flags make NOTIFY and SERVFAIL; nesting zones are refused.

import test from 'ava';
import { join } from 'node:path';
import { loadImage } from '../../../specializers/image/format.js';
import { linkImages, checkDisjoint, zoneOrigins } from '../../../specializers/image/link.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import { DnsResponder, TRANSPORT_TCP, TRANSPORT_UDP } from '../../../appliance/dns/responder.js';
import { zoneSerials } from '../../../appliance/dns/serials.js';
import { buildTestImage, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { encodeQuery, fullCorpus, parseCorpusLine } from '../../helpers/dns.js';

const BASE_ZONES = ['example.com.zone', 'sub.example.com.zone', 'example.net.zone'];
const ADD_ZONES = ['example.org.zone', '18.198.in-addr.arpa.zone', '8.b.d.0.1.0.0.2.ip6.arpa.zone'];
const spec = (f: string) => ({ origin: null, file: join(FIXTURE_ZONES, f) });
const site = [{ host: null, dir: FIXTURE_SITE }];

function answerAll(t: DnsTables, queries: Buffer[], transport: number, v6: boolean): Buffer[] {
  const r = new DnsResponder(t);
  return queries.map((q) => {
    const buf = new Uint8Array(65535);
    buf.set(q);
    const n = r.answer(buf, 0, q.length, buf.length, transport, v6);
    return Buffer.from(buf.subarray(0, Math.max(n, 0)));
  });
}

test('a linked image answers as one built from all its zones, and keeps the HTTP tables of its base', async (t) => {
  const d = tempDir('link');
  t.teardown(d.cleanup);
  const base = loadImage(await buildTestImage(join(d.dir, 'base.img'), site, BASE_ZONES.map(spec)));
  const add = loadImage(await buildTestImage(join(d.dir, 'add.img'), [], ADD_ZONES.map(spec)));
  const whole = loadImage(await buildTestImage(join(d.dir, 'whole.img'), site, [...BASE_ZONES, ...ADD_ZONES].map(spec)));
  linkImages({ base, add, output: join(d.dir, 'linked.img') });
  const linked = loadImage(join(d.dir, 'linked.img'));

  const corpus = fullCorpus([...BASE_ZONES, ...ADD_ZONES].map((f) => join(FIXTURE_ZONES, f))).filter((q) => q.opcode === 0);
  const queries = corpus.flatMap((q) => [encodeQuery(q), encodeQuery(q, { edns: true, udpSize: 1232 }), encodeQuery(q, { edns: true, udpSize: 512 })]);
  t.true(queries.length > 500);
  for (const [transport, v6] of [[TRANSPORT_UDP, false], [TRANSPORT_UDP, true], [TRANSPORT_TCP, false]] as const) {
    const a = answerAll(new DnsTables(whole), queries, transport, v6);
    const b = answerAll(new DnsTables(linked), queries, transport, v6);
    const diff = a.flatMap((x, i) => (x.equals(b[i]!) ? [] : [corpus[Math.floor(i / 3)]!.line]));
    t.deepEqual(diff, [], `transport ${transport} v6 ${v6}`);
  }
  t.deepEqual(zoneSerials(linked).map((z) => z.origin).sort(), zoneSerials(whole).map((z) => z.origin).sort());
  t.deepEqual(linked.meta.zones.map((z) => z.origin), [...base.meta.zones, ...add.meta.zones].map((z) => z.origin));
  t.deepEqual(linked.meta.sites, base.meta.sites);
  const h = new HttpTables(linked);
  t.true(h.hasSites);
  t.deepEqual(zoneOrigins(linked).slice(0, 3), zoneOrigins(base));
});

test('zone flags: NOTIFY for a secondary is answered NOERROR with AA, SERVFAIL zones answer SERVFAIL, built zones refuse NOTIFY', async (t) => {
  const d = tempDir('link-flags');
  t.teardown(d.cleanup);
  const base = loadImage(await buildTestImage(join(d.dir, 'base.img'), [], [spec('example.com.zone')]));
  const add = loadImage(await buildTestImage(join(d.dir, 'add.img'), [], [spec('example.org.zone'), spec('example.net.zone')]));
  linkImages({ base, add, output: join(d.dir, 'linked.img'), servfail: new Set(['example.net.']) });
  const r = new DnsResponder(new DnsTables(loadImage(join(d.dir, 'linked.img'))));
  const ask = (line: string, opcode = 0): { rcode: number; aa: boolean; qd: number; an: number; notified: number } => {
    const q = encodeQuery({ ...parseCorpusLine(line)!, opcode });
    const buf = new Uint8Array(4096);
    buf.set(q);
    const n = r.answer(buf, 0, q.length, buf.length, TRANSPORT_UDP);
    const m = Buffer.from(buf.subarray(0, n));
    return { rcode: m[3]! & 0xf, aa: (m[2]! & 4) !== 0, qd: m.readUInt16BE(4), an: m.readUInt16BE(6), notified: r.notified };
  };
  t.like(ask('example.org. SOA', 4), { rcode: 0, aa: true, qd: 1, an: 0 });
  t.is(r.zoneName(r.notified), 'example.org.');
  t.like(ask('example.net. SOA', 4), { rcode: 0, aa: true, notified: 2 });
  t.like(ask('example.com. SOA', 4), { rcode: 5, qd: 0, notified: -1 });
  t.like(ask('www.example.org. SOA', 4), { rcode: 5, notified: -1 });
  t.like(ask('www.example.net. A'), { rcode: 2, aa: false, qd: 1, an: 0 });
  t.like(ask('example.net. SOA'), { rcode: 2 });
  t.like(ask('example.org. SOA'), { rcode: 0, aa: true, an: 1 });
  t.like(ask('example.com. SOA'), { rcode: 0, aa: true, an: 1 });
  // The server refuses a NOTIFY from a source that is not a primary.
  const q = encodeQuery({ ...parseCorpusLine('example.org. SOA')!, opcode: 4 });
  const buf = new Uint8Array(512);
  buf.set(q);
  r.answer(buf, 0, q.length, buf.length, TRANSPORT_UDP);
  const n = r.notifyRefused(buf, 0);
  t.is(n, 12);
  t.is(buf[3]! & 0xf, 5);
  t.is(r.notified, -1);
});

test('zones that nest are not linked', (t) => {
  t.notThrows(() => checkDisjoint(['example.com.'], ['example.org.', 'xexample.com.']));
  for (const [a, b] of [['example.com.', 'example.com.'], ['sub.example.com.', 'example.com.'], ['com.', 'example.com.'], ['.', 'example.com.']]) {
    t.throws(() => checkDisjoint([b!], [a!]), { code: 'APPL_ERR_USAGE' });
  }
});
