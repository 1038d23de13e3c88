// UDP (appliance/wire/udp.ts): RFC 768 datagrams checked (lengths, the checksum over the
// pseudo-header, zero meaning "none" over IPv4 only), read, and turned into replies.

import test from 'ava';
import { UdpView, UDP_HEADER_LEN } from '../../../appliance/wire/udp.js';
import { CSUM_AUTO, CSUM_OFF, CSUM_STRICT, DROP_UDP_CHECKSUM, DROP_UDP_MALFORMED, OK, UDP_CSUM_OFFLOAD } from '../../../appliance/wire/reasons.js';
import { be16, concat, hex, pseudo4, pseudo6, put16, refSum, sumsToOnes, toHex } from '../../helpers/packets.js';

const C4 = hex('c6120001'), U4 = hex('c612000a');
const C6 = hex('20010db8000000000000000000000001'), U6 = hex('20010db8000000000000000000000010');
const DNS = '1234 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001';
// The same query from 198.18.0.1 and from 2001:db8::1 (checksums 4275 and 7322).
const V4 = hex('d431 0035 0029 4275' + DNS);
const V6 = hex('d431 0035 0029 7322' + DNS);
// A reply of "hello!" from 198.18.0.10:53 to 198.18.0.1:54321.
const HELLO_REPLY = hex('0035 d431 000e 5b48 68656c6c6f21');

const P4 = refSum(pseudo4(C4, U4, 17, 41));
const P6 = refSum(pseudo6(C6, U6, 17, 41));
const view = (b: Uint8Array, off = 0, len = b.length - off): UdpView => new UdpView().wrap(b, off, len);
const withWord = (b: Uint8Array, at: number, v: number): Uint8Array => {
  const c = Uint8Array.from(b);
  put16(c, at, v);
  return c;
};

test('the fixtures\' checksums verify with the reference loop', (t) => {
  t.true(sumsToOnes(pseudo4(C4, U4, 17, 41), V4));
  t.true(sumsToOnes(pseudo6(C6, U6, 17, 41), V6));
  t.true(sumsToOnes(pseudo4(U4, C4, 17, 14), HELLO_REPLY));
});

test('a datagram: checked over IPv4 and IPv6, ports and length read', (t) => {
  const u = view(V4);
  t.is(u.check(CSUM_STRICT, P4, true), OK);
  t.is(view(V6).check(CSUM_STRICT, P6, false), OK);
  t.is(u.srcPort, 54321);
  t.is(u.dstPort, 53);
  t.is(u.length, 41);
  t.is(u.payloadOffset, UDP_HEADER_LEN);
});

test('a wrong checksum is a drop when verifying, and passes when not', (t) => {
  const bad = withWord(V4, 6, 0x4276);
  t.is(view(bad).check(CSUM_STRICT, P4, true), DROP_UDP_CHECKSUM);
  t.is(view(bad).check(CSUM_OFF, 0, true), OK, 'verification off (checksum offload upstream)');
  t.is(view(V4).check(CSUM_STRICT, P6, true), DROP_UDP_CHECKSUM, 'another pseudo-header');
  const flipped = Uint8Array.from(V6);
  flipped[40] ^= 0x20; // a byte of the DNS payload
  t.is(view(flipped).check(CSUM_STRICT, P6, false), DROP_UDP_CHECKSUM);
});

test('auto accepts the checksum-offload form (the field holds just the pseudo-header sum), strict refuses it', (t) => {
  // What a Linux peer with TX checksum offload (a veth, a container) leaves in the field.
  const partial4 = withWord(V4, 6, P4);
  const partial6 = withWord(V6, 6, P6);
  t.is(view(partial4).check(CSUM_AUTO, P4, true), UDP_CSUM_OFFLOAD);
  t.is(view(partial6).check(CSUM_AUTO, P6, false), UDP_CSUM_OFFLOAD);
  t.is(view(partial4).check(CSUM_STRICT, P4, true), DROP_UDP_CHECKSUM);
  t.is(view(V4).check(CSUM_AUTO, P4, true), OK, 'a full checksum is still verified, and passes');
  t.is(view(withWord(V4, 6, 0x4276)).check(CSUM_AUTO, P4, true), DROP_UDP_CHECKSUM, 'a wrong one is still a drop');
  t.is(view(withWord(V4, 6, P4 ^ 1)).check(CSUM_AUTO, P4, true), DROP_UDP_CHECKSUM, 'the offload form of another pseudo-header');
});

test('zero means "no checksum" over IPv4 only (RFC 768; RFC 8200 §8.1)', (t) => {
  t.is(view(withWord(V4, 6, 0)).check(CSUM_STRICT, P4, true), OK);
  t.is(view(withWord(V6, 6, 0)).check(CSUM_STRICT, P6, false), DROP_UDP_CHECKSUM);
});

test('malformed lengths', (t) => {
  t.is(view(V4, 0, 7).check(CSUM_OFF, 0, true), DROP_UDP_MALFORMED, 'shorter than the header');
  t.is(view(withWord(V4, 4, 7)).check(CSUM_OFF, 0, true), DROP_UDP_MALFORMED, 'Length 7');
  t.is(view(withWord(V4, 4, 42)).check(CSUM_OFF, 0, true), DROP_UDP_MALFORMED, 'Length past the IP payload');
  t.is(view(withWord(V4, 4, 8)).check(CSUM_OFF, 0, true), OK, 'Length 8 (no data) is well formed');
});

test('a Length shorter than the IP payload: the checksum covers Length bytes only', (t) => {
  // 41 bytes of datagram followed by 3 bytes the IP payload still holds.
  const padded = concat(V4, hex('aabbcc'));
  t.is(view(padded).check(CSUM_STRICT, P4, true), OK);
});

test('reply(): ports swapped, the new Length, checksum in full over the reply pseudo-header', (t) => {
  const b = new Uint8Array(8 + 6);
  b.set(V4.subarray(0, 8));
  b.set(hex('68656c6c6f21'), 8);
  const u = view(b);
  u.reply(6, refSum(pseudo4(U4, C4, 17, 14)));
  t.is(toHex(b), toHex(HELLO_REPLY));
  t.is(view(b).check(CSUM_STRICT, refSum(pseudo4(U4, C4, 17, 14)), true), OK);
});

test('reply(): a checksum that computes to zero is sent as ffff (RFC 768)', (t) => {
  // Choose the last data word so that the sum of the reply comes to all ones.
  const data = hex('0000');
  const b = concat(V4.subarray(0, 8), data);
  const ps = refSum(pseudo4(U4, C4, 17, 10));
  const trial = Uint8Array.from(b);
  put16(trial, 0, be16(b, 2)); // the reply's ports
  put16(trial, 2, be16(b, 0));
  put16(trial, 4, 10);
  put16(trial, 6, 0);
  const rest = refSum(Uint8Array.of(ps >> 8, ps & 0xff), trial);
  put16(b, 8, 0xffff - rest);
  const u = view(b);
  u.reply(2, ps);
  t.is(be16(b, 6), 0xffff);
  t.true(sumsToOnes(pseudo4(U4, C4, 17, 10), b));
});
