// Hostile queries against DnsResponder.answer(), on an image built from fixtures/zones:
// each malformed or unusual message gets the rcode NSD gives it (FORMERR, NOTIMP, REFUSED,
// NOTAUTH, BADVERS) or a counted drop, never an exception, never a write past `cap`, and
// the responder answers normally afterwards. Where NSD and the RFCs leave a choice, the
// test names the choice (compared against NSD 4.6.1 by hand; the differential corpus holds
// the cases both servers can be asked through ordinary queries).
//
// Properties (fast-check, fixed seed, time-bounded): random bytes and mutated corpus
// queries never throw, the length is at most `cap`, and every response decodes with
// dns-packet.

import test from 'ava';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import { DnsResponder } from '../../../appliance/dns/responder.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_ZONES, fixtureZoneTables, tempDir } from '../../helpers/fixtures.js';
import { encodeQuery, fullCorpus, loadCorpus } from '../../helpers/dns.js';
import {
  countsOf, DO, ednsOption, flagsOf, header, opcodeOf, opt, question, RD, rcodeOf, rr, tsig, typeClass, wireName,
  askResponder, type Reply,
} from '../../helpers/dns-wire.js';

const SEED = 20251125;
const tmp = tempDir('responder');
let tables: DnsTables;

test.before(async () => {
  tables = await fixtureZoneTables(tmp.dir);
});
test.after.always(() => tmp.cleanup());

const ask = askResponder;

const q = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
const WWW = question('www.example.com', 1);
const plain = (): Buffer => q(header(), WWW);

/** The answer to www.example.com A, to check the responder still works after a bad query. */
function stillAnswers(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, r: DnsResponder, baseline: Buffer, what: string): void {
  t.deepEqual(ask(r, plain()).msg.toString('hex'), baseline.toString('hex'), `answers normally after: ${what}`);
}

function formerrHeaderOnly(t: { is: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void }, a: Reply, what: string): void {
  t.is(a.n, 12, `${what}: header only`);
  t.is(rcodeOf(a.msg), 1, `${what}: FORMERR`);
  t.is(a.msg.readUInt16BE(0), 0x1234, `${what}: ID copied`);
  t.is(flagsOf(a.msg) & 0x8000, 0x8000, `${what}: QR set`);
  t.deepEqual(countsOf(a.msg), [0, 0, 0, 0], `${what}: no sections`);
  t.deepEqual(a.counted, { queries: 1, formerr: 1 }, `${what}: counted as FORMERR`);
}

test('fewer than 12 bytes: a counted drop, nothing written', (t) => {
  const r = new DnsResponder(tables);
  for (const len of [0, 1, 5, 11]) {
    const a = ask(r, plain().subarray(0, len));
    t.is(a.n, -1);
    t.deepEqual(a.counted, { queries: 1, drop_short: 1 });
  }
});

test('a header alone, or a question cut short: FORMERR, header only, ID and RD kept', (t) => {
  const r = new DnsResponder(tables);
  const baseline = ask(r, plain()).msg;
  const full = plain();
  for (const len of [12, 13, 16, 20, full.length - 4, full.length - 1]) {
    const a = ask(r, full.subarray(0, len));
    formerrHeaderOnly(t, a, `${len} bytes`);
    t.is(flagsOf(a.msg), 0x8101, 'RD copied, nothing else');
    stillAnswers(t, r, baseline, `${len} bytes`);
  }
});

test('over TCP, a message too short to hold a question is dropped (the transport closes the connection, as NSD)', (t) => {
  const r = new DnsResponder(tables);
  for (const len of [12, 14, 16]) {
    const a = ask(r, plain().subarray(0, len), { tcp: true });
    t.is(a.n, -1);
    t.deepEqual(a.counted, { queries: 1, drop_short: 1 });
  }
  t.is(ask(r, plain(), { tcp: true }).counted.answered, 1);
});

