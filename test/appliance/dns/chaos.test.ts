// CHAOS-class TXT queries (NSD's answer_chaos(), query.c, and its identity, hide-identity,
// version and hide-version options), against DnsResponder.answer() on the fixture zones:
// the four names NSD answers, byte for byte, and everything it REFUSES. The same queries
// go to NSD itself, configured alike, in test/differential/nsd-chaos.test.ts.

import test from 'ava';
import dnsPacket from 'dns-packet';
import {
  CHAOS_HIDDEN, checkChaos, chaosStrings, DnsResponder, type ChaosStrings,
} from '../../../appliance/dns/responder.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { RRL_ANY, RRL_ERROR, RRL_POSITIVE } from '../../../appliance/dns/rrl.js';
import { fixtureZoneTables, tempDir } from '../../helpers/fixtures.js';
import { askResponder, countsOf, DO, flagsOf, header, opt, question, RD, rcodeOf, type Reply } from '../../helpers/dns-wire.js';
import { rrlNameHash } from '../../helpers/nsd-rrl.js';

const tmp = tempDir('chaos');
let tables: DnsTables;

test.before(async () => {
  tables = await fixtureZoneTables(tmp.dir);
});
test.after.always(() => tmp.cleanup());

const CH = 3, A = 1, SOA = 6, TXT = 16, IXFR = 251, AXFR = 252, ANY = 255;
const SHOWN: ChaosStrings = { identity: 'ns1.example', version: 'appliance 9.9.9' };
const ask = askResponder;

const chQuery = (name: string, qtype = TXT, o: { edns?: boolean; dnssecOk?: boolean; flags?: number; qclass?: number } = {}): Buffer =>
  Buffer.concat([header({ flags: o.flags, ar: o.edns ? 1 : 0 }), question(name, qtype, o.qclass ?? CH), o.edns ? opt({ flags: o.dnssecOk ? DO : 0 }) : Buffer.alloc(0)]);

/** The TXT record NSD's query_addtxt() writes: a pointer to the question, TXT, CH, TTL 0, one string. */
function txtRecord(text: string): Buffer {
  const s = Buffer.from(text, 'utf8');
  const b = Buffer.alloc(13);
  b.writeUInt16BE(0xc00c, 0);
  b.writeUInt16BE(TXT, 2);
  b.writeUInt16BE(CH, 4);
  b.writeUInt32BE(0, 6);
  b.writeUInt16BE(s.length + 1, 10);
  b[12] = s.length;
  return Buffer.concat([b, s]);
}

/** The whole answer NSD gives: header (QR, RD as asked, AA clear, NOERROR, 1/1/0/n), the question as sent, the record, OPT. */
function expected(query: Buffer, text: string, o: { edns?: boolean; dnssecOk?: boolean } = {}): string {
  const qEnd = query.length - (o.edns ? 11 : 0);
  const h = Buffer.from(query.subarray(0, 12));
  h.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & RD), 2);
  h.writeUInt16BE(1, 6);
  h.writeUInt16BE(o.edns ? 1 : 0, 10);
  return Buffer.concat([h, query.subarray(12, qEnd), txtRecord(text), o.edns ? opt({ flags: o.dnssecOk ? DO : 0 }) : Buffer.alloc(0)]).toString('hex');
}

function refusedWithQuestion(t: { is: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void }, a: Reply, query: Buffer, what: string, edns = false): void {
  t.is(rcodeOf(a.msg), 5, `${what}: REFUSED`);
  t.is(flagsOf(a.msg) & 0x0400, 0, `${what}: AA clear`);
  t.deepEqual(countsOf(a.msg), [1, 0, 0, edns ? 1 : 0], `${what}: the question, no records`);
  t.is(a.msg.subarray(12, 12 + query.length - 12 - (edns ? 11 : 0)).toString('hex'), query.subarray(12, query.length - (edns ? 11 : 0)).toString('hex'), `${what}: question echoed`);
  t.deepEqual(a.counted, edns ? { queries: 1, edns: 1, refused: 1 } : { queries: 1, refused: 1 }, `${what}: counted as REFUSED`);
}

test('by default every CHAOS query is REFUSED with the question (the responder cannot know the host: the caller passes the strings)', (t) => {
  const r = new DnsResponder(tables);
  for (const name of ['id.server', 'hostname.bind', 'version.server', 'version.bind']) {
    for (const qtype of [TXT, ANY]) {
      const query = chQuery(name, qtype);
      refusedWithQuestion(t, ask(r, query), query, `${name} ${qtype}`);
    }
  }
  const explicit = new DnsResponder(tables, undefined, { chaos: CHAOS_HIDDEN });
  refusedWithQuestion(t, ask(explicit, chQuery('version.bind')), chQuery('version.bind'), 'CHAOS_HIDDEN');
});

