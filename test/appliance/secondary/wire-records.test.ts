// Transfer messages parsed (RFC 1035 §4.1, names decompressed per RFC 3597 §4), hostile
// messages refused as APPL_ERR_XFR_FORMAT with the byte at fault, and zoneText read back
// by the repository's own parser to the same records: the fixture zones, a generated zone
// and records of unusual types.

import test from 'ava';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApplianceError } from '../../../basics/errors.js';
import {
  encodeQuery, encodeRecord, MessageReader, parseMessage, soaSerial, zoneNameWire, zoneText, zoneTextChunks, type WireRecord,
} from '../../../appliance/secondary/wire-records.js';
import { nameToText, parseZoneFile, parseZoneText, RRType as T } from '../../../specializers/dns/zone.js';
import { FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { fromZone, genZone, MessageBuilder, QR_AA, soaRdata, u16, u32, wire } from './xfr-helpers.js';

const ZONE = wire('example.com');

function formatError(t: { throws: (f: () => unknown, e: object) => unknown }, msg: Uint8Array, pattern: RegExp): void {
  const e = t.throws(() => parseMessage(msg), { instanceOf: ApplianceError }) as ApplianceError;
  if (e.code !== 'APPL_ERR_XFR_FORMAT' || !pattern.test(e.message)) throw new Error(`unexpected error ${e.code}: ${e.message}`);
}

test('header, question and records; owners and SOA names compressed and expanded', (t) => {
  const m = new MessageBuilder(0xbeef, QR_AA)
    .question(ZONE, T.AXFR)
    .rr(1, ZONE, T.SOA, 3600, [{ name: wire('ns1.example.com') }, { name: wire('hostmaster.example.com') }, soaRdata(7).subarray(-20)])
    .rr(1, wire('www.example.com'), T.A, 300, [[198, 18, 0, 10]])
    .rr(1, wire('www.example.com'), T.MX, 60, [u16(10), { name: wire('mail.example.com') }])
    .bytes();
  // Five owners and RDATA names end in pointers: 121 bytes where 191 would be written out.
  t.is(m.length, 121);
  const p = parseMessage(m);
  t.is(p.id, 0xbeef);
  t.is(p.rcode, 0);
  t.is(p.opcode, 0);
  t.deepEqual(p.question, [{ name: ZONE, type: T.AXFR, cls: 1 }]);
  t.is(p.answer.length, 3);
  const [soa, a, mx] = p.answer as [WireRecord, WireRecord, WireRecord];
  t.deepEqual(soa.owner, ZONE);
  t.deepEqual(Array.from(soa.rdata), Array.from(soaRdata(7)));
  t.is(soaSerial(soa.rdata), 7);
  t.deepEqual(a.owner, wire('www.example.com'));
  t.is(a.ttl, 300);
  t.is(a.owner, mx.owner, 'consecutive records with one owner share its array');
  t.deepEqual(Array.from(mx.rdata), [0, 10, ...wire('mail.example.com')]);
});

test('names in RDATA are expanded for RFC 1035 types and RFC 3597 §4\'s SHOULD list', (t) => {
  const b = new MessageBuilder(1, QR_AA).question(ZONE, T.AXFR);
  const n = (s: string): { name: Uint8Array } => ({ name: wire(s) });
  const cases: Array<[number, Array<number[] | { name: Uint8Array }>, number[]]> = [
    [T.NS, [n('ns1.example.com')], [...wire('ns1.example.com')]],
    [T.CNAME, [n('www.example.com')], [...wire('www.example.com')]],
    [T.PTR, [n('a.example.com')], [...wire('a.example.com')]],
    [T.MINFO, [n('r.example.com'), n('e.example.com')], [...wire('r.example.com'), ...wire('e.example.com')]],
    [T.RP, [n('hostmaster.example.com'), n('contact.example.com')], [...wire('hostmaster.example.com'), ...wire('contact.example.com')]],
    [T.AFSDB, [u16(1), n('afs.example.com')], [...u16(1), ...wire('afs.example.com')]],
    [T.RT, [u16(2), n('rt.example.com')], [...u16(2), ...wire('rt.example.com')]],
    [T.PX, [u16(3), n('a.example.com'), n('b.example.com')], [...u16(3), ...wire('a.example.com'), ...wire('b.example.com')]],
    [T.SRV, [u16(10), u16(60), u16(5060), n('sip.example.com')], [...u16(10), ...u16(60), ...u16(5060), ...wire('sip.example.com')]],
    [T.NAPTR, [u16(100), u16(10), [1, 0x55], [7, ...Buffer.from('E2U+sip')], [0], n('sip.example.com')],
      [...u16(100), ...u16(10), 1, 0x55, 7, ...Buffer.from('E2U+sip'), 0, ...wire('sip.example.com')]],
    [T.SIG, [[0, 1, 8, 2, ...u32(3600), ...u32(2), ...u32(1), ...u16(7)], n('example.com'), [1, 2, 3]],
      [0, 1, 8, 2, ...u32(3600), ...u32(2), ...u32(1), ...u16(7), ...wire('example.com'), 1, 2, 3]],
    [T.NXT, [n('next.example.com'), [0x40, 0x01]], [...wire('next.example.com'), 0x40, 0x01]],
  ];
  for (const [type, rd] of cases) b.rr(1, wire('x.example.com'), type, 60, rd);
  const p = parseMessage(b.bytes());
  t.is(p.answer.length, cases.length);
  p.answer.forEach((r, i) => t.deepEqual(Array.from(r.rdata), cases[i]![2], `type ${cases[i]![0]}`));
});

test('KX, DNAME and other types are taken as sent: a pointer in their RDATA is refused (RFC 3597 §4)', (t) => {
  for (const [type, pre] of [[T.KX, u16(1)], [T.DNAME, []], [T.SVCB, u16(1)]] as Array<[number, number[]]>) {
    const m = new MessageBuilder(1, QR_AA).question(ZONE, T.AXFR).rr(1, wire('x.example.com'), type, 60, [pre, { name: ZONE }]).bytes();
    formatError(t, m, /not a valid (KX|DNAME|SVCB) RDATA \(a compressed name\?/);
    const ok = new MessageBuilder(1, QR_AA).question(ZONE, T.AXFR).rr(1, wire('x.example.com'), type, 60, [pre, { name: wire('y.example.com'), compress: false }]).bytes();
    t.deepEqual(Array.from(parseMessage(ok).answer[0]!.rdata), [...pre, ...wire('y.example.com')]);
  }
});

test('a TTL with its top bit set is 0 (RFC 2181 §8); case in names is kept', (t) => {
  const m = new MessageBuilder(1, QR_AA).question(ZONE, T.AXFR)
    .rr(1, wire('WwW.Example.COM'), T.A, 0x80000001, [[1, 2, 3, 4]]).bytes();
  const r = parseMessage(m).answer[0]!;
  t.is(r.ttl, 0);
  t.deepEqual(r.owner, wire('WwW.Example.COM'));
});

test('OPT and TSIG are taken out of the additional section; the extended RCODE is combined', (t) => {
  const m = new MessageBuilder(1, 0x8000 | 0x0001)
    .question(ZONE, T.SOA)
    .rr(3, Uint8Array.of(0), T.OPT, (1 << 24), [], { cls: 1232 })
    .rr(3, wire('key'), T.TSIG, 0, [[...wire('hmac-sha256'), 0, 0, 0, 0, 0, 1, 1, 44, 0, 0, 0, 1, 0, 0, 0, 0]], { cls: 255 })
    .bytes();
  const p = parseMessage(m);
  t.is(p.rcode, 16 + 1);
  t.not(p.opt, null);
  t.not(p.tsig, null);
  t.is(p.additional.length, 0);
  t.is(p.tsig!.offset, m.length - (5 + 10 + 29), 'the TSIG record starts after the OPT record');
});

// ---------------------------------------------------------------------------------------
// Hostile messages: each refused as APPL_ERR_XFR_FORMAT, naming what and where.

/** A header with these counts, then the bytes. */
function msg(counts: [number, number, number, number], ...body: Array<number[] | Uint8Array>): Uint8Array {
  return Uint8Array.from([...u16(1), ...u16(0x8400), ...counts.flatMap(u16), ...body.flatMap((b) => Array.from(b))]);
}
const TC_IN = [...u16(T.A), ...u16(1)];

test('hostile: short header, pointer to itself, forward pointer, pointer back into its own name', (t) => {
  formatError(t, Uint8Array.of(0, 1, 0x84), /3 bytes is shorter than a DNS header/);
  formatError(t, msg([1, 0, 0, 0], [0xc0, 12], TC_IN), /points to byte 12, not before byte 12 .*at byte 12 /);
  formatError(t, msg([1, 0, 0, 0], [0xc0, 40], TC_IN), /points to byte 40, not before byte 12/);
  // "a" then a pointer back to the "a": a loop, though the pointer does point backwards.
  formatError(t, msg([1, 0, 0, 0], [1, 0x61, 0xc0, 12], TC_IN), /points to byte 12, not before byte 12 .*at byte 14 /);
});

test('hostile: a chain of 200 pointers, each to the one before, is cut off', (t) => {
  // A TYPE65000 record's RDATA holds the chain; the next record's owner enters it at its end.
  const q = [1, 0x61, 0]; // question "a." at 12
  const rdStart = 12 + q.length + 4 + 2 + 10; // after the question, an owner pointer (2) and the fixed fields
  const chain: number[] = [];
  for (let k = 0; k < 200; k++) {
    const target = k === 0 ? 12 : rdStart + 2 * (k - 1);
    chain.push(0xc0 | (target >> 8), target & 0xff);
  }
  const last = rdStart + 2 * 199;
  const m = msg([1, 2, 0, 0], q, TC_IN,
    [0xc0, 12, ...u16(65000), ...u16(1), ...u32(0), ...u16(chain.length), ...chain],
    [0xc0 | (last >> 8), last & 0xff, ...TC_IN, ...u32(0), ...u16(4), 1, 2, 3, 4]);
  formatError(t, m, /follows more than 128 compression pointers/);
});

test('hostile: truncated RR header, RDLENGTH past the end, counts past the end, trailing bytes', (t) => {
  formatError(t, msg([0, 1, 0, 0], [0], TC_IN, [0, 0]), /answer record 1 of 1 is cut short after its owner name .*at byte 12 /);
  formatError(t, msg([0, 1, 0, 0], [0], TC_IN, u32(0), u16(4), [1, 2]), /RDLENGTH 4 of the answer record 1 of 1 runs past the end/);
  formatError(t, msg([0, 2, 0, 0], [0], TC_IN, u32(0), u16(4), [1, 2, 3, 4]), /owner name of the answer record 2 of 2 runs past the end of its message/);
  formatError(t, msg([0, 1, 0, 0], [0], TC_IN, u32(0), u16(4), [1, 2, 3, 4], [9, 9]), /2 bytes after the last record/);
  formatError(t, msg([2, 0, 0, 0], [0], TC_IN), /question 2 of 2|runs past the end/);
});

test('hostile: names over 255 octets, written out or through a pointer; label types 0x40 and 0x80', (t) => {
  const long = (n: number, len: number): number[] => Array.from({ length: n }, () => [len, ...new Array<number>(len).fill(0x61)]).flat();
  formatError(t, msg([1, 0, 0, 0], long(5, 59), [0], TC_IN), /question name is longer than 255 octets .*at byte 12 /);
  // 200 octets in the question, then an owner of 2 × 40-octet labels and a pointer to it.
  const q = [...long(4, 49), 0];
  const m = msg([1, 1, 0, 0], q, TC_IN, long(2, 40), [0xc0, 12], TC_IN, u32(0), u16(4), [1, 2, 3, 4]);
  formatError(t, m, /owner name of the answer record 1 of 1 is longer than 255 octets/);
  formatError(t, msg([1, 0, 0, 0], [0x41, 0], TC_IN), /label type 0x40/);
  formatError(t, msg([1, 0, 0, 0], [0x81, 0], TC_IN), /label type 0x80/);
});

test('hostile: RDATA names cut short, half a pointer, bytes left over, a name past its RDATA', (t) => {
  const rr = (type: number, rd: number[]): Uint8Array => msg([0, 1, 0, 0], [0], u16(type), u16(1), u32(0), u16(rd.length), rd);
  formatError(t, rr(T.SOA, [0, 0, ...u32(1), ...u32(2)]), /SOA RDATA of the answer record 1 of 1 is cut short/);
  formatError(t, rr(T.MX, [0, 10, 0, 7]), /1 byte left over in the MX RDATA/);
  formatError(t, rr(T.NS, [0xc0]), /ends in half a compression pointer/);
  formatError(t, rr(T.NS, [3, 0x61, 0x62]), /name in the NS RDATA of the answer record 1 of 1 runs past the end of its RDATA|a label of the name in the NS RDATA .* runs past the end of its RDATA/);
  formatError(t, rr(T.A, [1, 2, 3]), /not a valid A RDATA/);
  formatError(t, rr(T.NAPTR, [0, 1, 0, 2, 5, 0x61]), /NAPTR RDATA of the answer record 1 of 1 is cut short/);
});

test('hostile: TSIG anywhere but last, meta types in a section', (t) => {
  const tsig = [...u16(T.TSIG), ...u16(255), ...u32(0), ...u16(0)];
  formatError(t, msg([0, 1, 0, 0], [0], tsig), /a TSIG record as the answer record 1 of 1/);
  formatError(t, msg([0, 0, 0, 2], [0], tsig, [0], TC_IN, u32(0), u16(4), [1, 2, 3, 4]), /TSIG must be the last record of the additional section/);
  formatError(t, msg([0, 1, 0, 0], [0], u16(T.AXFR), u16(1), u32(0), u16(0)), /type AXFR, a meta type/);
  formatError(t, msg([0, 0, 0, 2], [0], u16(T.OPT), u16(512), u32(0), u16(0), [0], u16(T.OPT), u16(512), u32(0), u16(0)), /type OPT, a meta type/);
});

test('property: mutated and truncated messages give a parse or APPL_ERR_XFR_FORMAT, nothing else', (t) => {
  const seed = new MessageBuilder(0x4242, QR_AA)
    .question(ZONE, T.AXFR)
    .rr(1, ZONE, T.SOA, 3600, [{ name: wire('ns1.example.com') }, { name: wire('hostmaster.example.com') }, soaRdata(7).subarray(-20)])
    .rr(1, wire('www.example.com'), T.MX, 60, [u16(10), { name: wire('mail.example.com') }])
    .rr(1, wire('_sip._tcp.example.com'), T.SRV, 60, [u16(1), u16(2), u16(3), { name: wire('www.example.com') }])
    .rr(1, wire('www.example.com'), T.TXT, 60, [[3, 0x61, 0x62, 0x63]])
    .rr(3, wire('key.example.com'), T.TSIG, 0, [[...wire('hmac-sha256'), 0, 0, 0, 0, 0, 1, 1, 44, 0, 0, 0, 1, 0, 0, 0, 0]], { cls: 255 })
    .bytes();
  t.notThrows(() => parseMessage(seed));
  const edit = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
  fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), fc.nat({ max: seed.length }), (edits, cut) => {
    const m = seed.slice(0, Math.max(cut, edits.length > 3 ? seed.length : cut));
    for (const e of edits) if (m.length > 0) m[e.at % m.length] = e.value;
    try {
      new MessageReader().parse(m);
    } catch (e) {
      if (!(e instanceof ApplianceError) || e.code !== 'APPL_ERR_XFR_FORMAT') throw e;
    }
  }), { seed: 20240601, numRuns: 4000 });
  t.pass();
});