test('QR set: a response is never answered (no loops between servers), counted', (t) => {
  const r = new DnsResponder(tables);
  for (const flags of [0x8000, 0x8100, 0x8500, 0xffff]) {
    const a = ask(r, q(header({ flags }), WWW));
    t.is(a.n, -1);
    t.deepEqual(a.counted, { queries: 1, drop_response: 1 });
  }
});

test('opcodes: NOTIFY is REFUSED, every other one but QUERY is NOTIMP; header only, opcode echoed', (t) => {
  const r = new DnsResponder(tables);
  for (let opcode = 1; opcode < 16; opcode++) {
    const a = ask(r, q(header({ flags: RD | (opcode << 11) }), question('example.com', 6)));
    t.is(a.n, 12);
    t.is(opcodeOf(a.msg), opcode);
    t.is(rcodeOf(a.msg), opcode === 4 ? 5 : 4, `opcode ${opcode}`);
    t.is(flagsOf(a.msg) & RD, RD);
    t.deepEqual(a.counted, opcode === 4 ? { queries: 1, refused: 1 } : { queries: 1, notimp: 1 });
  }
  // A NOTIFY that cannot be read is FORMERR (NSD reads the question first).
  formerrHeaderOnly(t, ask(r, q(header({ flags: 4 << 11 }), Buffer.of(0xc0, 12))), 'NOTIFY with a pointer for a question');
});

test('an RCODE in a query: FORMERR', (t) => {
  const r = new DnsResponder(tables);
  for (const rcode of [1, 3, 15]) formerrHeaderOnly(t, ask(r, q(header({ flags: RD | rcode }), WWW)), `rcode ${rcode}`);
});

test('compression pointers in the question: FORMERR (the question cannot point back)', (t) => {
  const r = new DnsResponder(tables);
  const baseline = ask(r, plain()).msg;
  const cases: Array<[string, Buffer]> = [
    ['a pointer to itself', q(header(), Buffer.of(0xc0, 12), typeClass(1))],
    ['a label, then a pointer to it (a loop)', q(header(), Buffer.from('03777777c00c', 'hex'), typeClass(1))],
    ['a label, then a pointer forward', q(header(), Buffer.from('03777777c016', 'hex'), wireName('example.com'), typeClass(1))],
    ['a pointer past the end', q(header(), Buffer.of(0xff, 0xff), typeClass(1))],
  ];
  for (const [what, m] of cases) {
    formerrHeaderOnly(t, ask(r, m), what);
    stillAnswers(t, r, baseline, what);
  }
});

test('labels over 63 octets (and the 0x40/0x80 label types), names over 255: FORMERR; exactly 255 is answered', (t) => {
  const r = new DnsResponder(tables);
  const l63 = Buffer.concat([Buffer.of(63), Buffer.alloc(63, 0x61)]);
  formerrHeaderOnly(t, ask(r, q(header(), Buffer.of(64), Buffer.alloc(64, 0x61), wireName('example.com'), typeClass(1))), 'label of 64');
  formerrHeaderOnly(t, ask(r, q(header(), Buffer.of(0x41, 0x61), wireName('example.com'), typeClass(1))), 'label type 0x40');
  formerrHeaderOnly(t, ask(r, q(header(), Buffer.of(0x83, 0x61, 0x61, 0x61), wireName('example.com'), typeClass(1))), 'label type 0x80');
  // 4 × 64 + "example.com" > 255
  formerrHeaderOnly(t, ask(r, q(header(), l63, l63, l63, l63, wireName('example.com'), typeClass(1))), 'name of 269 octets');
  // 128 one-octet labels: more labels than any name may have
  formerrHeaderOnly(t, ask(r, q(header(), Buffer.alloc(256, 0).fill(Buffer.of(1, 0x61), 0, 256), Buffer.of(0), typeClass(1))), '128 labels');
  // The longest name of fixtures/zones/example.net.zone is 255 octets.
  const longest = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.' +
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example.net';
  t.is(wireName(longest).length, 255);
  const a = ask(r, q(header(), question(longest, 1)));
  t.is(rcodeOf(a.msg), 0);
  t.deepEqual(countsOf(a.msg), [1, 1, 0, 0]);
});