test('id.server and hostname.bind give the identity, version.server and version.bind the version: TXT, CH, TTL 0, AA clear, byte for byte as NSD', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  const cases: Array<[string, string]> = [
    ['id.server', SHOWN.identity!], ['hostname.bind', SHOWN.identity!], ['version.server', SHOWN.version!], ['version.bind', SHOWN.version!],
  ];
  for (const [name, text] of cases) {
    for (const flags of [RD, 0]) {
      const query = chQuery(name, TXT, { flags });
      const a = ask(r, query);
      t.is(a.msg.toString('hex'), expected(query, text), `${name}, RD ${flags ? 'set' : 'clear'}`);
      t.deepEqual(a.counted, { queries: 1, answered: 1, chaos: 1 }, name);
      const p = dnsPacket.decode(a.msg);
      const rr = p.answers![0] as unknown as { name: string; type: string; class: string; ttl: number; data: Buffer[] };
      t.deepEqual([rr.name, rr.type, rr.class, rr.ttl, rr.data.map((d) => d.toString())], [name, 'TXT', 'CH', 0, [text]]);
    }
  }
});

test('QTYPE ANY is answered with the TXT record, as NSD', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  for (const [name, text] of [['id.server', SHOWN.identity!], ['version.bind', SHOWN.version!]] as const) {
    const query = chQuery(name, ANY);
    t.is(ask(r, query).msg.toString('hex'), expected(query, text), name);
  }
});

test('the names match without case; the question goes back as it came (DNS 0x20)', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  for (const name of ['VERSION.BIND', 'VeRsIoN.bInD', 'ID.Server', 'HostName.BIND']) {
    const query = chQuery(name);
    const a = ask(r, query);
    t.is(a.msg.toString('hex'), expected(query, name.toLowerCase().startsWith('version') ? SHOWN.version! : SHOWN.identity!), name);
    t.is(a.msg.subarray(12, query.length).toString('latin1'), query.subarray(12).toString('latin1'));
  }
});

test('other types, other CH names, and zone transfers in CH: REFUSED with the question (NSD: Not Supported)', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  for (const qtype of [A, SOA, 2, 28, 99, 65535]) {
    for (const name of ['version.bind', 'id.server']) {
      const query = chQuery(name, qtype);
      refusedWithQuestion(t, ask(r, query), query, `${name} type ${qtype}`);
    }
  }
  for (const name of ['authors.bind', 'bind', 'server', 'version', '.', 'foo.version.bind', 'version.bind.example.com', 'id.servers', 'version.bin', 'xd.server', 'hostname.bine']) {
    const query = chQuery(name);
    refusedWithQuestion(t, ask(r, query), query, name);
  }
  for (const tcp of [false, true]) {
    for (const qtype of [AXFR, IXFR]) {
      const query = chQuery('version.bind', qtype);
      refusedWithQuestion(t, ask(r, query, { tcp }), query, `type ${qtype} ${tcp ? 'TCP' : 'UDP'}`);
    }
  }
});

test('QCLASS * is not CHAOS: looked up in the zones (none holds bind.), REFUSED as NSD', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  const query = chQuery('version.bind', TXT, { qclass: 255 });
  refusedWithQuestion(t, ask(r, query), query, 'class ANY');
});

test('hidden identity, shown version (and the reverse): REFUSED only for the hidden one', (t) => {
  const a = new DnsResponder(tables, undefined, { chaos: { identity: null, version: 'v' } });
  const b = new DnsResponder(tables, undefined, { chaos: { identity: 'i', version: null } });
  for (const name of ['id.server', 'hostname.bind']) {
    refusedWithQuestion(t, ask(a, chQuery(name)), chQuery(name), `${name}, identity hidden`);
    t.is(ask(b, chQuery(name)).msg.toString('hex'), expected(chQuery(name), 'i'));
  }
  for (const name of ['version.server', 'version.bind']) {
    t.is(ask(a, chQuery(name)).msg.toString('hex'), expected(chQuery(name), 'v'));
    refusedWithQuestion(t, ask(b, chQuery(name)), chQuery(name), `${name}, version hidden`);
  }
});

test('with EDNS: our OPT after the record, DO echoed; REFUSED keeps the OPT; EDNS version 1 is BADVERS first (as NSD)', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  for (const dnssecOk of [false, true]) {
    const query = chQuery('version.bind', TXT, { edns: true, dnssecOk });
    const a = ask(r, query);
    t.is(a.msg.toString('hex'), expected(query, SHOWN.version!, { edns: true, dnssecOk }), `DO ${dnssecOk}`);
    t.deepEqual(a.counted, { queries: 1, edns: 1, answered: 1, chaos: 1 });
  }
  const hidden = new DnsResponder(tables);
  const query = chQuery('version.bind', TXT, { edns: true });
  refusedWithQuestion(t, ask(hidden, query), query, 'hidden, EDNS', true);
  const v1 = Buffer.concat([header({ ar: 1 }), question('version.bind', TXT, CH), opt({ version: 1 })]);
  const bad = ask(r, v1);
  t.is(rcodeOf(bad.msg), 0);
  t.is(bad.msg[bad.n - 11 + 5], 1, 'extended RCODE 1: BADVERS');
  t.deepEqual(countsOf(bad.msg), [1, 0, 0, 1]);
  t.deepEqual(bad.counted, { queries: 1, edns: 1, badvers: 1 });
});

