// ICMPv6 (appliance/wire/icmpv6.ts): RFC 4443 echo and RFC 4861 neighbour solicitation
// and advertisement, checked (length, checksum over the pseudo-header, §7.1.1 validity),
// read and emitted. Checksums were computed apart and are verified again below.

import test from 'ava';
import {
  Icmpv6View, ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST, ICMP6_NEIGHBOR_ADVERTISEMENT, ICMP6_NEIGHBOR_SOLICITATION, NA_LEN, NS_LEN,
} from '../../../appliance/wire/icmpv6.js';
import { DROP_ICMP_CHECKSUM, DROP_ICMP_MALFORMED, DROP_NDP_MALFORMED, OK } from '../../../appliance/stack/counters.js';
import { concat, hex, icmp6, pseudo6, refSum, sumsToOnes, toHex } from '../../helpers/packets.js';

const CLIENT = hex('20010db8000000000000000000000001');
const US = hex('20010db8000000000000000000000010');
const SOLICITED = hex('ff0200000000000000000001ff000010');
const ALL_NODES = hex('ff020000000000000000000000000001');
const UNSPECIFIED = new Uint8Array(16);
const TARGET = '20010db8000000000000000000000010';

// 2001:db8::1 → ff02::1:ff00:10: who has 2001:db8::10? (source link-layer 02:00:00:00:00:0b)
const NS = `87 00 1c01 00000000 ${TARGET} 01 01 02000000000b`;
// 2001:db8::10 → 2001:db8::1: solicited, override, target link-layer 02:00:00:00:00:0a.
const NA = `88 00 8a4d 60000000 ${TARGET} 02 01 02000000000a`;
// Duplicate address detection: :: → ff02::1:ff00:10, no option; its answer to ff02::1, O only.
const DAD_NS = `87 00 4ccf 00000000 ${TARGET}`;
const DAD_NA = `88 00 f903 20000000 ${TARGET} 02 01 02000000000a`;
// Echo, id 1234, seq 1, "abcde", 2001:db8::1 → 2001:db8::10, and its reply.
const ECHO = '80 00 e838 1234 0001 6162636465';
const ECHO_REPLY = '81 00 e738 1234 0001 6162636465';

const sum = (src: Uint8Array, dst: Uint8Array, len: number): number => refSum(pseudo6(src, dst, 58, len));
const view = (b: Uint8Array, off = 0, len = b.length - off): Icmpv6View => new Icmpv6View().wrap(b, off, len);
const US_MAC = hex('02000000000a');

test('the fixtures\' checksums verify with the reference loop', (t) => {
  t.true(sumsToOnes(pseudo6(CLIENT, SOLICITED, 58, 32), hex(NS)));
  t.true(sumsToOnes(pseudo6(US, CLIENT, 58, 32), hex(NA)));
  t.true(sumsToOnes(pseudo6(UNSPECIFIED, SOLICITED, 58, 24), hex(DAD_NS)));
  t.true(sumsToOnes(pseudo6(US, ALL_NODES, 58, 32), hex(DAD_NA)));
  t.true(sumsToOnes(pseudo6(CLIENT, US, 58, 13), hex(ECHO)));
  t.true(sumsToOnes(pseudo6(US, CLIENT, 58, 13), hex(ECHO_REPLY)));
});

test('a solicitation: checksum over the pseudo-header, type, code, validity', (t) => {
  const m = view(hex(NS));
  t.is(m.check(sum(CLIENT, SOLICITED, 32)), OK);
  t.is(m.type, ICMP6_NEIGHBOR_SOLICITATION);
  t.is(m.code, 0);
  t.is(m.checkSolicitation(false), OK);
  const dad = view(hex(DAD_NS));
  t.is(dad.check(sum(UNSPECIFIED, SOLICITED, 24)), OK);
  t.is(dad.checkSolicitation(true), OK);
});

test('an echo request: checked and read', (t) => {
  const m = view(hex(ECHO));
  t.is(m.check(sum(CLIENT, US, 13)), OK);
  t.is(m.type, ICMP6_ECHO_REQUEST);
});