test('QDCOUNT other than 1: FORMERR; huge counts never read past the message', (t) => {
  const r = new DnsResponder(tables);
  const baseline = ask(r, plain()).msg;
  for (const qd of [0, 2, 0xffff]) {
    formerrHeaderOnly(t, ask(r, q(header({ qd }), WWW)), `QDCOUNT ${qd}`);
    formerrHeaderOnly(t, ask(r, q(header({ qd }), WWW, WWW)), `QDCOUNT ${qd} with two questions`);
  }
  formerrHeaderOnly(t, ask(r, q(header({ an: 0xffff, ns: 0xffff, ar: 0xffff }), WWW)), 'every count 65535');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 0xffff }), WWW, opt())), 'ARCOUNT 65535, one OPT');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 2 }), WWW, opt())), 'ARCOUNT 2, one OPT');
  stillAnswers(t, r, baseline, 'huge counts');
});

test('a message of only an OPT (QDCOUNT 0): NOERROR, no question, the OPT back with DO echoed (as NSD)', (t) => {
  const r = new DnsResponder(tables);
  const a = ask(r, q(header({ qd: 0, ar: 1 }), opt({ flags: DO, options: ednsOption(10, Buffer.alloc(8, 1)) })));
  t.is(rcodeOf(a.msg), 0);
  t.deepEqual(countsOf(a.msg), [0, 0, 0, 1]);
  const p = dnsPacket.decode(a.msg);
  const o = p.additionals![0] as unknown as { type: string; udpPayloadSize: number; flag_do: boolean; ednsVersion: number };
  t.is(o.type, 'OPT');
  t.is(o.udpPayloadSize, 1232);
  t.true(o.flag_do);
  t.is(o.ednsVersion, 0);
  // Not when the OPT is of another version, or not alone.
  formerrHeaderOnly(t, ask(r, q(header({ qd: 0, ar: 1 }), opt({ version: 1 }))), 'OPT-only, version 1');
  formerrHeaderOnly(t, ask(r, q(header({ qd: 0, ar: 2 }), opt(), opt())), 'two OPTs, no question');
  formerrHeaderOnly(t, ask(r, q(header({ qd: 0, ar: 1 }), opt({ options: Buffer.of(0, 1, 0) }))), 'OPT-only, options cut');
});

test('records in the answer or authority section of a query, or other than OPT/TSIG in the additional: FORMERR', (t) => {
  const r = new DnsResponder(tables);
  const a = rr(Buffer.of(0xc0, 12), 1, Buffer.of(198, 18, 0, 1));
  formerrHeaderOnly(t, ask(r, q(header({ an: 1 }), WWW, a)), 'ANCOUNT 1');
  formerrHeaderOnly(t, ask(r, q(header({ an: 1 }), WWW)), 'ANCOUNT 1, no record');
  formerrHeaderOnly(t, ask(r, q(header({ ns: 1 }), WWW, a)), 'NSCOUNT 1');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, a)), 'an A record in the additional section');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 2 }), WWW, opt(), a)), 'OPT, then an A record');
  formerrHeaderOnly(t, ask(r, q(header({ an: 1, ar: 1 }), WWW, opt(), opt())), 'an OPT in the answer section');
});

test('OPT: two are FORMERR, a non-root owner is FORMERR, one cut short is FORMERR', (t) => {
  const r = new DnsResponder(tables);
  formerrHeaderOnly(t, ask(r, q(header({ ar: 2 }), WWW, opt(), opt())), 'two OPT');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 2 }), WWW, opt({ flags: DO }), opt())), 'two OPT, DO on the first');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, opt({ owner: wireName('example.com') }))), 'OPT owned by example.com');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, opt({ owner: Buffer.of(0xc0, 12) }))), 'OPT owned through a pointer');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, opt().subarray(0, 5))), 'OPT cut after 5 bytes');
  const long = opt();
  long.writeUInt16BE(20, 9); // RDLENGTH past the end
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, long)), 'OPT RDLENGTH past the end');
});

