// TSIG for the transfer client (RFC 8945): keys from NAME:ALGORITHM:BASE64, a query's
// signature checked against a digest written out here byte by byte (§4.3.3), and answer
// streams signed as a primary signs them (§5.3, §5.3.1: the chain of MACs, unsigned
// messages between signed ones) by the independent code in xfr-helpers.ts: accepted when
// whole, refused when a byte, a MAC, the order, the key, the time or the last signature is
// wrong.

import test from 'ava';
import { createHmac } from 'node:crypto';
import { ApplianceError } from '../../../basics/errors.js';
import { MAX_UNSIGNED_RUN, parseTsigKey, refusedKey, signQuery, TsigStream, type TsigKey } from '../../../appliance/secondary/tsig.js';
import { encodeQuery, parseMessage } from '../../../appliance/secondary/wire-records.js';
import { RRType as T } from '../../../specializers/dns/zone.js';
import { appendTsig, MessageBuilder, QR_AA, signStream, soaRdata, u16, u32, wire, type TestKey } from './xfr-helpers.js';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const SPEC = `xfr-key:hmac-sha256:${SECRET.toString('base64')}`;
const KEY = parseTsigKey(SPEC);
const TKEY: TestKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: SECRET };
const TIME = 1_700_000_000; // 0x6553f100
const ZONE = wire('example.com');

function tsigError(t: { throws: (f: () => unknown, e: object) => unknown }, f: () => unknown, pattern: RegExp): void {
  const e = t.throws(f, { instanceOf: ApplianceError }) as ApplianceError;
  if (e.code !== 'APPL_ERR_XFR_TSIG' || !pattern.test(e.message)) throw new Error(`unexpected ${e.code}: ${e.message}`);
}

test('parseTsigKey: NAME:ALGORITHM:BASE64, every algorithm, case and a final dot in the algorithm allowed', (t) => {
  t.is(KEY.name, 'xfr-key');
  t.is(KEY.algorithm, 'hmac-sha256');
  t.deepEqual(KEY.secret, SECRET);
  t.deepEqual(KEY.nameWire, wire('xfr-key'));
  for (const a of ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']) {
    t.is(parseTsigKey(`k.example:${a.toUpperCase()}.:${SECRET.toString('base64')}`).algorithm, a);
  }
  t.deepEqual(parseTsigKey(`Key.Example.:hmac-sha1:AAAA`).nameWire, wire('Key.Example'));
});

test('parseTsigKey: a bad spec is a UsageError naming the part, without the secret', (t) => {
  const bad = (spec: string, part: RegExp): void => {
    const e = t.throws(() => parseTsigKey(spec), { instanceOf: ApplianceError });
    t.is(e?.code, 'APPL_ERR_USAGE');
    t.regex(e!.message, part, spec);
    t.false(e!.message.includes(SECRET.toString('base64')), 'the secret is not repeated');
  };
  bad(`xfr-key:${SECRET.toString('base64')}`, /three parts/);
  bad(`a:b:c:${SECRET.toString('base64')}`, /three parts/);
  bad(`:hmac-sha256:${SECRET.toString('base64')}`, /NAME part is empty/);
  bad(`a..b:hmac-sha256:${SECRET.toString('base64')}`, /NAME part 'a\.\.b' is not a domain name/);
  bad(`${'x'.repeat(64)}:hmac-sha256:${SECRET.toString('base64')}`, /NAME part/);
  bad(`k:hmac-md5:${SECRET.toString('base64')}`, /ALGORITHM part 'hmac-md5' is not one of hmac-sha1, hmac-sha224, hmac-sha256/);
  bad('k:hmac-sha256:', /BASE64 part is not base64/);
  bad('k:hmac-sha256:not*base64', /BASE64 part is not base64/);
  bad('k:hmac-sha256:AAA', /BASE64 part is not base64/);
  bad('k:hmac-sha256:====', /BASE64 part is not base64/);
});

