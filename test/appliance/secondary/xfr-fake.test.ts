// The transfer client against a fake primary on 127.0.0.1 (a node:net server, and a
// dgram socket for the SOA query) that answers exactly as each test scripts it: AXFR over
// several messages, IXFR in each form of RFC 1995 §4, refusals and the fallback to AXFR,
// a connection closed halfway, silence, too many bytes, an abort, bad answers, and TSIG
// streams signed by the independent code in xfr-helpers.ts. After each failure the fake
// sees the client's end of the connection closed.

import test from 'ava';
import dgram from 'node:dgram';
import type net from 'node:net';
import { ApplianceError } from '../../../basics/errors.js';
import { parseTsigKey, tsigFields } from '../../../appliance/secondary/tsig.js';
import { parseMessage, soaSerial, type WireRecord } from '../../../appliance/secondary/wire-records.js';
import { querySoa, serialGreater, transfer, type Primary } from '../../../appliance/secondary/xfr.js';
import { RRType as T } from '../../../specializers/dns/zone.js';
import { freePort } from '../../helpers/fixtures.js';
import {
  aRecord, appendTsig, axfrAnswer, fakePrimary, framed, MessageBuilder, QR_AA, queryInfo, recordKeys, signStream, soaRecord, wire,
  type FakePrimary, type TestKey,
} from './xfr-helpers.js';

const ZONE = 'example.com';
const APEX = wire(ZONE);
const SOA5 = soaRecord(ZONE, 5);
const ZONE_RECORDS: WireRecord[] = [
  SOA5,
  { owner: APEX, type: T.NS, cls: 1, ttl: 3600, rdata: wire('ns1.example.com') },
  aRecord('ns1.example.com', [198, 18, 0, 1]),
  ...Array.from({ length: 40 }, (_, i) => aRecord(`h${i}.example.com`, [198, 18, 1, i])),
];

async function withFake(t: { teardown: (f: () => Promise<void>) => void }, answer: (q: Uint8Array, sock: net.Socket, n: number) => void): Promise<{ fake: FakePrimary; p: Primary }> {
  const fake = await fakePrimary(answer);
  t.teardown(() => fake.close());
  return { fake, p: { host: '127.0.0.1', port: fake.port } };
}

async function rejects(t: { throwsAsync: (p: Promise<unknown>, e: object) => Promise<unknown> }, p: Promise<unknown>, code: string, pattern: RegExp): Promise<ApplianceError> {
  const e = await t.throwsAsync(p, { instanceOf: ApplianceError }) as ApplianceError;
  if (e.code !== code || !pattern.test(e.message)) throw new Error(`expected ${code} ${pattern}, got ${e.code}: ${e.message}`);
  return e;
}

function ixfrAnswer(id: number, steps: Array<{ from: number; to: number; del: WireRecord[]; add: WireRecord[] }>, split: number[]): Uint8Array[] {
  const last = steps[steps.length - 1]!.to;
  const seq: WireRecord[] = [soaRecord(ZONE, last)];
  for (const s of steps) seq.push(soaRecord(ZONE, s.from), ...s.del, soaRecord(ZONE, s.to), ...s.add);
  seq.push(soaRecord(ZONE, last));
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of [...split, seq.length]) {
    if (at >= seq.length) break;
    const b = new MessageBuilder(id, QR_AA);
    if (at === 0) b.question(APEX, T.IXFR);
    for (const r of seq.slice(at, at + n)) b.rr(1, r.owner, r.type, r.ttl, [r.rdata], { cls: r.cls });
    out.push(b.bytes());
    at += n;
  }
  return out;
}

test('serialGreater: RFC 1982 §3.2 on 32 bits', (t) => {
  t.true(serialGreater(2, 1));
  t.false(serialGreater(1, 2));
  t.false(serialGreater(5, 5));
  t.true(serialGreater(0, 0xffffffff), 'wraps');
  t.true(serialGreater(0x7fffffff, 0));
  t.false(serialGreater(0x80000000, 0), 'exactly 2^31 apart: neither is greater');
  t.false(serialGreater(0, 0x80000000));
});