test('pointer loops in the additional section are never followed: FORMERR, and the responder goes on', (t) => {
  const r = new DnsResponder(tables);
  const baseline = ask(r, plain()).msg;
  const at = 12 + WWW.length; // where the additional record starts
  const self = Buffer.of(0xc0 | (at >> 8), at & 0xff);
  const cases: Array<[string, Buffer]> = [
    ['an OPT owned by a pointer to itself', q(header({ ar: 1 }), WWW, rr(self, 41, Buffer.alloc(0), 1232, 0))],
    ['an A owned by a pointer to itself', q(header({ ar: 1 }), WWW, rr(self, 1, Buffer.of(1, 2, 3, 4)))],
    ['a TSIG owned by a pointer to itself', q(header({ ar: 1 }), WWW, tsig({ key: self }))],
    ['a TSIG owned by a label and a pointer back to it', q(header({ ar: 1 }), WWW, tsig({ key: Buffer.concat([Buffer.from('016b', 'hex'), self]) }))],
    ['a TSIG whose algorithm points to itself', q(header({ ar: 1 }), WWW, tsig({ algorithm: Buffer.of(0xc0 | ((at + 15) >> 8), (at + 15) & 0xff) }))],
    ['two pointers to each other', q(header({ ar: 1 }), WWW, tsig({ key: Buffer.of(0xc0 | ((at + 2) >> 8), (at + 2) & 0xff, 0xc0 | (at >> 8), at & 0xff) }))],
  ];
  for (const [what, m] of cases) {
    formerrHeaderOnly(t, ask(r, m), what);
    stillAnswers(t, r, baseline, what);
  }
});

test('EDNS version 1: BADVERS (extended RCODE 1 in the OPT, 0 in the header), the question kept, DO echoed', (t) => {
  const r = new DnsResponder(tables);
  for (const flags of [0, DO]) {
    const a = ask(r, q(header({ ar: 1 }), WWW, opt({ version: 1, flags })));
    t.is(rcodeOf(a.msg), 0);
    t.deepEqual(countsOf(a.msg), [1, 0, 0, 1]);
    const o = dnsPacket.decode(a.msg).additionals![0] as unknown as { extendedRcode: number; ednsVersion: number; flag_do: boolean };
    t.is(o.extendedRcode, 1, 'BADVERS = 16: upper bits 1');
    t.is(o.ednsVersion, 0, 'we answer with the version we speak');
    // RFC 3225 §3: DO is copied into the response (NSD leaves it clear in BADVERS).
    t.is(o.flag_do, flags === DO);
    t.deepEqual(a.counted, { queries: 1, edns: 1, badvers: 1 });
  }
});

test('EDNS options: unknown ones ignored, ones that overrun the OPT are FORMERR', (t) => {
  const r = new DnsResponder(tables);
  const withOpt = ask(r, q(header({ ar: 1 }), WWW, opt())).msg;
  for (const options of [
    ednsOption(65001, Buffer.from('abcd', 'hex')), ednsOption(3, Buffer.alloc(0)), ednsOption(10, Buffer.alloc(8, 9)),
    Buffer.concat([ednsOption(65002, Buffer.alloc(0)), ednsOption(8, Buffer.from('0001180018', 'hex'))]),
  ]) {
    const a = ask(r, q(header({ ar: 1 }), WWW, opt({ options })));
    t.is(a.msg.toString('hex'), withOpt.toString('hex'), `options ${options.toString('hex')}`);
  }
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, opt({ options: Buffer.from('fde9000801020304', 'hex') }))), 'an option longer than the OPT');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, opt({ options: Buffer.from('000300', 'hex') }))), 'three bytes of options');
});

