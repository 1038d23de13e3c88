// IPv6 (appliance/wire/ipv6.ts): RFC 8200 headers checked (version, payload length, no
// extension headers), read, and turned around for a reply.

import test from 'ava';
import { Ipv6View, IPV6_HEADER_LEN, NH_ICMPV6, NH_TCP, NH_UDP } from '../../../appliance/wire/ipv6.js';
import { addSums, partialSum } from '../../../basics/checksum.js';
import { DROP_IP6_EXTENSION, DROP_IP6_MALFORMED, OK } from '../../../appliance/stack/counters.js';
import { hex, pseudo6, refSum, toHex } from '../../helpers/packets.js';

const CLIENT = '20010db8000000000000000000000001';
const US = '20010db8000000000000000000000010';
// 2001:db8::1 → 2001:db8::10, UDP 54321 → 53, "www.example.com A"; the UDP checksum (7322)
// computed apart and verified below.
const HEADER = `60000000 0029 11 40 ${CLIENT} ${US}`;
const UDP = 'd431 0035 0029 7322 | 1234 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001';
const PACKET = hex(HEADER + UDP);

const view = (b: Uint8Array, off = 0, len = b.length - off): Ipv6View => new Ipv6View().wrap(b, off, len);
const withNextHeader = (nh: number): Uint8Array => {
  const b = Uint8Array.from(PACKET);
  b[6] = nh;
  return b;
};

test('a UDP packet: checked and read', (t) => {
  const ip = view(PACKET);
  t.is(ip.check(), OK);
  t.is(ip.nextHeader, NH_UDP);
  t.is(ip.hopLimit, 64);
  t.is(ip.payloadLen, 41);
  t.is(ip.payloadOffset, IPV6_HEADER_LEN);
  t.false(ip.srcIsUnspecified());
});

test('traffic class and flow label do not matter; padding after the payload is allowed', (t) => {
  const b = new Uint8Array(PACKET.length + 5);
  b.set(PACKET);
  b.set(hex('6abcdef0'), 0);
  t.is(view(b).check(), OK);
  t.is(view(b).payloadLen, 41);
});

test('pseudoHeaderSum is RFC 8200 §8.1\'s and makes the UDP sum verify', (t) => {
  const ip = view(PACKET);
  const ps = ip.pseudoHeaderSum(NH_UDP, 41);
  t.is(ps, refSum(pseudo6(hex(CLIENT), hex(US), 17, 41)));
  t.is(addSums(ps, partialSum(PACKET, 40, 41)), 0xffff);
});

test('the unspecified source of duplicate address detection is recognised', (t) => {
  const b = Uint8Array.from(PACKET);
  b.fill(0, 8, 24);
  t.true(view(b).srcIsUnspecified());
  b[23] = 1; // ::1
  t.false(view(b).srcIsUnspecified());
});

test('malformed: short, wrong version, payload length past the bytes', (t) => {
  t.is(view(PACKET, 0, 39).check(), DROP_IP6_MALFORMED);
  const v4 = Uint8Array.from(PACKET);
  v4[0] = 0x45;
  t.is(view(v4).check(), DROP_IP6_MALFORMED, 'version 4');
  t.is(view(PACKET, 0, PACKET.length - 1).check(), DROP_IP6_MALFORMED, 'one byte short of the payload length');
  const long = Uint8Array.from(PACKET);
  long[4] = 0xff;
  t.is(view(long).check(), DROP_IP6_MALFORMED, 'payload length 65321');
});

test('extension headers, and anything but UDP, TCP and ICMPv6, are not served', (t) => {
  const cases: Array<[number, string]> = [[0, 'hop-by-hop'], [43, 'routing'], [44, 'fragment'], [50, 'ESP'], [51, 'AH'], [59, 'no next header'], [60, 'destination options'], [135, 'mobility'], [1, 'ICMP for IPv4']];
  for (const [nh, name] of cases) t.is(view(withNextHeader(nh)).check(), DROP_IP6_EXTENSION, name);
  for (const nh of [NH_UDP, NH_TCP, NH_ICMPV6]) t.is(view(withNextHeader(nh)).check(), OK);
});

test('reply(): addresses swapped, payload length and hop limit set, the rest kept', (t) => {
  const b = Uint8Array.from(PACKET);
  view(b).reply(8 + 45);
  t.is(toHex(b.subarray(0, 40)), toHex(hex(`60000000 0035 11 40 ${US} ${CLIENT}`)));
  t.is(toHex(b.subarray(40)), toHex(hex(UDP)), 'the payload is the caller\'s');
  view(b).reply(32, 255);
  t.is(toHex(b.subarray(0, 40)), toHex(hex(`60000000 0020 11 ff ${CLIENT} ${US}`)));
});
