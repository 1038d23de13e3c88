// What the responder tells RRL about each answer (rrlClass, rrlName: NSD's rrl_classify()
// and the name it keys each class by), the slip form of an answer byte for byte (what
// NSD's rrl_slip() and query_add_optional() leave: TC=1, the question, no records, the OPT
// again), and the responder and the table together on the fixture zones. The same classes
// and the same slip bytes are checked against NSD itself in rrl-nsd.test.ts.

import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DnsResponder, TRANSPORT_TCP, TRANSPORT_UDP } from '../../../appliance/dns/responder.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import {
  FAMILY_IPV4, RRL_ANY, RRL_DNSKEY, RRL_DROP, RRL_ERROR, RRL_NODATA, RRL_NONE, RRL_NXDOMAIN, RRL_POSITIVE, RRL_REFERRAL, RRL_RRSIG,
  RRL_SEND, RRL_SLIP, RRL_WILDCARD, ResponseRateLimiter, rrlClassName,
} from '../../../appliance/dns/rrl.js';
import { loadImage } from '../../../specializers/image/format.js';
import { buildTestImage, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { DO, header, opt, question, RD } from '../../helpers/dns-wire.js';
import { rrlNameHash } from '../../helpers/nsd-rrl.js';

const tmp = tempDir('rrl-responder');
let tables: DnsTables;

test.before(async () => {
  const zones = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => ({ origin: null, file: join(FIXTURE_ZONES, f) }));
  tables = new DnsTables(loadImage(await buildTestImage(join(tmp.dir, 'zones.apl'), [], zones)));
});
test.after.always(() => tmp.cleanup());

const nameHash = rrlNameHash;

const OFF = 5;

function answer(r: DnsResponder, q: Buffer, transport = TRANSPORT_UDP): { n: number; buf: Buffer } {
  const buf = Buffer.alloc(OFF + 4096, 0xee);
  q.copy(buf, OFF);
  return { n: r.answer(buf, OFF, q.length, 4096, transport), buf };
}

const Q = (name: string, qtype: number, o: { edns?: boolean; dnssecOk?: boolean; qclass?: number; id?: number } = {}): Buffer =>
  Buffer.concat([header({ id: o.id ?? 0x4a4a, ar: o.edns ? 1 : 0 }), question(name, qtype, o.qclass ?? 1), o.edns ? opt({ flags: o.dnssecOk ? DO : 0 }) : Buffer.alloc(0)]);

const A = 1, NS = 2, SOA = 6, MX = 15, TXT = 16, DS = 43, RRSIG = 46, DNSKEY = 48, SSHFP = 44, ANY = 255, AXFR = 252;

// [query name, qtype, class, the name the class is keyed by ('' for none)] on fixtures/zones.
const CASES: Array<[string, number, number, string]> = [
  ['www.example.com', A, RRL_POSITIVE, 'www.example.com'],
  ['WwW.ExAmPlE.CoM', A, RRL_POSITIVE, 'www.example.com'],
  ['example.com', SOA, RRL_POSITIVE, 'example.com'],
  ['alias.example.com', A, RRL_POSITIVE, 'alias.example.com'],
  ['example.com', DNSKEY, RRL_NODATA, 'example.com'],
  ['www.example.com', SSHFP, RRL_NODATA, 'example.com'],
  ['deep.ent.example.com', A, RRL_NODATA, 'example.com'],
  ['nx.example.com', A, RRL_NXDOMAIN, 'example.com'],
  ['a.b.nx.example.net', MX, RRL_NXDOMAIN, 'example.net'],
  ['a.old.example.com', A, RRL_NXDOMAIN, 'example.com'], // DNAME to example.net, a.example.net does not exist: the first zone
  ['nx.sub.example.com', A, RRL_NXDOMAIN, 'sub.example.com'],
  ['partner.example.com', A, RRL_REFERRAL, 'partner.example.com'],
  ['a.b.partner.example.com', TXT, RRL_REFERRAL, 'partner.example.com'],
  ['partner.example.com', DS, RRL_REFERRAL, 'partner.example.com'], // answered from the parent, still a referral (NSD)
  ['partner.example.com', ANY, RRL_REFERRAL, 'partner.example.com'], // referral before ANY
  ['sub.example.com', DS, RRL_REFERRAL, 'sub.example.com'], // a served child's apex: the parent's cut
  ['sub.example.com', NS, RRL_POSITIVE, 'sub.example.com'],
  ['foo.wild.example.com', A, RRL_WILDCARD, '*.wild.example.com'],
  ['a.b.wild.example.com', TXT, RRL_WILDCARD, '*.wild.example.com'],
  ['foo.wild.example.com', SSHFP, RRL_WILDCARD, '*.wild.example.com'], // the wildcard's NODATA: still wildcard
  ['*.wild.example.com', A, RRL_POSITIVE, '*.wild.example.com'], // the wildcard asked by its own name
  ['explicit.wild.example.com', A, RRL_POSITIVE, 'explicit.wild.example.com'],
  ['foo.wild.example.com', ANY, RRL_ANY, 'foo.wild.example.com'], // ANY before wildcard
  ['example.com', ANY, RRL_ANY, 'example.com'],
  ['nx.example.com', ANY, RRL_NXDOMAIN, 'example.com'], // rcode first
  ['example.com', RRSIG, RRL_RRSIG, 'example.com'],
  ['example.net', DNSKEY, RRL_DNSKEY, 'example.net'],
  ['www.example.invalid', A, RRL_ERROR, ''], // REFUSED: no zone
  ['example.com', AXFR, RRL_ERROR, ''], // NOTIMP over UDP, no zone (NSD's axfr_zone is not q->zone)
];