test('DO is echoed; an answer to a query without OPT has none', (t) => {
  const r = new DnsResponder(tables);
  const find = (m: Buffer): { flag_do: boolean } | undefined =>
    dnsPacket.decode(m).additionals?.find((x) => x.type === 'OPT') as unknown as { flag_do: boolean } | undefined;
  t.is(find(ask(r, plain()).msg), undefined);
  t.false(find(ask(r, q(header({ ar: 1 }), WWW, opt())).msg)!.flag_do);
  t.true(find(ask(r, q(header({ ar: 1 }), WWW, opt({ flags: DO }))).msg)!.flag_do);
  t.true(find(ask(r, q(header({ ar: 1 }), question('nope.example.com'), opt({ flags: DO }))).msg)!.flag_do);
});

test('a UDP payload size below 512 counts as 512; above our 1232 counts as 1232', (t) => {
  const r = new DnsResponder(tables);
  // txt.example.net TXT is about 450 bytes: it fits 512.
  for (const size of [0, 1, 100, 511]) {
    const a = ask(r, q(header({ ar: 1 }), question('txt.example.net', 16), opt({ size })));
    t.is(flagsOf(a.msg) & 0x0200, 0, `size ${size}: not truncated`);
    t.true(a.n > 400 && a.n <= 512);
  }
  // huge.example.org TXT is over 3000 bytes: TC=1 whatever the client offers over UDP.
  for (const size of [600, 4096, 65535]) {
    const a = ask(r, q(header({ ar: 1 }), question('huge.example.org', 16), opt({ size })));
    t.is(flagsOf(a.msg) & 0x0200, 0x0200, `size ${size}: truncated`);
    t.deepEqual(countsOf(a.msg), [1, 0, 0, 1]);
    t.deepEqual(a.counted, { queries: 1, edns: 1, truncated: 1 });
  }
  const tcp = ask(r, q(header({ ar: 1 }), question('huge.example.org', 16), opt()), { tcp: true });
  t.is(flagsOf(tcp.msg) & 0x0200, 0);
  t.true(tcp.n > 3000);
});

test('bytes after the question, or after the OPT, are ignored', (t) => {
  const r = new DnsResponder(tables);
  const garbage = Buffer.from('deadbeef00ff', 'hex');
  t.is(ask(r, q(header(), WWW, garbage)).msg.toString('hex'), ask(r, plain()).msg.toString('hex'));
  t.is(ask(r, q(header({ ar: 1 }), WWW, opt(), garbage)).msg.toString('hex'), ask(r, q(header({ ar: 1 }), WWW, opt())).msg.toString('hex'));
});

test('classes: CH is REFUSED with the question, other classes REFUSED without it (as NSD); ANY is answered, not authoritative', (t) => {
  const r = new DnsResponder(tables);
  const ch = ask(r, q(header(), question('www.example.com', 1, 3)));
  t.is(rcodeOf(ch.msg), 5);
  t.deepEqual(countsOf(ch.msg), [1, 0, 0, 0]);
  for (const cls of [0, 2, 4, 254, 65535]) {
    const a = ask(r, q(header({ ar: 1 }), question('www.example.com', 1, cls), opt()));
    t.is(rcodeOf(a.msg), 5, `class ${cls}`);
    t.deepEqual(countsOf(a.msg), [0, 0, 0, 1], `class ${cls}: no question, an OPT`);
    t.deepEqual(a.counted, { queries: 1, edns: 1, refused: 1 });
  }
  const any = ask(r, q(header(), question('www.example.com', 1, 255)));
  t.is(rcodeOf(any.msg), 0);
  t.is(flagsOf(any.msg) & 0x0400, 0, 'AA clear for QCLASS *');
  t.deepEqual(countsOf(any.msg), [1, 1, 0, 0]);
});

