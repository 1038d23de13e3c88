// ICMP for IPv4 (appliance/wire/icmp.ts): RFC 792 echo requests checked (length, checksum
// over the whole message) and turned into echo replies.

import test from 'ava';
import { IcmpView, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LEN } from '../../../appliance/wire/icmp.js';
import { DROP_ICMP_CHECKSUM, DROP_ICMP_MALFORMED, OK } from '../../../appliance/stack/counters.js';
import { echoBody, hex, icmp4, pingData, sumsToOnes, toHex } from '../../helpers/packets.js';

// Echo request, id 1234, seq 1, data "abcde" (an odd length: the last byte is padded).
const ECHO = '08 00 bc03 1234 0001 6162636465';
const ECHO_REPLY = '00 00 c403 1234 0001 6162636465';

const view = (b: Uint8Array, off = 0, len = b.length - off): IcmpView => new IcmpView().wrap(b, off, len);

test('the fixtures\' checksums verify with the reference loop', (t) => {
  t.true(sumsToOnes(hex(ECHO)));
  t.true(sumsToOnes(hex(ECHO_REPLY)));
});

test('an echo request: checked and read', (t) => {
  const m = view(hex(ECHO));
  t.is(m.check(), OK);
  t.is(m.type, ICMP_ECHO_REQUEST);
  t.is(m.code, 0);
});

test('the checksum covers exactly len bytes: what follows is not read', (t) => {
  const buf = new Uint8Array(40).fill(0xee);
  buf.set(hex(ECHO), 7);
  t.is(view(buf, 7, 13).check(), OK);
});

test('malformed: shorter than the header, a wrong checksum, data changed in flight', (t) => {
  t.is(ICMP_HEADER_LEN, 8);
  t.is(view(hex(ECHO), 0, 7).check(), DROP_ICMP_MALFORMED);
  const c = hex(ECHO);
  c[3] ^= 0x10;
  t.is(view(c).check(), DROP_ICMP_CHECKSUM);
  const d = hex(ECHO);
  d[12] = 0x66;
  t.is(view(d).check(), DROP_ICMP_CHECKSUM);
  t.is(view(hex(ECHO), 0, 12).check(), DROP_ICMP_CHECKSUM, 'cut by one byte');
});

test('echoReply(): type 0, same id, sequence and data, checksum in full', (t) => {
  const b = hex(ECHO);
  const m = view(b);
  m.echoReply();
  t.is(toHex(b), toHex(hex(ECHO_REPLY)));
  t.is(m.type, ICMP_ECHO_REPLY);
  t.is(m.check(), OK);
});

test('echoReply() of a 64-byte ping with a non-zero code answers with code 0', (t) => {
  const req = icmp4(8, 0, echoBody(0xbeef, 0x0102, pingData()));
  req[1] = 7;
  req[2] = 0;
  req[3] = 0;
  const m = view(req);
  m.echoReply();
  t.is(req[0], 0);
  t.is(req[1], 0);
  t.is(toHex(req.subarray(4)), toHex(echoBody(0xbeef, 0x0102, pingData())));
  t.true(sumsToOnes(req));
});
