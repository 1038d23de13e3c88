// IPv4 (appliance/wire/ipv4.ts): RFC 791 headers checked (version, lengths, checksum,
// options, fragments), read, and turned around for a reply. Checksums in the fixtures were
// computed apart from the code under test and are verified again with the reference loop.

import test from 'ava';
import { Ipv4View, IPV4_HEADER_LEN, PROTO_UDP } from '../../../appliance/wire/ipv4.js';
import { addSums, partialSum } from '../../../basics/checksum.js';
import { DROP_IP4_CHECKSUM, DROP_IP4_FRAGMENT, DROP_IP4_MALFORMED, DROP_IP4_OPTIONS, OK } from '../../../appliance/stack/counters.js';
import { concat, hex, pseudo4, refSum, sumsToOnes, toHex } from '../../helpers/packets.js';

// 198.18.0.1 → 198.18.0.10, UDP 54321 → 53, "www.example.com A" (id 1234, RD).
const HEADER = '45 00 003d 0001 0000 40 11 ee7f c6120001 c612000a';
const UDP = 'd431 0035 0029 4275 | 1234 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001';
const PACKET = hex(HEADER + UDP);
// Its reply header for 45 bytes of DNS: addresses swapped, DF, TTL 64, checksum in full.
const REPLY_HEADER = '45 00 0049 0001 4000 40 11 ae73 c612000a c6120001';
// Headers with 8 bytes after them: options (4 × NOP/EOL), MF, a fragment offset, DF alone.
const EIGHT = '0000000000000000';
const WITH_OPTIONS = hex('46 00 0020 0002 0000 40 11 eb9a c6120001 c612000a 01010100' + EIGHT);
const MORE_FRAGMENTS = hex('45 00 001c 0003 2000 40 11 ce9e c6120001 c612000a' + EIGHT);
const FRAGMENT_OFFSET = hex('45 00 001c 0003 00b9 40 11 ede5 c6120001 c612000a' + EIGHT);
const DONT_FRAGMENT = hex('45 00 001c 0003 4000 40 11 ae9e c6120001 c612000a' + EIGHT);

const view = (b: Uint8Array, off = 0, len = b.length - off): Ipv4View => new Ipv4View().wrap(b, off, len);

test('the fixtures\' header checksums verify with the reference loop', (t) => {
  for (const p of [PACKET, WITH_OPTIONS, MORE_FRAGMENTS, FRAGMENT_OFFSET, DONT_FRAGMENT]) t.true(sumsToOnes(p.subarray(0, (p[0]! & 15) * 4)));
  t.true(sumsToOnes(hex(REPLY_HEADER)));
  t.true(sumsToOnes(pseudo4(hex('c6120001'), hex('c612000a'), 17, 41), hex(UDP)), 'and the UDP checksum too');
});

test('a UDP packet: checked and read', (t) => {
  const ip = view(PACKET);
  t.is(ip.check(), OK);
  t.is(ip.protocol, PROTO_UDP);
  t.is(ip.totalLength, 61);
  t.is(ip.src, 0xc6120001);
  t.is(ip.dst, 0xc612000a);
  t.is(ip.payloadOffset, IPV4_HEADER_LEN);
  t.is(ip.payloadLen, 41);
});

test('Ethernet padding after the packet is allowed and not counted as payload', (t) => {
  const padded = concat(DONT_FRAGMENT, new Uint8Array(18));
  const ip = view(padded);
  t.is(ip.check(), OK, 'DF alone is not a fragment');
  t.is(ip.payloadLen, 8);
});

test('a packet at an offset in a larger buffer', (t) => {
  const buf = new Uint8Array(200).fill(0xee);
  buf.set(PACKET, 32);
  const ip = view(buf, 32, PACKET.length);
  t.is(ip.check(), OK);
  t.is(ip.payloadOffset, 52);
  t.is(ip.dst, 0xc612000a);
});

test('pseudoHeaderSum is the RFC 768 pseudo-header\'s sum and makes the UDP sum verify', (t) => {
  const ip = view(PACKET);
  const ps = ip.pseudoHeaderSum(17, 41);
  t.is(ps, refSum(pseudo4(hex('c6120001'), hex('c612000a'), 17, 41)));
  t.is(addSums(ps, partialSum(PACKET, 20, 41)), 0xffff);
});

test('malformed: short, wrong version, bad header or total lengths', (t) => {
  const mutate = (at: number, v: number, src = PACKET): Uint8Array => {
    const b = Uint8Array.from(src);
    b[at] = v;
    return b;
  };
  t.is(view(PACKET, 0, 19).check(), DROP_IP4_MALFORMED, 'shorter than a header');
  t.is(view(mutate(0, 0x65)).check(), DROP_IP4_MALFORMED, 'version 6');
  t.is(view(mutate(0, 0x05)).check(), DROP_IP4_MALFORMED, 'version 0');
  t.is(view(mutate(0, 0x44)).check(), DROP_IP4_MALFORMED, 'IHL 4 (16 bytes)');
  t.is(view(mutate(3, 62)).check(), DROP_IP4_MALFORMED, 'total length one past the bytes');
  t.is(view(PACKET, 0, 60).check(), DROP_IP4_MALFORMED, 'the bytes one short of the total length');
  t.is(view(mutate(3, 19)).check(), DROP_IP4_MALFORMED, 'total length shorter than the header');
  t.is(view(mutate(0, 0x4f, PACKET.subarray(0, 40))).check(), DROP_IP4_MALFORMED, 'IHL 15 past the bytes');
});

test('malformed: a wrong header checksum, checked before anything it covers', (t) => {
  const b = Uint8Array.from(PACKET);
  b[11] ^= 1;
  t.is(view(b).check(), DROP_IP4_CHECKSUM);
  const c = Uint8Array.from(PACKET);
  c[8] = 63; // TTL changed, checksum not updated
  t.is(view(c).check(), DROP_IP4_CHECKSUM);
  const d = Uint8Array.from(WITH_OPTIONS);
  d[23] = 1;
  t.is(view(d).check(), DROP_IP4_CHECKSUM, 'options covered by the checksum');
});

test('not served: options, and fragments (MF or an offset)', (t) => {
  t.is(view(WITH_OPTIONS).check(), DROP_IP4_OPTIONS);
  t.is(view(MORE_FRAGMENTS).check(), DROP_IP4_FRAGMENT);
  t.is(view(FRAGMENT_OFFSET).check(), DROP_IP4_FRAGMENT);
});

test('reply(): addresses swapped, the new length, DF, TTL 64, ECN cleared, checksum in full', (t) => {
  const b = Uint8Array.from(PACKET);
  b[1] = 0xb8; // EF and ECT(0) on the query…
  b[8] = 3; // …and a TTL that ran down
  const ip = view(b);
  ip.reply(8 + 45);
  t.is(toHex(b.subarray(0, 20)), toHex(hex(REPLY_HEADER)));
  t.true(sumsToOnes(b.subarray(0, 20)));
  t.is(toHex(b.subarray(20)), toHex(hex(UDP)), 'the payload is the caller\'s');
  const grown = new Uint8Array(20 + 53);
  grown.set(b);
  t.is(view(grown).check(), OK, 'the reply header passes its own check');
});