test('AXFR over several messages: the zone, SOA first, the closing SOA left out (RFC 5936 §2.2)', async (t) => {
  const { fake, p } = await withFake(t, (q, sock) => {
    const { id, qtype } = queryInfo(q);
    sock.write(framed(...axfrAnswer(id, APEX, qtype, ZONE_RECORDS, 7)));
  });
  const r = await transfer(ZONE, p);
  if (r.kind !== 'axfr') throw new Error(r.kind);
  t.deepEqual(recordKeys(r.records), recordKeys(ZONE_RECORDS));
  t.is(r.records[0]!.type, T.SOA);
  t.is(r.messages, 7);
  t.false(r.fellBack);
  t.true(r.bytes > 40 * 16);
  const q = parseMessage(fake.queries[0]!);
  t.is(q.question[0]!.type, T.AXFR);
  t.is(q.flags, 0, 'RD clear (RFC 5936 §2.1.1)');
  await fake.allClosed();
});

test('half an AXFR, then the connection closed: APPL_ERR_XFR_CLOSED', async (t) => {
  const { fake, p } = await withFake(t, (q, sock) => {
    const msgs = axfrAnswer(queryInfo(q).id, APEX, T.AXFR, ZONE_RECORDS, 10);
    sock.end(framed(...msgs.slice(0, 2)));
  });
  await rejects(t, transfer(ZONE, p), 'APPL_ERR_XFR_CLOSED', /^AXFR of example\.com\. from 127\.0\.0\.1:\d+: the primary closed the connection after 2 complete messages, before/);
  const cut = await withFake(t, (q, sock) => {
    const whole = framed(...axfrAnswer(queryInfo(q).id, APEX, T.AXFR, ZONE_RECORDS, 100));
    sock.end(whole.subarray(0, 100));
  });
  await rejects(t, transfer(ZONE, cut.p), 'APPL_ERR_XFR_CLOSED', /after 0 complete messages and 100 bytes of another/);
  await fake.allClosed();
});

test('a primary that sends nothing: APPL_ERR_XFR_TIMEOUT after idleMs, the socket destroyed', async (t) => {
  const { fake, p } = await withFake(t, () => undefined);
  const started = Date.now();
  await rejects(t, transfer(ZONE, p, undefined, { idleMs: 300, timeoutMs: 60_000 }), 'APPL_ERR_XFR_TIMEOUT', /nothing from the primary for 300 ms \(idleMs\)/);
  t.true(Date.now() - started >= 300);
  t.is(fake.accepted, 1);
  await fake.allClosed();
});

test('a primary that trickles bytes: APPL_ERR_XFR_TIMEOUT after timeoutMs, though never idle that long', async (t) => {
  let timer: NodeJS.Timeout | undefined;
  t.teardown(() => clearInterval(timer));
  const { fake, p } = await withFake(t, (q, sock) => {
    const bytes = framed(...axfrAnswer(queryInfo(q).id, APEX, T.AXFR, ZONE_RECORDS, 100));
    let i = 0;
    // One byte every 20 ms, at most the answer's length: bounded.
    timer = setInterval(() => {
      if (i >= bytes.length - 1 || sock.destroyed) return clearInterval(timer);
      sock.write(bytes.subarray(i, ++i));
    }, 20);
  });
  await rejects(t, transfer(ZONE, p, undefined, { idleMs: 5_000, timeoutMs: 400 }), 'APPL_ERR_XFR_TIMEOUT', /not done within 400 ms \(timeoutMs\)/);
  await fake.allClosed();
});