test('signQuery: the MAC is HMAC(secret, query ‖ variables) with the variables of RFC 8945 §4.3.3, byte for byte', (t) => {
  const query = encodeQuery(0x1234, ZONE, T.SOA);
  const variables = Buffer.from([
    '07 78 66 72 2d 6b 65 79 00',                   // key name "xfr-key.", canonical
    '00 ff',                                        // class ANY
    '00 00 00 00',                                  // TTL 0
    '0b 68 6d 61 63 2d 73 68 61 32 35 36 00',       // algorithm "hmac-sha256."
    '00 00 65 53 f1 00',                            // time signed 1700000000
    '01 2c',                                        // fudge 300
    '00 00',                                        // error
    '00 00',                                        // other len
  ].join(' ').replace(/ /g, ''), 'hex');
  const mac = createHmac('sha256', SECRET).update(query).update(variables).digest();
  const s = signQuery(query, KEY, TIME + 0.9);
  t.deepEqual(Buffer.from(s.mac), mac);
  const rdata = Buffer.concat([
    Buffer.from('0b686d61632d73686132353600' + '00006553f100' + '012c' + '0020', 'hex'), mac,
    Buffer.from('1234' + '0000' + '0000', 'hex'),
  ]);
  const rr = Buffer.concat([Buffer.from(wire('xfr-key')), Buffer.from('00fa' + '00ff' + '00000000', 'hex'), Buffer.from(u16(rdata.length)), rdata]);
  t.deepEqual(Buffer.from(s.message.subarray(query.length)), rr);
  t.is((s.message[10]! << 8) | s.message[11]!, 1, 'ARCOUNT counts the TSIG record');
  t.deepEqual(Buffer.from(s.message.subarray(12, query.length)), Buffer.from(query.subarray(12)));
  // The key name is digested lower-cased (RFC 4034 §6.2) but written as given.
  const upper = signQuery(query, { ...KEY, nameWire: wire('XFR-Key') }, TIME);
  t.deepEqual(Buffer.from(upper.mac), mac);
  t.deepEqual(Buffer.from(upper.message.subarray(query.length, query.length + 9)), Buffer.from(wire('XFR-Key')));
});

function answer(id: number, n: number, records = 3): Uint8Array {
  const b = new MessageBuilder(id, QR_AA);
  if (n === 0) b.question(ZONE, T.AXFR);
  if (n === 0) b.rr(1, ZONE, T.SOA, 3600, [soaRdata(5)]);
  for (let i = 0; i < records; i++) b.rr(1, wire(`h${n}-${i}.example.com`), T.A, 60, [[198, 18, n & 0xff, i & 0xff]]);
  return b.bytes();
}

function stream(key: TsigKey, requestMac: Uint8Array, msgs: Uint8Array[], now = TIME): TsigStream {
  const s = new TsigStream(key, requestMac, () => now);
  for (const m of msgs) s.receive(m, parseMessage(m));
  return s;
}

const REQUEST_MAC = signQuery(encodeQuery(0x1234, ZONE, T.AXFR), KEY, TIME).mac;

test('one signed answer: verified; the first MAC covers the request MAC (RFC 8945 §4.3.1)', (t) => {
  const [m] = signStream([answer(0x1234, 0)], TKEY, REQUEST_MAC, TIME);
  const s = stream(KEY, REQUEST_MAC, [m!]);
  t.notThrows(() => s.finish());
  t.true(s.complete);
  // The same answer checked against another request's MAC does not verify.
  const other = signQuery(encodeQuery(0x1234, ZONE, T.IXFR), KEY, TIME).mac;
  tsigError(t, () => stream(KEY, other, [m!]), /MAC of the first answer does not verify/);
});