test('zone transfers: AXFR over UDP NOTIMP; otherwise REFUSED for a served apex, NOTAUTH for any other name (as NSD)', (t) => {
  const r = new DnsResponder(tables);
  const cases: Array<[string, number, boolean, number]> = [
    ['example.com', 252, false, 4], ['www.example.com', 252, false, 4], ['example.invalid', 252, false, 4],
    ['example.com', 252, true, 5], ['sub.example.com', 252, true, 5], ['partner.example.com', 252, true, 9],
    ['www.example.com', 252, true, 9], ['example.invalid', 252, true, 9],
    ['example.com', 251, false, 5], ['example.com', 251, true, 5], ['www.example.com', 251, false, 9], ['example.invalid', 251, true, 9],
  ];
  for (const [name, qtype, tcp, rcode] of cases) {
    const a = ask(r, q(header({ flags: 0 }), question(name, qtype)), { tcp });
    t.is(rcodeOf(a.msg), rcode, `${name} ${qtype === 252 ? 'AXFR' : 'IXFR'} over ${tcp ? 'TCP' : 'UDP'}`);
    t.deepEqual(countsOf(a.msg), [1, 0, 0, 0]);
  }
  // An IXFR carries the client's SOA in the authority section (RFC 1995 §3): allowed.
  const soa = rr(Buffer.of(0xc0, 12), 6, Buffer.concat([Buffer.of(0, 0), Buffer.alloc(20)]));
  t.is(rcodeOf(ask(r, q(header({ ns: 1 }), question('example.com', 251), soa), { tcp: true }).msg), 5);
});

test('TSIG: NOTAUTH with an unsigned TSIG of error BADKEY, the question left out (RFC 8945 §5.2.1, as NSD)', (t) => {
  const r = new DnsResponder(tables);
  const a = ask(r, q(header({ ar: 1 }), WWW, tsig({ originalId: 0x4321, time: 0x0000650000aa, fudge: 300 })));
  t.is(rcodeOf(a.msg), 9);
  t.deepEqual(countsOf(a.msg), [0, 0, 0, 1]);
  t.deepEqual(a.counted, { queries: 1, notauth: 1 });
  const expected = Buffer.concat([wireName('key'), Buffer.from('00fa00ff00000000001d', 'hex'), wireName('hmac-sha256'),
    Buffer.from('0000650000aa012c0000' + '4321' + '0011' + '0000', 'hex')]);
  t.is(a.msg.subarray(12).toString('hex'), expected.toString('hex'));
  // With an OPT before it: the OPT, then the TSIG. A key name given by a pointer comes back whole.
  const b = ask(r, q(header({ ar: 2 }), WWW, opt({ flags: DO }), tsig({ key: Buffer.of(0xc0, 12) })));
  t.is(rcodeOf(b.msg), 9);
  const p = dnsPacket.decode(b.msg);
  t.deepEqual(p.additionals!.map((x) => [x.type, x.name]), [['OPT', '.'], ['TSIG', 'www.example.com']]);
  // Malformed TSIGs, or one that is not last: FORMERR.
  formerrHeaderOnly(t, ask(r, q(header({ ar: 2 }), WWW, tsig(), opt())), 'TSIG before OPT');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, rr(wireName('key'), 250, Buffer.of(1, 2, 3), 255, 0))), 'TSIG RDATA of 3 bytes');
  formerrHeaderOnly(t, ask(r, q(header({ ar: 1 }), WWW, tsig({ mac: Buffer.alloc(2) }).subarray(0, -1))), 'TSIG cut by one byte');
  formerrHeaderOnly(t, ask(r, q(header({ an: 1 }), WWW, tsig())), 'TSIG in the answer section');
});