test('more than maxBytes, or more than maxRecords: APPL_ERR_XFR_LIMIT', async (t) => {
  const big = Array.from({ length: 2000 }, (_, i) => aRecord(`host-with-a-long-name-${i}.example.com`, [198, 18, i >> 8, i & 0xff]));
  const { fake, p } = await withFake(t, (q, sock) => {
    sock.write(framed(...axfrAnswer(queryInfo(q).id, APEX, T.AXFR, [SOA5, ...big], 200)));
  });
  await rejects(t, transfer(ZONE, p, undefined, { maxBytes: 10_000 }), 'APPL_ERR_XFR_LIMIT', /more than 10000 bytes \(maxBytes\)/);
  await rejects(t, transfer(ZONE, p, undefined, { maxRecords: 500 }), 'APPL_ERR_XFR_LIMIT', /more than 500 records \(maxRecords\)/);
  await fake.allClosed();
});

test('an abort: APPL_ERR_XFR_ABORTED at once, the socket destroyed', async (t) => {
  const { fake, p } = await withFake(t, () => undefined);
  const ac = new AbortController();
  const run = transfer(ZONE, p, undefined, { signal: ac.signal });
  // Abort once the fake has the query: the client is then waiting on the connection.
  await new Promise<void>((res) => {
    const check = setInterval(() => {
      if (fake.queries.length > 0) { clearInterval(check); res(); }
    }, 5);
  });
  ac.abort(new Error('shutting down'));
  await rejects(t, run, 'APPL_ERR_XFR_ABORTED', /aborted/);
  await fake.allClosed();
  const already = new AbortController();
  already.abort();
  await rejects(t, transfer(ZONE, p, undefined, { signal: already.signal }), 'APPL_ERR_XFR_ABORTED', /aborted/);
});

test('nothing listening: APPL_ERR_XFR_CONNECT', async (t) => {
  const port = await freePort();
  await rejects(t, transfer(ZONE, { host: '127.0.0.1', port }), 'APPL_ERR_XFR_CONNECT', /cannot connect over TCP: ECONNREFUSED/);
});

for (const [rcode, name] of [[4, 'NOTIMP'], [5, 'REFUSED'], [1, 'FORMERR'], [9, 'NOTAUTH']] as const) {
  test(`IXFR refused with ${name}, then AXFR served: fellBack`, async (t) => {
    const { fake, p } = await withFake(t, (q, sock) => {
      const { id, qtype } = queryInfo(q);
      if (qtype === T.IXFR) sock.write(framed(new MessageBuilder(id, 0x8000 | rcode).question(APEX, T.IXFR).bytes()));
      else sock.write(framed(...axfrAnswer(id, APEX, qtype, ZONE_RECORDS, 20)));
    });
    const r = await transfer(ZONE, p, { serial: 4, soa: soaRecord(ZONE, 4) });
    if (r.kind !== 'axfr') throw new Error(r.kind);
    t.true(r.fellBack);
    t.deepEqual(recordKeys(r.records), recordKeys(ZONE_RECORDS));
    t.is(r.messages, 1 + 3, 'the refusal and the three AXFR messages');
    const [ixfr, axfr] = fake.queries.map(parseMessage);
    t.is(ixfr!.question[0]!.type, T.IXFR);
    t.is(ixfr!.authority.length, 1, 'our SOA in the authority section (RFC 1995 §3)');
    t.is(soaSerial(ixfr!.authority[0]!.rdata), 4);
    t.is(axfr!.question[0]!.type, T.AXFR);
    t.is(fake.accepted, 2);
  });
}

test('IXFR answered SERVFAIL: APPL_ERR_XFR_RCODE, no AXFR asked', async (t) => {
  const { fake, p } = await withFake(t, (q, sock) => {
    sock.write(framed(new MessageBuilder(queryInfo(q).id, 0x8000 | 2).question(APEX, T.IXFR).bytes()));
  });
  await rejects(t, transfer(ZONE, p, { serial: 4, soa: soaRecord(ZONE, 4) }), 'APPL_ERR_XFR_RCODE', /IXFR query was answered SERVFAIL/);
  t.is(fake.queries.length, 1);
});

