// Malformed frames through the stack on the pipe: each one is dropped, counted under its
// reason (and under nothing else), and nothing at all is transmitted. Each entry is a valid
// frame with one thing wrong; the valid frames themselves are answered (first test).

import test from 'ava';
import { encodeQuery, parseCorpusLine } from '../../helpers/dns.js';
import {
  arpRequestFrame, CLIENT4, CLIENT6, CLIENT_MAC, concat, echo4Frame, echo6Frame, ETH_IPV4, ETH_IPV6, ethernet, hex, icmp4, icmp6, ip6, ipv4, ipv6,
  nsFrame, OTHER4, OTHER6, pingData, solicitedNode, udp, udp4Frame, udp6Frame, UNSPECIFIED6, US4, US6, US_MAC,
} from '../../helpers/packets.js';
import { buildZonesImage, Rig, type ZonesImage } from './helpers/rig.js';

let image: ZonesImage;
test.before(async () => {
  image = await buildZonesImage();
});
test.after.always(() => image?.cleanup());

const Q = encodeQuery(parseCorpusLine('www.example.com A')!);
const UDP4 = udp4Frame(Q);
const UDP6 = udp6Frame(Q);
const ECHO4 = echo4Frame(1, 2, pingData());
const ECHO6 = echo6Frame(1, 2, pingData());
const NS = nsFrame(US6);
const ARP = arpRequestFrame();

/** A copy of `f` with bytes written at `at`. */
function patch(f: Uint8Array, at: number, ...bytes: number[]): Uint8Array {
  const c = Uint8Array.from(f);
  c.set(bytes, at);
  return c;
}

const TCP_SYN = hex('d431 0035 00000001 00000000 5002 ffff 0000 0000');
const tgt = (a: Uint8Array): Uint8Array => concat(new Uint8Array(4), a);
const ns6 = (body: Uint8Array, o: { src?: Uint8Array; hop?: number; code?: number } = {}): Uint8Array => {
  const src = o.src ?? CLIENT6, dst = solicitedNode(US6);
  return ethernet(ETH_IPV6, ipv6(58, icmp6(src, dst, 135, o.code ?? 0, body), { src, dst, hopLimit: o.hop ?? 255 }), { dst: hex('3333ff000010') });
};