// ---------------------------------------------------------------------------------------
// Writing.

test('encodeQuery and encodeRecord: an IXFR query with our SOA in the authority section (RFC 1995 §3)', (t) => {
  const soa: WireRecord = { owner: ZONE, type: T.SOA, cls: 1, ttl: 3600, rdata: soaRdata(41) };
  const q = encodeQuery(0x1234, ZONE, T.IXFR, [soa]);
  const p = parseMessage(q);
  t.is(p.id, 0x1234);
  t.is(p.flags, 0, 'RD clear, a query');
  t.deepEqual(p.question, [{ name: ZONE, type: T.IXFR, cls: 1 }]);
  t.is(p.authority.length, 1);
  t.deepEqual(Array.from(p.authority[0]!.rdata), Array.from(soa.rdata));
  t.deepEqual(Array.from(encodeRecord(soa)), [...ZONE, ...u16(6), ...u16(1), ...u32(3600), ...u16(soa.rdata.length), ...soa.rdata]);
});

test('zoneNameWire: with or without the final dot; a bad name is a UsageError', (t) => {
  t.deepEqual(zoneNameWire('example.com'), ZONE);
  t.deepEqual(zoneNameWire('example.com.'), ZONE);
  t.deepEqual(zoneNameWire('.'), Uint8Array.of(0));
  const e = t.throws(() => zoneNameWire('a..b'), { instanceOf: ApplianceError });
  t.is(e?.code, 'APPL_ERR_USAGE');
});