test('IXFR: the connection closed before any answer, then AXFR served: fellBack', async (t) => {
  const { p } = await withFake(t, (q, sock) => {
    const { id, qtype } = queryInfo(q);
    if (qtype === T.IXFR) sock.destroy();
    else sock.write(framed(...axfrAnswer(id, APEX, qtype, ZONE_RECORDS, 50)));
  });
  const r = await transfer(ZONE, p, { serial: 4, soa: soaRecord(ZONE, 4) });
  t.is(r.kind, 'axfr');
  t.true(r.kind === 'axfr' && r.fellBack);
});

test('IXFR: two steps over three messages, a step split across messages (RFC 1995 §4)', async (t) => {
  const steps = [
    { from: 3, to: 4, del: [aRecord('a.example.com', [1, 1, 1, 1])], add: [aRecord('b.example.com', [2, 2, 2, 2])] },
    { from: 4, to: 5, del: [aRecord('c.example.com', [3, 3, 3, 3]), aRecord('c.example.com', [3, 3, 3, 4])], add: [] },
  ];
  const { p } = await withFake(t, (q, sock) => sock.write(framed(...ixfrAnswer(queryInfo(q).id, steps, [1, 4]))));
  const r = await transfer(ZONE, p, { serial: 3, soa: soaRecord(ZONE, 3) });
  if (r.kind !== 'ixfr') throw new Error(r.kind);
  t.is(r.from, 3);
  t.is(r.to, 5);
  t.is(soaSerial(r.soa.rdata), 5);
  t.is(r.messages, 3);
  t.deepEqual(r.diffs.map((d) => [d.from, d.to, d.deleted.length, d.added.length]), [[3, 4, 2, 2], [4, 5, 3, 1]]);
  t.deepEqual(r.diffs.map((d) => [soaSerial(d.deleted[0]!.rdata), soaSerial(d.added[0]!.rdata)]), [[3, 4], [4, 5]], 'each step: old SOA deleted, new SOA added');
  t.deepEqual(recordKeys(r.diffs[1]!.deleted.slice(1)), recordKeys(steps[1]!.del));
});

test('IXFR: a lone SOA not newer than ours is uptodate; in AXFR form the whole zone comes back', async (t) => {
  for (const theirs of [5, 4]) {
    const { p } = await withFake(t, (q, sock) => sock.write(framed(new MessageBuilder(queryInfo(q).id, QR_AA).question(APEX, T.IXFR).record(1, soaRecord(ZONE, theirs)).bytes())));
    t.deepEqual(await transfer(ZONE, p, { serial: 5, soa: SOA5 }), { kind: 'uptodate', serial: theirs });
  }
  const { p } = await withFake(t, (q, sock) => sock.write(framed(...axfrAnswer(queryInfo(q).id, APEX, T.IXFR, ZONE_RECORDS, 1))));
  const r = await transfer(ZONE, p, { serial: 1, soa: soaRecord(ZONE, 1) });
  if (r.kind !== 'axfr') throw new Error(r.kind);
  t.false(r.fellBack, 'the AXFR form of an IXFR answer is not a fallback');
  t.deepEqual(recordKeys(r.records), recordKeys(ZONE_RECORDS));
});

test('IXFR: a lone SOA newer than ours, then the connection closed: asked again as AXFR', async (t) => {
  const { fake, p } = await withFake(t, (q, sock) => {
    const { id, qtype } = queryInfo(q);
    if (qtype === T.IXFR) sock.end(framed(new MessageBuilder(id, QR_AA).question(APEX, T.IXFR).record(1, SOA5).bytes()));
    else sock.write(framed(...axfrAnswer(id, APEX, qtype, ZONE_RECORDS, 50)));
  });
  const r = await transfer(ZONE, p, { serial: 4, soa: soaRecord(ZONE, 4) });
  t.true(r.kind === 'axfr' && r.fellBack);
  t.is(fake.queries.length, 2);
});