test('the class of each answer and the name it is keyed by, as NSD\'s rrl_classify()', (t) => {
  const r = new DnsResponder(tables);
  const wrong: string[] = [];
  for (const [name, qtype, cls, keyName] of CASES) {
    const { n } = answer(r, Q(name, qtype));
    const want = keyName === '' ? 0 : nameHash(keyName);
    if (n <= 0 || r.rrlClass !== cls || r.rrlName !== want) {
      wrong.push(`${name} ${qtype}: ${rrlClassName(r.rrlClass)} ${r.rrlName.toString(16)}, want ${rrlClassName(cls)} ${keyName} ${want.toString(16)}`);
    }
  }
  t.deepEqual(wrong, []);
});

test('classes of malformed and unusual queries: errors without a zone, BADVERS as NSD (NOERROR: by counts)', (t) => {
  const r = new DnsResponder(tables);
  const cases: Array<[string, Buffer, number, number]> = [
    ['FORMERR (QDCOUNT 2)', Buffer.concat([header({ qd: 2 }), question('www.example.com'), question('www.example.com')]), RRL_ERROR, 0],
    ['NOTIMP (opcode 5)', Buffer.concat([header({ flags: (5 << 11) | RD }), question('www.example.com')]), RRL_ERROR, 0],
    ['REFUSED (class CH)', Q('version.bind', TXT, { qclass: 3 }), RRL_ERROR, 0],
    ['BADVERS, qtype A: no records, no zone', Buffer.concat([header({ ar: 1 }), question('www.example.com'), opt({ version: 1 })]), RRL_NODATA, 0],
    ['BADVERS, qtype ANY: by the query name', Buffer.concat([header({ ar: 1 }), question('www.example.com', ANY), opt({ version: 1 })]), RRL_ANY, nameHash('www.example.com')],
    ['just an OPT (QDCOUNT 0)', Buffer.concat([header({ qd: 0, ar: 1 }), opt()]), RRL_NODATA, 0],
  ];
  for (const [what, q, cls, name] of cases) {
    const { n } = answer(r, q);
    t.true(n > 0, what);
    t.is(rrlClassName(r.rrlClass), rrlClassName(cls), what);
    t.is(r.rrlName, name, what);
  }
  answer(r, Q('www.example.com', A), TRANSPORT_TCP);
  t.is(r.rrlClass, RRL_NONE, 'TCP: no class (never limited)');
  const { n } = answer(r, Buffer.concat([header({ flags: 0x8000 }), question('www.example.com')]));
  t.is(n, -1);
  t.is(r.rrlClass, RRL_NONE, 'a dropped query: no class');
});

/** The slip form by hand: header (flags kept, TC set, AN=NS=0, AR=1 with an OPT), the question as sent, the OPT. */
function slipForm(q: Buffer, flags: number, o: { edns?: boolean; dnssecOk?: boolean; extRcode?: number; question?: boolean } = {}): string {
  const qEnd = o.question === false ? 12 : 12 + q.subarray(12).indexOf(0) + 1 + 4;
  const h = header({ id: q.readUInt16BE(0), flags: flags | 0x0200, qd: o.question === false ? 0 : 1, ar: o.edns ? 1 : 0 });
  const rrOpt = o.edns ? opt({ size: 1232, flags: o.dnssecOk ? DO : 0, extRcode: o.extRcode ?? 0 }) : Buffer.alloc(0);
  return Buffer.concat([h, q.subarray(12, qEnd), rrOpt]).toString('hex');
}