// ---------------------------------------------------------------------------------------
// zoneText, read back by parseZoneText.

function sameRecords(t: { is: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void }, got: readonly WireRecord[], want: readonly WireRecord[], what: string): void {
  t.is(got.length, want.length, `${what}: record count`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    const show = (r: WireRecord): string => `${Buffer.from(r.owner).toString('hex')} ${r.type} ${r.cls} ${r.ttl} ${Buffer.from(r.rdata).toString('hex')}`;
    if (show(g) !== show(w)) t.deepEqual(show(g), show(w), `${what}: record ${i + 1}`);
  }
}

function roundTrip(origin: string, records: readonly WireRecord[]): WireRecord[] {
  const text = zoneText(origin, records);
  return parseZoneText(text, { file: 'round-trip.zone' }).records.map(fromZone);
}

test('zoneText round trip: every fixture zone, the signed one too', (t) => {
  const files = [
    ...readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).map((f) => join(FIXTURE_ZONES, f)),
    ...readdirSync(join(FIXTURE_ZONES, 'signed')).filter((f) => f.endsWith('.zone')).map((f) => join(FIXTURE_ZONES, 'signed', f)),
  ];
  t.true(files.length >= 6);
  for (const file of files) {
    const z = parseZoneFile(file);
    const recs = z.records.map(fromZone);
    const text = zoneText(nameToText(z.origin), recs);
    t.true(text.startsWith('$ORIGIN '), file);
    sameRecords(t, parseZoneText(text, { file: 'rt.zone' }).records.map(fromZone), recs, file);
  }
});