test('malformed: short, a wrong checksum, the wrong pseudo-header', (t) => {
  t.is(view(hex(ECHO), 0, 7).check(sum(CLIENT, US, 7)), DROP_ICMP_MALFORMED);
  const c = hex(ECHO);
  c[2] ^= 1;
  t.is(view(c).check(sum(CLIENT, US, 13)), DROP_ICMP_CHECKSUM);
  t.is(view(hex(ECHO)).check(sum(CLIENT, SOLICITED, 13)), DROP_ICMP_CHECKSUM, 'checksummed for another destination');
  t.is(view(hex(ECHO)).check(refSum(pseudo6(CLIENT, US, 17, 13))), DROP_ICMP_CHECKSUM, 'next header in the pseudo-header');
});

test('RFC 4861 §7.1.1: invalid solicitations', (t) => {
  const ns = (body: string): Icmpv6View => view(icmp6(CLIENT, SOLICITED, 135, 0, hex(body)));
  const tgt = `00000000 ${TARGET}`;
  t.is(view(hex(NS), 0, 23).checkSolicitation(false), DROP_NDP_MALFORMED, 'shorter than 24 bytes');
  const code = hex(NS);
  code[1] = 1;
  t.is(view(code).checkSolicitation(false), DROP_NDP_MALFORMED, 'code 1');
  t.is(ns(`00000000 ${toHex(SOLICITED)}`).checkSolicitation(false), DROP_NDP_MALFORMED, 'multicast target');
  t.is(ns(`${tgt} 01 00 02000000000b`).checkSolicitation(false), DROP_NDP_MALFORMED, 'an option of length 0');
  t.is(ns(`${tgt} 01 02 02000000000b`).checkSolicitation(false), DROP_NDP_MALFORMED, 'an option past the end');
  t.is(ns(`${tgt} 01 01 02000000000b 0e`).checkSolicitation(false), DROP_NDP_MALFORMED, 'one stray byte after the options');
  t.is(view(hex(NS)).checkSolicitation(true), DROP_NDP_MALFORMED, 'a source link-layer option from the unspecified address');
});

test('valid solicitations: unknown options are skipped, several options walked', (t) => {
  const tgt = `00000000 ${TARGET}`;
  const ns = (body: string): Icmpv6View => view(icmp6(CLIENT, SOLICITED, 135, 0, hex(body)));
  t.is(ns(`${tgt} 0e 01 010203040506`).checkSolicitation(false), OK, 'a nonce (RFC 3971)');
  t.is(ns(`${tgt} 0e 01 010203040506 01 01 02000000000b`).checkSolicitation(false), OK);
  t.is(ns(`${tgt} 0e 01 010203040506`).checkSolicitation(true), OK, 'DAD with a nonce');
  t.is(ns(tgt).checkSolicitation(false), OK, 'no option (a unicast probe may omit it)');
});

test('advertise(): the solicitation becomes a solicited, override advertisement with our address', (t) => {
  const b = hex(NS);
  const m = view(b);
  m.len = NA_LEN;
  m.advertise(US_MAC, true, sum(US, CLIENT, NA_LEN));
  t.is(toHex(b), toHex(hex(NA)));
  t.is(m.type, ICMP6_NEIGHBOR_ADVERTISEMENT);
  t.is(m.check(sum(US, CLIENT, NA_LEN)), OK);
});

test('advertise() for duplicate address detection: no S flag; the 24-byte solicitation grows to 32', (t) => {
  const b = concat(hex(DAD_NS), new Uint8Array(8).fill(0xee));
  t.is(NS_LEN, 24);
  const m = view(b, 0, NS_LEN);
  m.len = NA_LEN;
  m.advertise(US_MAC, false, sum(US, ALL_NODES, NA_LEN));
  t.is(toHex(b), toHex(hex(DAD_NA)));
});

test('echoReply(): type 129, the rest kept, checksum for the reply\'s pseudo-header', (t) => {
  const b = hex(ECHO);
  const m = view(b);
  m.echoReply(sum(US, CLIENT, 13));
  t.is(toHex(b), toHex(hex(ECHO_REPLY)));
  t.is(m.type, ICMP6_ECHO_REPLY);
});