test('bad answers: APPL_ERR_XFR_FORMAT naming the fault', async (t) => {
  const cases: Array<[string, (id: number) => Uint8Array[], RegExp]> = [
    ['another ID', (id) => axfrAnswer(id ^ 1, APEX, T.AXFR, ZONE_RECORDS, 50), /answer message 1: the answer has ID \d+, the query's was \d+/],
    ['another question', (id) => axfrAnswer(id, wire('example.net'), T.AXFR, ZONE_RECORDS, 50), /question is example\.net\. AXFR/],
    ['no SOA first', (id) => axfrAnswer(id, APEX, T.AXFR, [ZONE_RECORDS[2]!, SOA5], 50), /starts with ns1\.example\.com\. A, not the zone's SOA/],
    ['the closing SOA differs', (id) => [...axfrAnswer(id, APEX, T.AXFR, ZONE_RECORDS, ZONE_RECORDS.length).slice(0, 1),
      new MessageBuilder(id, QR_AA).record(1, soaRecord(ZONE, 6)).bytes()], /closing SOA has serial 6, the opening one 5/],
    ['out of zone', (id) => axfrAnswer(id, APEX, T.AXFR, [SOA5, aRecord('www.example.net', [1, 2, 3, 4])], 50), /www\.example\.net\. A\) is outside the zone example\.com\./],
    ['records after the end', (id) => axfrAnswer(id, APEX, T.AXFR, [SOA5, SOA5, aRecord('x.example.com', [1, 2, 3, 4])], 50), /2 records after the closing SOA/],
    ['an SOA below the apex', (id) => axfrAnswer(id, APEX, T.AXFR, [SOA5, soaRecord('sub.example.com', 1)], 50), /an SOA record at sub\.example\.com\./],
    ['no records', (id) => [new MessageBuilder(id, QR_AA).question(APEX, T.AXFR).bytes()], /first answer message holds no records/],
    ['garbage', () => [Uint8Array.of(1, 2, 3)], /3 bytes is shorter than a DNS header/],
  ];
  for (const [what, answer, pattern] of cases) {
    const { fake, p } = await withFake(t, (q, sock) => sock.write(framed(...answer(queryInfo(q).id))));
    const e = await rejects(t, transfer(ZONE, p), 'APPL_ERR_XFR_FORMAT', pattern);
    t.regex(e.message, /^AXFR of example\.com\. from 127\.0\.0\.1:\d+: answer message \d+: /, what);
    await fake.allClosed();
  }
  const steps = [{ from: 2, to: 5, del: [], add: [] }];
  const { p } = await withFake(t, (q, sock) => sock.write(framed(...ixfrAnswer(queryInfo(q).id, steps, [10]))));
  await rejects(t, transfer(ZONE, p, { serial: 3, soa: soaRecord(ZONE, 3) }), 'APPL_ERR_XFR_FORMAT', /the IXFR starts from serial 2, not from ours \(3\)/);
});

// ---------------------------------------------------------------------------------------
// TSIG through a fake primary that signs as RFC 8945 §5.3.1 says.

const SECRET = Buffer.from('a secret of thirty-two bytes....');
const KEY = parseTsigKey(`xfr-key:hmac-sha256:${SECRET.toString('base64')}`);
const TKEY: TestKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: SECRET };

function requestMac(q: Uint8Array): Uint8Array {
  const m = parseMessage(q);
  if (m.tsig === null) throw new Error('the query is not signed');
  return tsigFields(m.tsig.record.rdata).mac;
}

test('TSIG: a signed AXFR, every third message signed, verified; an unsigned last message refused', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const signed = await withFake(t, (q, sock) => {
    const msgs = axfrAnswer(queryInfo(q).id, APEX, T.AXFR, ZONE_RECORDS, 4);
    sock.write(framed(...signStream(msgs, TKEY, requestMac(q), now, msgs.map((_, i) => i % 3 === 0 || i === msgs.length - 1))));
  });
  const r = await transfer(ZONE, { ...signed.p, key: KEY });
  t.true(r.kind === 'axfr' && r.records.length === ZONE_RECORDS.length);
  const soa = await withFake(t, (q, sock) => sock.write(framed(...signStream(axfrAnswer(queryInfo(q).id, APEX, T.AXFR, ZONE_RECORDS, 4), TKEY, requestMac(q), now,
    [true, false, true, false, false, false, false, false, false, false, false, false]))));
  await rejects(t, transfer(ZONE, { ...soa.p, key: KEY }), 'APPL_ERR_XFR_TSIG', /the last of 11 messages from the primary is not signed/);
});