test('zoneText round trip: a zone from scripts/gen-zone.mjs', (t) => {
  const tmp = tempDir('xfr-gen');
  t.teardown(tmp.cleanup);
  const z = parseZoneFile(genZone(join(tmp.dir, 'gen.zone'), 5000, 'gen.example'));
  const recs = z.records.map(fromZone);
  t.true(recs.length > 5000);
  sameRecords(t, roundTrip('gen.example', recs), recs, 'gen.example');
  // In pieces, for zones longer than a string may be: the same text.
  const pieces = [...zoneTextChunks('gen.example', recs, 10_000)];
  t.true(pieces.length > 10);
  t.is(pieces.join(''), zoneText('gen.example', recs));
  t.true(pieces.every((p) => p.endsWith('\n')), 'every piece ends a line');
});

test('zoneText round trip: unusual TXT, CAA, SVCB/HTTPS, unknown types, odd owner names', (t) => {
  const at = (s: string): Uint8Array => wire(`${s}.example.com`);
  const str = (bs: number[]): number[] => [bs.length, ...bs];
  const label = (bytes: number[], rest = 'example.com'): Uint8Array => Uint8Array.from([bytes.length, ...bytes, ...wire(rest)]);
  const svcb = parseZoneText([
    '$ORIGIN example.com.',
    'svc 60 IN SVCB 1 svc-backend port=8443 alpn=h2,h3 mandatory=alpn ech=AEn+DQBF key65000="\\000\\255x"',
    'svc 60 IN SVCB 0 alias.example.net.',
    'www 60 IN HTTPS 1 . alpn="h2,h\\\\,x" ipv4hint=198.18.0.1,198.18.0.2 ipv6hint=2001:db8::1 no-default-alpn',
  ].join('\n'), { file: 'svcb.zone', origin: 'example.com' }).records.map(fromZone);
  const recs: WireRecord[] = [
    { owner: ZONE, type: T.SOA, cls: 1, ttl: 3600, rdata: soaRdata(2024) },
    { owner: at('txt'), type: T.TXT, cls: 1, ttl: 0, rdata: Uint8Array.from([...str([0x22, 0x5c, 0x3b, 0x28, 0x20, 0x00, 0xff, 0x7f, 0xe2, 0x82, 0xac]), ...str([]), ...str([0x40, 0x24])]) },
    { owner: at('txt'), type: T.TXT, cls: 1, ttl: 2147483647, rdata: new Uint8Array(0) },
    { owner: at('caa'), type: T.CAA, cls: 1, ttl: 60, rdata: Uint8Array.from([128, 5, ...Buffer.from('issue'), ...Buffer.from('ca.example.net; "q" \\ \u00e9', 'latin1')]) },
    { owner: at('caa'), type: T.CAA, cls: 1, ttl: 60, rdata: Uint8Array.from([0, 6, ...Buffer.from('is-sue'), 0x61]) },
    ...svcb,
    { owner: at('unknown'), type: 65000, cls: 1, ttl: 60, rdata: Uint8Array.from([0, 1, 0x5c, 0x23, 0xff]) },
    { owner: at('unknown'), type: 65000, cls: 1, ttl: 60, rdata: new Uint8Array(0) },
    { owner: at('sig'), type: T.SIG, cls: 1, ttl: 60, rdata: Uint8Array.from([0, 1, 8, 2, ...u32(3600), ...u32(2), ...u32(1), ...u16(7), ...ZONE, 1, 2, 3]) },
    { owner: at('nxt'), type: T.NXT, cls: 1, ttl: 60, rdata: Uint8Array.from([...wire('next.example.com'), 0x40, 0x01]) },
    { owner: label([...Buffer.from('a.b')]), type: T.A, cls: 1, ttl: 60, rdata: Uint8Array.of(198, 18, 0, 1) },
    { owner: label([...Buffer.from('sp ace')]), type: T.A, cls: 1, ttl: 60, rdata: Uint8Array.of(198, 18, 0, 2) },
    { owner: label([0x40]), type: T.A, cls: 1, ttl: 60, rdata: Uint8Array.of(198, 18, 0, 3) },
    { owner: label([0x24, 0x54, 0x54, 0x4c]), type: T.A, cls: 1, ttl: 60, rdata: Uint8Array.of(198, 18, 0, 4) },
    { owner: label([0x22, 0x5c, 0x28, 0x29, 0x3b, 0x00, 0xff]), type: T.A, cls: 1, ttl: 60, rdata: Uint8Array.of(198, 18, 0, 5) },
    { owner: label([...Buffer.from('IN')]), type: T.MX, cls: 1, ttl: 60, rdata: Uint8Array.from([0, 10, ...wire('MAIL.Example.COM')]) },
    { owner: label([0x2a]), type: T.CNAME, cls: 1, ttl: 60, rdata: label([...Buffer.from('a.b')]) },
    { owner: at('ch'), type: T.TXT, cls: 3, ttl: 60, rdata: Uint8Array.from(str([0x61])) },
    { owner: at('class'), type: 65001, cls: 65280, ttl: 60, rdata: Uint8Array.of(1) },
  ];
  const text = zoneText('example.com.', recs);
  t.regex(text, /^\$ORIGIN example\.com\.\n/);
  t.regex(text, /TYPE65000 \\# 5 00015c23ff/);
  t.regex(text, /a\\\.b\.example\.com\. 60 IN A/);
  t.regex(text, /sp\\032ace\.example\.com\./);
  sameRecords(t, roundTrip('example.com', recs), recs, 'unusual records');
});