test('tampered: a byte of the message, a byte of the MAC, another secret: refused', (t) => {
  const [m] = signStream([answer(0x1234, 0)], TKEY, REQUEST_MAC, TIME);
  const body = m!.slice();
  body[body.length - 81] ^= 1; // the last A record's last octet, just before the 80-octet TSIG record
  tsigError(t, () => stream(KEY, REQUEST_MAC, [body]), /does not verify with key 'xfr-key'/);
  const mac = m!.slice();
  mac[mac.length - 10] ^= 0x80; // inside the MAC (the last 6 octets are Original ID, Error, Other Len)
  tsigError(t, () => stream(KEY, REQUEST_MAC, [mac]), /does not verify/);
  const [forged] = signStream([answer(0x1234, 0)], { ...TKEY, secret: Buffer.from('another secret') }, REQUEST_MAC, TIME);
  tsigError(t, () => stream(KEY, REQUEST_MAC, [forged!]), /does not verify/);
});

test('the ID in the header may differ from the Original ID the MAC was made with (RFC 8945 §4.3.2)', (t) => {
  const [m] = signStream([answer(0x1234, 0)], TKEY, REQUEST_MAC, TIME);
  const moved = m!.slice();
  moved[0] = 0x99;
  t.notThrows(() => stream(KEY, REQUEST_MAC, [moved]).finish());
});

test('a stream: every message signed, unsigned ones between signed ones, in order (RFC 8945 §5.3.1)', (t) => {
  const msgs = [0, 1, 2, 3, 4, 5].map((n) => answer(0x1234, n));
  t.notThrows(() => stream(KEY, REQUEST_MAC, signStream(msgs, TKEY, REQUEST_MAC, TIME)).finish());
  const sparse = signStream(msgs, TKEY, REQUEST_MAC, TIME, [true, false, false, true, false, true]);
  t.notThrows(() => stream(KEY, REQUEST_MAC, sparse).finish());
  // An unsigned message altered: the next signed one's MAC covers it.
  const altered = sparse.map((m) => m.slice());
  altered[2]![altered[2]!.length - 1] ^= 1;
  tsigError(t, () => stream(KEY, REQUEST_MAC, altered), /MAC of answer message 4 does not verify/);
  // Two messages swapped, or one left out.
  tsigError(t, () => stream(KEY, REQUEST_MAC, [sparse[0]!, sparse[2]!, sparse[1]!, ...sparse.slice(3)]), /answer message 4 does not verify/);
  tsigError(t, () => stream(KEY, REQUEST_MAC, [sparse[0]!, ...sparse.slice(2)]), /answer message 3 does not verify/);
});

test('a stream: the last message unsigned, or the first, is refused', (t) => {
  const msgs = [0, 1, 2, 3].map((n) => answer(0x1234, n));
  const s = stream(KEY, REQUEST_MAC, signStream(msgs, TKEY, REQUEST_MAC, TIME, [true, false, true, false]));
  t.false(s.complete);
  tsigError(t, () => s.finish(), /the last of 4 messages from the primary is not signed/);
  tsigError(t, () => stream(KEY, REQUEST_MAC, signStream(msgs, TKEY, REQUEST_MAC, TIME, [false, true, true, true])), /the first answer from the primary is not signed/);
  tsigError(t, () => new TsigStream(KEY, REQUEST_MAC, () => TIME).finish(), /no answer/);
});

test(`a stream: ${MAX_UNSIGNED_RUN} unsigned messages in a row are accepted, ${MAX_UNSIGNED_RUN + 1} are not`, (t) => {
  const msgs = Array.from({ length: MAX_UNSIGNED_RUN + 3 }, (_, n) => answer(0x1234, n, 1));
  const ok = signStream(msgs.slice(0, MAX_UNSIGNED_RUN + 2), TKEY, REQUEST_MAC, TIME, msgs.slice(0, MAX_UNSIGNED_RUN + 2).map((_, i) => i === 0 || i === MAX_UNSIGNED_RUN + 1));
  t.notThrows(() => stream(KEY, REQUEST_MAC, ok).finish());
  const tooMany = signStream(msgs, TKEY, REQUEST_MAC, TIME, msgs.map((_, i) => i === 0 || i === MAX_UNSIGNED_RUN + 2));
  tsigError(t, () => stream(KEY, REQUEST_MAC, tooMany), /100 messages in a row without TSIG/);
});