test('TSIG: the primary answers BADKEY, or signs with another secret: APPL_ERR_XFR_TSIG, never a zone', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const badkey = await withFake(t, (q, sock) => {
    const m = new MessageBuilder(queryInfo(q).id, 0x8000 | 9).question(APEX, T.AXFR).bytes();
    sock.write(framed(appendTsig(m, TKEY, now, 300, new Uint8Array(0), 17)));
  });
  await rejects(t, transfer(ZONE, { ...badkey.p, key: KEY }), 'APPL_ERR_XFR_TSIG', /refused TSIG key 'xfr-key' \(hmac-sha256\) with NOTAUTH, BADKEY/);
  const forged = await withFake(t, (q, sock) => sock.write(framed(...signStream(axfrAnswer(queryInfo(q).id, APEX, T.AXFR, ZONE_RECORDS, 50), { ...TKEY, secret: Buffer.from('wrong') }, requestMac(q), now))));
  await rejects(t, transfer(ZONE, { ...forged.p, key: KEY }), 'APPL_ERR_XFR_TSIG', /MAC of the first answer does not verify/);
  const unsigned = await withFake(t, (q, sock) => sock.write(framed(...axfrAnswer(queryInfo(q).id, APEX, T.AXFR, ZONE_RECORDS, 50))));
  await rejects(t, transfer(ZONE, { ...unsigned.p, key: KEY }), 'APPL_ERR_XFR_TSIG', /first answer from the primary is not signed/);
});

// ---------------------------------------------------------------------------------------
// The SOA query: UDP, TCP after TC=1, retries, refusals.

interface FakeUdp { port: number; queries: Buffer[]; close(): Promise<void> }

async function fakeUdp(port: number, answer: (q: Buffer, reply: (b: Uint8Array) => void) => void): Promise<FakeUdp> {
  const s = dgram.createSocket('udp4');
  const queries: Buffer[] = [];
  s.on('message', (q, rinfo) => {
    queries.push(q);
    answer(q, (b) => s.send(b, rinfo.port, rinfo.address));
  });
  await new Promise<void>((res, rej) => { s.once('error', rej); s.bind(port, '127.0.0.1', () => res()); });
  return { port: (s.address()).port, queries, close: () => new Promise<void>((res) => s.close(() => res())) };
}

test('querySoa over UDP: the serial, the SOA record, the rtt', async (t) => {
  const u = await fakeUdp(0, (q, reply) => reply(new MessageBuilder(q.readUInt16BE(0), QR_AA).question(APEX, T.SOA).record(1, SOA5).bytes()));
  t.teardown(() => u.close());
  const r = await querySoa(ZONE, { host: '127.0.0.1', port: u.port });
  t.is(r.serial, 5);
  t.deepEqual(Array.from(r.soa.rdata), Array.from(SOA5.rdata));
  t.true(r.rtt >= 0);
  t.is(parseMessage(u.queries[0]!).question[0]!.type, T.SOA);
});

test('querySoa: TC=1 over UDP, so asked again over TCP on the same port', async (t) => {
  const tcp = await fakePrimary((q, sock) => sock.write(framed(new MessageBuilder(queryInfo(q).id, QR_AA).question(APEX, T.SOA).record(1, soaRecord(ZONE, 9)).bytes())));
  t.teardown(() => tcp.close());
  const u = await fakeUdp(tcp.port, (q, reply) => reply(new MessageBuilder(q.readUInt16BE(0), QR_AA | 0x0200).question(APEX, T.SOA).bytes()));
  t.teardown(() => u.close());
  const r = await querySoa(ZONE, { host: '127.0.0.1', port: tcp.port });
  t.is(r.serial, 9);
  t.is(tcp.queries.length, 1);
  await tcp.allClosed();
});