// [what is wrong, the frame, the counter it must land in]
const TABLE: Array<[string, Uint8Array, string]> = [
  // Ethernet
  ['ten bytes', new Uint8Array(10), 'drop_eth_short'],
  ['a 13-byte header', UDP4.subarray(0, 13), 'drop_eth_short'],
  ['a VLAN tag without its EtherType', concat(US_MAC, CLIENT_MAC, hex('8100 0064')), 'drop_eth_short'],
  ['802.1Q inside 802.1Q', ethernet(ETH_IPV4, UDP4.subarray(14), { vlan: [100, 101] }), 'drop_vlan_stacked'],
  ['an 802.1ad S-tag', concat(US_MAC, CLIENT_MAC, hex('88a8 0064 8100 0065 0800'), UDP4.subarray(14)), 'drop_vlan_stacked'],
  ['EtherType 0x88b5', ethernet(0x88b5, new Uint8Array(46)), 'drop_eth_type'],
  ['EtherType 0x0000', ethernet(0, new Uint8Array(46)), 'drop_eth_type'],
  // ARP
  ['ARP cut to 20 bytes', ARP.subarray(0, 34), 'drop_arp_malformed'],
  ['ARP over IEEE 802 (hardware type 6)', patch(ARP, 15, 6), 'drop_arp_malformed'],
  ['ARP for IPv6 addresses', patch(ARP, 16, 0x86, 0xdd), 'drop_arp_malformed'],
  ['ARP with 8-byte hardware addresses', patch(ARP, 18, 8), 'drop_arp_malformed'],
  ['ARP with 16-byte protocol addresses', patch(ARP, 19, 16), 'drop_arp_malformed'],
  ['an ARP reply', arpRequestFrame({ oper: 2 }), 'drop_arp_not_request'],
  ['a RARP request (operation 3)', arpRequestFrame({ oper: 3 }), 'drop_arp_not_request'],
  ['ARP operation 0', arpRequestFrame({ oper: 0 }), 'drop_arp_not_request'],
  ['ARP for another address', arpRequestFrame({ tpa: OTHER4 }), 'drop_arp_not_ours'],
  ['ARP for 0.0.0.0', arpRequestFrame({ tpa: new Uint8Array(4) }), 'drop_arp_not_ours'],
  // IPv4
  ['an IPv4 EtherType and nothing after', UDP4.subarray(0, 14), 'drop_ip4_malformed'],
  ['an IPv4 header cut to 19 bytes', UDP4.subarray(0, 33), 'drop_ip4_malformed'],
  ['IP version 6 under the IPv4 EtherType', patch(UDP4, 14, 0x65), 'drop_ip4_malformed'],
  ['IHL 4', patch(UDP4, 14, 0x44), 'drop_ip4_malformed'],
  ['total length past the frame', patch(UDP4, 16, 0x05, 0xdc), 'drop_ip4_malformed'],
  ['total length 19', patch(UDP4, 16, 0, 19), 'drop_ip4_malformed'],
  ['the frame cut inside the payload', UDP4.subarray(0, UDP4.length - 1), 'drop_ip4_malformed'],
  ['a wrong header checksum', patch(UDP4, 24, UDP4[24]! ^ 0x40), 'drop_ip4_checksum'],
  ['a TTL changed without the checksum', patch(UDP4, 22, 1), 'drop_ip4_checksum'],
  ['IPv4 options (router alert)', ethernet(ETH_IPV4, ipv4(17, udp(CLIENT4, US4, 54321, 53, Q), { options: hex('94040000') })), 'drop_ip4_options'],
  ['a first fragment (MF)', ethernet(ETH_IPV4, ipv4(17, udp(CLIENT4, US4, 54321, 53, Q), { fragment: 0x2000 })), 'drop_ip4_fragment'],
  ['a last fragment (offset, no MF)', ethernet(ETH_IPV4, ipv4(17, Q, { fragment: 0x0003 })), 'drop_ip4_fragment'],
  ['a middle fragment (MF and offset)', ethernet(ETH_IPV4, ipv4(17, Q, { fragment: 0x2003 })), 'drop_ip4_fragment'],
  ['IPv4 to another address', udp4Frame(Q, { dst4: OTHER4 }), 'drop_ip4_not_ours'],
  ['TCP with a bad checksum', ethernet(ETH_IPV4, ipv4(6, TCP_SYN)), 'drop_tcp_checksum'],
  ['IGMP', ethernet(ETH_IPV4, ipv4(2, hex('1164ee9b00000000'))), 'drop_ip_protocol'],
  // ICMP
  ['ICMP of 4 bytes', ethernet(ETH_IPV4, ipv4(1, hex('0800f7ff'))), 'drop_icmp_malformed'],
  ['ICMP with a wrong checksum', patch(ECHO4, ECHO4.length - 1, 0), 'drop_icmp_checksum'],
  ['an echo reply', ethernet(ETH_IPV4, ipv4(1, icmp4(0, 0, hex('00010002')))), 'drop_icmp_type'],
  ['a timestamp request', ethernet(ETH_IPV4, ipv4(1, icmp4(13, 0, new Uint8Array(16)))), 'drop_icmp_type'],
  ['a port unreachable', ethernet(ETH_IPV4, ipv4(1, icmp4(3, 3, new Uint8Array(32)))), 'drop_icmp_type'],
  ['an echo request with code 1', ethernet(ETH_IPV4, ipv4(1, icmp4(8, 1, hex('00010002')))), 'drop_icmp_type'],
  // UDP over IPv4
  ['6 bytes of UDP', ethernet(ETH_IPV4, ipv4(17, hex('d4310035000e'))), 'drop_udp_malformed'],
  ['UDP Length 7', patch(UDP4, 38, 0, 7), 'drop_udp_malformed'],
  ['UDP Length past the IP payload', patch(UDP4, 38, 0, UDP4.length - 34 + 1), 'drop_udp_malformed'],
  ['a wrong UDP checksum', patch(UDP4, 40, UDP4[40]! ^ 1), 'drop_udp_checksum'],
  ['a changed DNS byte', patch(UDP4, 44, 0xff), 'drop_udp_checksum'],
  ['UDP to port 5353', udp4Frame(Q, { dport: 5353 }), 'drop_udp_port'],
  ['UDP to port 0', udp4Frame(Q, { dport: 0 }), 'drop_udp_port'],
  // DNS
  ['11 bytes of DNS', udp4Frame(Q.subarray(0, 11)), 'drop_dns'],
  ['an empty datagram to port 53', udp4Frame(new Uint8Array(0)), 'drop_dns'],
  ['a DNS response', udp4Frame(patch(Q, 2, Q[2]! | 0x80)), 'drop_dns'],
  // IPv6
  ['an IPv6 header cut to 39 bytes', UDP6.subarray(0, 53), 'drop_ip6_malformed'],
  ['IP version 4 under the IPv6 EtherType', patch(UDP6, 14, 0x45), 'drop_ip6_malformed'],
  ['payload length past the frame', patch(UDP6, 18, 0x01, 0x00), 'drop_ip6_malformed'],
  ['a hop-by-hop header', patch(UDP6, 20, 0), 'drop_ip6_extension'],
  ['a routing header', patch(UDP6, 20, 43), 'drop_ip6_extension'],
  ['a fragment header', patch(UDP6, 20, 44), 'drop_ip6_extension'],
  ['destination options', patch(UDP6, 20, 60), 'drop_ip6_extension'],
  ['no next header', patch(UDP6, 20, 59), 'drop_ip6_extension'],
  ['IPv6 to another address', udp6Frame(Q, { dst6: OTHER6 }), 'drop_ip6_not_ours'],
  ['IPv6 to a multicast group not ours', udp6Frame(Q, { dst6: ip6('ff02::fb') }), 'drop_ip6_not_ours'],
  ['TCP over IPv6 with a bad checksum', ethernet(ETH_IPV6, ipv6(6, TCP_SYN)), 'drop_tcp_checksum'],
  // UDP over IPv6
  ['a zero UDP checksum over IPv6', ethernet(ETH_IPV6, ipv6(17, udp(CLIENT6, US6, 54321, 53, Q, 0))), 'drop_udp_checksum'],
  ['a wrong UDP checksum over IPv6', patch(UDP6, 60, UDP6[60]! ^ 0x80), 'drop_udp_checksum'],
  ['UDP Length 4 over IPv6', patch(UDP6, 58, 0, 4), 'drop_udp_malformed'],
  // ICMPv6
  ['ICMPv6 of 4 bytes', ethernet(ETH_IPV6, ipv6(58, hex('8000ffff'))), 'drop_icmp_malformed'],
  ['ICMPv6 with a wrong checksum', patch(ECHO6, ECHO6.length - 1, 0), 'drop_icmp_checksum'],
  ['an echo reply', ethernet(ETH_IPV6, ipv6(58, icmp6(CLIENT6, US6, 129, 0, hex('00010002')))), 'drop_icmp_type'],
  ['a router solicitation', ethernet(ETH_IPV6, ipv6(58, icmp6(CLIENT6, US6, 133, 0, new Uint8Array(4)), { hopLimit: 255 })), 'drop_icmp_type'],
  ['a neighbour advertisement', ethernet(ETH_IPV6, ipv6(58, icmp6(CLIENT6, US6, 136, 0, concat(hex('60000000'), CLIENT6)), { hopLimit: 255 })), 'drop_icmp_type'],
  // NDP
  ['a solicitation with hop limit 64', nsFrame(US6, { hopLimit: 64 }), 'drop_ndp_malformed'],
  ['a solicitation with code 1', ns6(concat(tgt(US6), hex('0101 02000000000b')), { code: 1 }), 'drop_ndp_malformed'],
  ['a solicitation of 20 bytes', ns6(new Uint8Array(16)), 'drop_ndp_malformed'],
  ['a solicitation for a multicast target', ns6(tgt(solicitedNode(US6))), 'drop_ndp_malformed'],
  ['an option of length 0', ns6(concat(tgt(US6), hex('0100 02000000000b'))), 'drop_ndp_malformed'],
  ['an option past the end', ns6(concat(tgt(US6), hex('0102 02000000000b'))), 'drop_ndp_malformed'],
  ['duplicate address detection to a unicast address', nsFrame(US6, { src6: UNSPECIFIED6, dst6: US6, dst: US_MAC }), 'drop_ndp_malformed'],
  ['duplicate address detection with a source link-layer option', ns6(concat(tgt(US6), hex('0101 02000000000b')), { src: UNSPECIFIED6 }), 'drop_ndp_malformed'],
  ['a solicitation for another address in our group', nsFrame(ip6('2001:db8:ffff::10')), 'drop_ndp_not_ours'],
];