test('time: within the fudge accepted, outside refused after the MAC verified (RFC 8945 §5.2.3)', (t) => {
  const [m] = signStream([answer(0x1234, 0)], TKEY, REQUEST_MAC, TIME);
  t.notThrows(() => stream(KEY, REQUEST_MAC, [m!], TIME + 300));
  t.notThrows(() => stream(KEY, REQUEST_MAC, [m!], TIME - 300));
  tsigError(t, () => stream(KEY, REQUEST_MAC, [m!], TIME + 301), /301 s from our clock, outside its fudge of 300 s/);
  const [narrow] = signStream([answer(0x1234, 0)], TKEY, REQUEST_MAC, TIME, [true], 10);
  tsigError(t, () => stream(KEY, REQUEST_MAC, [narrow!], TIME + 11), /outside its fudge of 10 s/);
});

test('signed with another key name, another algorithm, or a truncated MAC: refused', (t) => {
  const [other] = signStream([answer(0x1234, 0)], { ...TKEY, name: 'other-key' }, REQUEST_MAC, TIME);
  tsigError(t, () => stream(KEY, REQUEST_MAC, [other!]), /signed with key 'other-key\.', not 'xfr-key'/);
  const [sha1] = signStream([answer(0x1234, 0)], { ...TKEY, algorithm: 'hmac-sha1' }, REQUEST_MAC, TIME);
  tsigError(t, () => stream(KEY, REQUEST_MAC, [sha1!]), /algorithm 'hmac-sha1\.', not hmac-sha256/);
  const short = appendTsig(answer(0x1234, 0), TKEY, TIME, 300, new Uint8Array(16));
  tsigError(t, () => stream(KEY, REQUEST_MAC, [short]), /16-octet MAC; hmac-sha256 gives 32/);
});

test('each algorithm verifies its own stream', (t) => {
  for (const algorithm of ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']) {
    const key = parseTsigKey(`k:${algorithm}:${SECRET.toString('base64')}`);
    const req = signQuery(encodeQuery(7, ZONE, T.AXFR), key, TIME).mac;
    const msgs = signStream([answer(7, 0), answer(7, 1), answer(7, 2)], { name: 'k', algorithm, secret: SECRET }, req, TIME, [true, false, true]);
    t.notThrows(() => stream(key, req, msgs).finish(), algorithm);
  }
});

test('refusedKey: BADKEY, BADSIG and BADTIME from the primary become APPL_ERR_XFR_TSIG', (t) => {
  const refusal = (error: number, other: number[] = []): Uint8Array =>
    appendTsig(new MessageBuilder(0x1234, 0x8000 | 9).question(ZONE, T.AXFR).bytes(), TKEY, TIME, 300, new Uint8Array(0), error, other);
  const e = refusedKey(parseMessage(refusal(17)), KEY, TIME);
  t.is(e?.code, 'APPL_ERR_XFR_TSIG');
  t.regex(e!.message, /refused TSIG key 'xfr-key' \(hmac-sha256\) with NOTAUTH, BADKEY: it does not know the key/);
  t.regex(refusedKey(parseMessage(refusal(16)), KEY, TIME)!.message, /BADSIG: the secrets differ/);
  const late = refusedKey(parseMessage(refusal(18, [...u16(0), ...u32(TIME + 1000)])), KEY, TIME)!;
  t.regex(late.message, /BADTIME: its clock says 2023-11-14T22:30:00.000Z, ours 2023-11-14T22:13:20.000Z/);
  t.is(refusedKey(parseMessage(answer(0x1234, 0)), KEY, TIME), null);
  const [signed] = signStream([answer(0x1234, 0)], TKEY, REQUEST_MAC, TIME);
  t.is(refusedKey(parseMessage(signed!), KEY, TIME), null);
});