test('querySoa: retried tries times, then APPL_ERR_XFR_TIMEOUT; answers with another ID ignored', async (t) => {
  const u = await fakeUdp(0, (q, reply) => reply(new MessageBuilder(q.readUInt16BE(0) ^ 1, QR_AA).question(APEX, T.SOA).record(1, SOA5).bytes()));
  t.teardown(() => u.close());
  await rejects(t, querySoa(ZONE, { host: '127.0.0.1', port: u.port }, { timeoutMs: 600, tries: 3 }), 'APPL_ERR_XFR_TIMEOUT', /no answer over UDP after 3 tries/);
  t.is(u.queries.length, 3);
  t.deepEqual(new Set(u.queries.map((q) => q.readUInt16BE(0))).size, 1, 'one ID for all tries: a late answer to the first still counts');
});

test('querySoa: nothing listening on the UDP port (IPv4 and IPv6): APPL_ERR_XFR_CONNECT from the ICMP error', async (t) => {
  for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
    // A port that was just free: bound, read and closed again.
    const s = dgram.createSocket(type);
    await new Promise<void>((res) => s.bind(0, host, () => res()));
    const port = s.address().port;
    await new Promise<void>((res) => s.close(() => res()));
    await rejects(t, querySoa(ZONE, { host, port }, { timeoutMs: 5000 }), 'APPL_ERR_XFR_CONNECT', /nothing listens on that UDP port/);
  }
});

test('querySoa: REFUSED, not authoritative, no SOA: errors with codes', async (t) => {
  const cases: Array<[number, WireRecord[], string, RegExp]> = [
    [0x8000 | 5, [], 'APPL_ERR_XFR_RCODE', /answered REFUSED/],
    [0x8000 | 3, [], 'APPL_ERR_XFR_RCODE', /answered NXDOMAIN/],
    [0x8000, [SOA5], 'APPL_ERR_XFR_FORMAT', /not authoritative \(AA clear\)/],
    [QR_AA, [aRecord('example.com', [1, 2, 3, 4])], 'APPL_ERR_XFR_FORMAT', /holds no SOA for example\.com\./],
  ];
  for (const [flags, rrs, code, pattern] of cases) {
    const u = await fakeUdp(0, (q, reply) => {
      const b = new MessageBuilder(q.readUInt16BE(0), flags).question(APEX, T.SOA);
      for (const r of rrs) b.record(1, r);
      reply(b.bytes());
    });
    t.teardown(() => u.close());
    await rejects(t, querySoa(ZONE, { host: '127.0.0.1', port: u.port }), code, pattern);
  }
});

test('querySoa: signed, the answer verified; a forged answer refused', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  for (const [secret, ok] of [[SECRET, true], [Buffer.from('forged'), false]] as const) {
    const u = await fakeUdp(0, (q, reply) => {
      const m = new MessageBuilder(q.readUInt16BE(0), QR_AA).question(APEX, T.SOA).record(1, SOA5).bytes();
      reply(signStream([m], { ...TKEY, secret }, requestMac(q), now)[0]!);
    });
    t.teardown(() => u.close());
    const run = querySoa(ZONE, { host: '127.0.0.1', port: u.port, key: KEY });
    if (ok) t.is((await run).serial, 5);
    else await rejects(t, run, 'APPL_ERR_XFR_TSIG', /does not verify/);
  }
});

test('transfer: bad options are UsageErrors', async (t) => {
  const p = { host: '127.0.0.1', port: 1 };
  for (const o of [{ timeoutMs: 0 }, { idleMs: -1 }, { maxBytes: Number.NaN }]) {
    const e = await t.throwsAsync(transfer(ZONE, p, undefined, o), { instanceOf: ApplianceError });
    t.is(e?.code, 'APPL_ERR_USAGE');
  }
  const e = await t.throwsAsync(transfer(ZONE, p, { serial: 1, soa: aRecord('example.com', [1, 2, 3, 4]) }), { instanceOf: ApplianceError });
  t.is(e?.code, 'APPL_ERR_USAGE');
});