test('the valid frames the table starts from are answered', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  const frames = [UDP4, UDP6, ECHO4, ECHO6, NS, ARP, ns6(concat(tgt(US6), hex('0101 02000000000b')))];
  const replies = r.exchange(frames);
  t.is(replies.length, frames.length);
  replies.forEach((f, i) => t.deepEqual(r.problems(f, frames[i]), []));
});

test('every malformed frame is counted under its reason and nothing is sent', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  for (const [what, frame, counter] of TABLE) {
    const before = r.snapshot();
    const replies = r.exchange([frame]);
    t.is(replies.length, 0, what);
    t.deepEqual(r.stackDelta(before), { rx_frames: 1, [counter]: 1 }, what);
  }
  t.is(r.client.stats().rxPackets, 0, 'the client end never received a frame');
  t.is(r.dev.stats().txPackets, 0);
  t.log(`${TABLE.length} malformed frames`);
});

test('the whole table in one batch: same counts, and a valid query after it still answered', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  const before = r.snapshot();
  t.deepEqual(r.exchange(TABLE.map(([, f]) => f)), []);
  const want: Record<string, number> = { rx_frames: TABLE.length };
  for (const [, , c] of TABLE) want[c] = (want[c] ?? 0) + 1;
  t.deepEqual(r.stackDelta(before), want);
  const reply = r.ask(UDP4);
  t.truthy(reply);
  t.deepEqual(r.problems(reply!, UDP4), []);
});