test('qtype OPT, TSIG and the other meta types are answered like any type the name lacks (as NSD)', (t) => {
  const r = new DnsResponder(tables);
  for (const qtype of [0, 41, 128, 200, 249, 250, 253, 254, 65535]) {
    const a = ask(r, q(header(), question('www.example.com', qtype)));
    t.is(rcodeOf(a.msg), 0, `qtype ${qtype}`);
    t.deepEqual(countsOf(a.msg), [1, 0, 1, 0], `qtype ${qtype}: NODATA with the SOA`);
  }
  t.is(rcodeOf(ask(r, q(header(), question('nope.example.com', 41))).msg), 3);
});

test('cap: nothing is written past it; an answer that does not fit is truncated (DNAME too); cap below the query length is a drop', (t) => {
  const r = new DnsResponder(tables);
  const many = q(header(), question('many.example.org', 1));
  const a = ask(r, many, { tcp: true, cap: 100 });
  t.is(flagsOf(a.msg) & 0x0200, 0x0200);
  t.true(a.n <= 100);
  // A DNAME answer whose template does not fit: TC, not a record cut in the middle (the
  // template's DNAME target offset shares its word with the additional-section offset).
  const dname = ask(r, q(header({ ar: 1 }), question('x.dname.example.Net', 1), opt({ size: 4096 })), { tcp: true, cap: 66 });
  t.is(flagsOf(dname.msg) & 0x0200, 0x0200);
  t.deepEqual(countsOf(dname.msg), [1, 0, 0, 1]);
  const d = ask(r, q(header(), WWW), { cap: 20 });
  t.is(d.n, -1);
  t.deepEqual(d.counted, { queries: 1, drop_short: 1 });
});

// ─────────────────────────── properties ───────────────────────────

/** Checks one answer: no throw (the caller), length within cap, and a response that decodes. */
function wellFormed(r: DnsResponder, m: Uint8Array, tcp: boolean, cap: number): boolean {
  const a = ask(r, m, { tcp, cap });
  if (a.n === -1) return true;
  if (a.n < 12 || a.n > cap) throw new Error(`length ${a.n} (cap ${cap})`);
  if ((a.msg[2]! & 0x80) === 0) throw new Error('QR clear in a response');
  dnsPacket.decode(a.msg); // throws on a malformed response
  return true;
}

test('property: random bytes never throw, stay within cap, and any response decodes', (t) => {
  const r = new DnsResponder(tables);
  const baseline = ask(r, plain()).msg;
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.boolean(), fc.integer({ min: 0, max: 2000 }),
    (bytes, tcp, extra) => wellFormed(r, bytes, tcp, bytes.length + extra),
  ), { seed: SEED, numRuns: 200_000, interruptAfterTimeLimit: 4000 });
  // Random bytes with a plausible header: QR clear, QUERY, counts small.
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.boolean(),
    (body, qd, ar, tcp) => wellFormed(r, q(header({ qd, ar }), Buffer.from(body)), tcp, 4096),
  ), { seed: SEED, numRuns: 200_000, interruptAfterTimeLimit: 3000 });
  stillAnswers(t, r, baseline, 'random bytes');
});

test('property: mutated corpus queries never throw, stay within cap, and any response decodes', (t) => {
  const r = new DnsResponder(tables);
  const baseline = ask(r, plain()).msg;
  const corpus = loadCorpus();
  const seeds = corpus.flatMap((c) => [
    encodeQuery(c), encodeQuery(c, { edns: true }), encodeQuery(c, { edns: true, dnssecOk: true, udpSize: 512 }),
  ]);
  seeds.push(q(header({ ar: 1 }), WWW, tsig()), q(header({ ar: 2 }), WWW, opt(), tsig()), q(header({ qd: 0, ar: 1 }), opt()));
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('count' as const), which: fc.integer({ min: 0, max: 3 }), value: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0xffff)) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('pointer' as const), at: fc.nat(), target: fc.integer({ min: 0, max: 0x3fff }) }),
  );
  fc.assert(fc.property(
    fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.integer({ min: 0, max: 1500 }),
    (i, muts, tcp, extra) => {
      let m = Buffer.from(seeds[i]!);
      for (const mu of muts) {
        const at = m.length === 0 ? 0 : (mu as { at?: number }).at! % m.length;
        if (mu.kind === 'flip' && m.length > 0) m[at] = m[at]! ^ (1 << mu.bit);
        else if (mu.kind === 'set' && m.length > 0) m[at] = mu.value;
        else if (mu.kind === 'count' && m.length >= 12) m.writeUInt16BE(mu.value, 4 + mu.which * 2);
        else if (mu.kind === 'cut') m = m.subarray(0, at);
        else if (mu.kind === 'insert') m = Buffer.concat([m.subarray(0, at), Buffer.from(mu.bytes), m.subarray(at)]);
        else if (mu.kind === 'pointer' && m.length >= 2) { m[at] = 0xc0 | (mu.target >> 8); if (at + 1 < m.length) m[at + 1] = mu.target & 0xff; }
      }
      return wellFormed(r, m, tcp, m.length + extra);
    },
  ), { seed: SEED, numRuns: 300_000, interruptAfterTimeLimit: 5000 });
  stillAnswers(t, r, baseline, 'mutated queries');
});