test('slip(): the answer cut in place to header and question with TC=1, the OPT kept, byte for byte', (t) => {
  const r = new DnsResponder(tables);
  const QR = 0x8000, AA = 0x0400;
  const cases: Array<[string, Buffer, number, Parameters<typeof slipForm>[2]]> = [
    ['positive, no EDNS', Q('wWw.ExAmPlE.cOm', A), QR | AA | RD, {}],
    ['positive, EDNS', Q('wWw.ExAmPlE.cOm', A, { edns: true }), QR | AA | RD, { edns: true }],
    ['positive, EDNS DO', Q('www.example.com', MX, { edns: true, dnssecOk: true }), QR | AA | RD, { edns: true, dnssecOk: true }],
    ['NXDOMAIN, EDNS', Q('nx.example.com', A, { edns: true }), QR | AA | RD | 3, { edns: true }],
    ['referral (AA clear), EDNS', Q('www.partner.example.com', A, { edns: true }), QR | RD, { edns: true }],
    ['wildcard', Q('x.wild.example.com', TXT), QR | AA | RD, {}],
    ['REFUSED, EDNS', Q('www.example.invalid', A, { edns: true }), QR | RD | 5, { edns: true }],
    ['BADVERS: the extended rcode stays in the OPT', Buffer.concat([header({ ar: 1 }), question('www.example.com'), opt({ version: 1 })]), QR | RD, { edns: true, extRcode: 1 }],
    ['FORMERR, header only', Buffer.concat([header({ qd: 2 }), question('www.example.com'), question('www.example.com')]), QR | RD | 1, { question: false }],
  ];
  for (const [what, q, flags, o] of cases) {
    const { n, buf } = answer(r, q);
    t.true(n > 0, what);
    const m = r.slip(buf, OFF);
    t.is(buf.subarray(OFF, OFF + m).toString('hex'), slipForm(q, flags, o), what);
  }
});

test('the responder and the table: 1,000 answers in a second from one /24, three classes apart', (t) => {
  const r = new DnsResponder(tables);
  const rrl = new ResponseRateLimiter({ size: 1 << 12, key: [1, 2], seed: 7 });
  const src = Uint8Array.of(198, 18, 0, 7);
  const tally = (q: (i: number) => Buffer): Record<string, number> => {
    const out: Record<string, number> = { send: 0, slip: 0, drop: 0, bytesIn: 0, bytesOut: 0 };
    for (let i = 0; i < 1000; i++) {
      const qb = q(i);
      const { n, buf } = answer(r, qb);
      const d = rrl.decide(src, 0, FAMILY_IPV4, r.rrlClass, r.rrlName, 1000);
      out.bytesIn! += qb.length;
      if (d === RRL_SEND) { out.send!++; out.bytesOut! += n; }
      if (d === RRL_SLIP) { out.slip!++; out.bytesOut! += r.slip(buf, OFF); }
      if (d === RRL_DROP) out.drop!++;
    }
    return out;
  };
  const limitedAlike = (x: Record<string, number>, what: string): void => {
    t.is(x.send, 399, what);
    t.is(x.slip! + x.drop!, 601, what);
    t.true(x.slip! > 240 && x.slip! < 360, `${what}: ${x.slip} slipped`);
  };
  const pos = tally((i) => Q('www.example.com', ANY, { id: i, edns: true }));
  limitedAlike(pos, 'ANY');
  const nx = tally((i) => Q(`nx${i}.example.com`, A, { id: i }));
  limitedAlike(nx, 'every NXDOMAIN of a zone shares the zone\'s bucket');
  const ref = tally((i) => Q(`h${i}.partner.example.com`, A, { id: i }));
  limitedAlike(ref, 'every referral to a cut shares the cut\'s bucket');
  t.log(`bytes out / in: ANY ${(pos.bytesOut! / pos.bytesIn!).toFixed(2)}, NXDOMAIN ${(nx.bytesOut! / nx.bytesIn!).toFixed(2)}, referral ${(ref.bytesOut! / ref.bytesIn!).toFixed(2)}`);
});