test('over TCP the same answer as over UDP', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  for (const edns of [false, true]) {
    const query = chQuery('id.server', TXT, { edns });
    t.is(ask(r, query, { tcp: true }).msg.toString('hex'), ask(r, query).msg.toString('hex'));
  }
});

test('an answer that does not fit `cap` is truncated (TC, the question, no record), never written past it', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: { identity: 'x'.repeat(255), version: 'v' } });
  for (const edns of [false, true]) {
    const query = chQuery('id.server', TXT, { edns });
    const full = ask(r, query);
    t.is(full.n, 12 + 15 + 12 + 1 + 255 + (edns ? 11 : 0));
    const cut = ask(r, query, { cap: full.n - 1 });
    t.is(flagsOf(cut.msg), 0x8000 | RD | 0x0200);
    t.deepEqual(countsOf(cut.msg), [1, 0, 0, edns ? 1 : 0]);
    t.deepEqual(cut.counted, edns ? { queries: 1, edns: 1, truncated: 1 } : { queries: 1, truncated: 1 });
    t.is(ask(r, query, { cap: full.n }).msg.toString('hex'), full.msg.toString('hex'), 'exactly cap: whole');
  }
});

test('the strings: UTF-8 bytes, empty allowed, at most 255 bytes (a UsageError naming the flag); setChaos replaces them, a failed one keeps the old', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: { identity: 'hôte ☃', version: '' } });
  t.is(ask(r, chQuery('id.server')).msg.toString('hex'), expected(chQuery('id.server'), 'hôte ☃'));
  t.is(ask(r, chQuery('version.bind')).msg.toString('hex'), expected(chQuery('version.bind'), ''));
  const max = 'é'.repeat(127) + 'x'; // 255 bytes
  r.setChaos({ identity: max, version: 'v2' });
  t.is(ask(r, chQuery('hostname.bind')).msg.toString('hex'), expected(chQuery('hostname.bind'), max));
  const tooLong = 'é'.repeat(128); // 128 characters, 256 bytes
  const e = t.throws(() => r.setChaos({ identity: 'ok', version: tooLong }));
  t.is((e as Error & { code: string }).code, 'APPL_ERR_USAGE');
  t.regex(e!.message, /256 bytes.*255.*--version-string/);
  t.throws(() => new DnsResponder(tables, undefined, { chaos: { identity: tooLong, version: null } }), { message: /--identity/ });
  t.throws(() => checkChaos({ identity: null, version: 'x'.repeat(256) }), { message: /--version-string/ });
  t.notThrows(() => checkChaos({ identity: 'x'.repeat(255), version: null }));
  t.is(ask(r, chQuery('id.server')).msg.toString('hex'), expected(chQuery('id.server'), max), 'the old strings stay');
  t.is(ask(r, chQuery('version.server')).msg.toString('hex'), expected(chQuery('version.server'), 'v2'));
  r.setChaos(CHAOS_HIDDEN);
  t.is(rcodeOf(ask(r, chQuery('version.server')).msg), 5);
});

test('chaosStrings(): the serve flags NSD\'s way: the host name and "appliance <version>" by default, a hide flag wins over a string', (t) => {
  t.deepEqual(chaosStrings({}, 'host1', '0.1.0'), { identity: 'host1', version: 'appliance 0.1.0' });
  t.deepEqual(chaosStrings({ identity: 'ns1', versionString: 'secret' }, 'host1', '0.1.0'), { identity: 'ns1', version: 'secret' });
  t.deepEqual(chaosStrings({ hideIdentity: true, identity: 'ns1' }, 'host1', '0.1.0'), { identity: null, version: 'appliance 0.1.0' });
  t.deepEqual(chaosStrings({ hideVersion: true, versionString: 'x' }, 'host1', '0.1.0'), { identity: 'host1', version: null });
  t.deepEqual(chaosStrings({ identity: '' }, 'host1', '0.1.0'), { identity: '', version: 'appliance 0.1.0' });
  t.throws(() => chaosStrings({ identity: 'x'.repeat(256) }, 'host1', '0.1.0'), { message: /--identity/ });
});

test('for RRL, as NSD\'s rrl_classify(): a CHAOS answer is positive (ANY: any) by its lower-cased name; REFUSED an error of no zone', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: { identity: 'i', version: null } });
  ask(r, chQuery('ID.Server'));
  t.is(r.rrlClass, RRL_POSITIVE);
  t.is(r.rrlName, rrlNameHash('id.server'));
  ask(r, chQuery('id.server', ANY));
  t.is(r.rrlClass, RRL_ANY);
  t.is(r.rrlName, rrlNameHash('id.server'));
  ask(r, chQuery('version.bind'));
  t.is(r.rrlClass, RRL_ERROR);
  t.is(r.rrlName, 0);
});

test('the responder answers its zones as before between CHAOS answers', (t) => {
  const r = new DnsResponder(tables, undefined, { chaos: SHOWN });
  const plain = new DnsResponder(tables);
  const www = Buffer.concat([header(), question('www.example.com', A)]);
  const before = ask(plain, www).msg.toString('hex');
  ask(r, chQuery('version.bind'));
  t.is(ask(r, www).msg.toString('hex'), before);
});