// DnsResponder.warm (the read-ahead of a batch's lookups, for big zones) is a look only:
// forced on for the fixture image, every corpus query answered in batches of 64 gives the
// bytes and counters it gives without it, and garbage (random bytes, truncated and
// mutated queries) given to warm() never throws.
test('the read-ahead of a batch changes no answer and no counter; garbage given to it is passed over', (t) => {
  const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).map((f) => join(FIXTURE_ZONES, f));
  const queries = fullCorpus(zoneFiles).map((c, i) => encodeQuery(c, { id: i & 0xffff, edns: i % 2 === 0 }));
  const SLOT = 1024, BATCH = 64;
  const run = (warm: boolean): { answers: string[]; counters: number[] } => {
    const tb = new DnsTables(tables.image);
    tb.warmAbove = warm ? 0 : Infinity;
    const r = new DnsResponder(tb);
    const ring = new Uint8Array(BATCH * SLOT);
    const offs = new Int32Array(BATCH), lens = new Int32Array(BATCH);
    const answers: string[] = [];
    for (let s = 0; s < queries.length; s += BATCH) {
      const n = Math.min(BATCH, queries.length - s);
      for (let j = 0; j < n; j++) {
        ring.set(queries[s + j]!, j * SLOT);
        offs[j] = j * SLOT;
        lens[j] = queries[s + j]!.length;
      }
      r.warm(ring, offs, lens, n);
      for (let j = 0; j < n; j++) {
        const m = r.answer(ring, offs[j]!, lens[j]!, SLOT, 0);
        answers.push(m < 0 ? 'drop' : Buffer.from(ring.subarray(offs[j]!, offs[j]! + m)).toString('hex'));
      }
    }
    return { answers, counters: [...r.counters] };
  };
  t.true(queries.length > 1000);
  t.deepEqual(run(true), run(false));

  const tb = new DnsTables(tables.image);
  tb.warmAbove = 0;
  const r = new DnsResponder(tb);
  fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 2, maxLength: 300 }), (msgs) => {
    const ring = new Uint8Array(msgs.length * 300 + 16);
    const offs = new Int32Array(msgs.length), lens = new Int32Array(msgs.length);
    msgs.forEach((m, j) => {
      // Half of them a corpus query cut or bit-flipped: past the header checks, into the name walk.
      const base = j % 2 === 0 ? m : Uint8Array.from(queries[j % queries.length]!).subarray(0, Math.min(m.length + 12, 300));
      if (j % 2 === 1 && base.length > 13) base[12 + (m[0] ?? 0) % (base.length - 12)]! ^= m[1] ?? 0x40;
      ring.set(base, j * 300);
      offs[j] = j * 300;
      lens[j] = base.length;
    });
    r.warm(ring, offs, lens, msgs.length);
    return Number.isFinite(tb.warmSink);
  }), { seed: SEED, numRuns: 300 });
});
