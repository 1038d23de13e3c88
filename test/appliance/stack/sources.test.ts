// What the fused stack must not answer, each a counted drop (over the pipe, without root):
// frames from a broadcast or multicast MAC (the answer would go to every host), unicast
// frames for another host's MAC, loopback sources (127.0.0.0/8, ::1) and our own addresses
// as the source (reflection), UDP from port 0. And the checksum defaults that keep
// containers working: the offload form a veth peer sends is accepted and counted in auto
// mode (the default), refused in strict mode.

import test, { type ExecutionContext } from 'ava';
import { CSUM_STRICT } from '../../../appliance/wire/reasons.js';
import { encodeQuery, parseCorpusLine } from '../../helpers/dns.js';
import {
  arp, BROADCAST_MAC, CLIENT4, CLIENT6, ETH_ARP, ETH_IPV4, ETH_IPV6, ethernet, icmp4, echoBody, ipv4, ipv6, mac, pseudo4, pseudo6, refSum, udp, US4, US6,
} from '../../helpers/packets.js';
import { buildZonesImage, Rig, type ZonesImage } from './helpers/rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildZonesImage(); });
test.after.always(() => image?.cleanup());

function rig(t: ExecutionContext, o?: ConstructorParameters<typeof Rig>[1]): Rig {
  const r = new Rig(image, o);
  t.teardown(() => r.close());
  return r;
}

const Q = encodeQuery(parseCorpusLine('www.example.com A')!);
const dns4 = (o: { src?: Uint8Array; sport?: number; eth?: Parameters<typeof ethernet>[2] } = {}): Uint8Array =>
  ethernet(ETH_IPV4, ipv4(17, udp(o.src ?? CLIENT4, US4, o.sport ?? 40000, 53, Q), { src: o.src ?? CLIENT4 }), o.eth);
const dns6 = (o: { src?: Uint8Array; sport?: number } = {}): Uint8Array =>
  ethernet(ETH_IPV6, ipv6(17, udp(o.src ?? CLIENT6, US6, o.sport ?? 40000, 53, Q), { src: o.src ?? CLIENT6 }));

function droppedAs(t: ExecutionContext, r: Rig, frame: Uint8Array, counter: string): void {
  const before = r.snapshot();
  t.is(r.ask(frame), undefined, counter);
  t.deepEqual(r.stackDelta(before), { rx_frames: 1, [counter]: 1 }, counter);
}

test('a frame from a broadcast or multicast source MAC is dropped: DNS, ARP and echo alike', (t) => {
  const r = rig(t);
  for (const src of [BROADCAST_MAC, mac('01:00:5e:00:00:01'), mac('33:33:00:00:00:01')]) {
    droppedAs(t, r, dns4({ eth: { src } }), 'drop_src_mac');
    droppedAs(t, r, ethernet(ETH_ARP, arp({ sha: src }), { dst: BROADCAST_MAC, src }), 'drop_src_mac');
    droppedAs(t, r, ethernet(ETH_IPV4, ipv4(1, icmp4(8, 0, echoBody(1, 1, new Uint8Array(8)))), { src }), 'drop_src_mac');
  }
});

test('a unicast frame for another host\'s MAC is dropped; broadcast ARP is still answered', (t) => {
  const r = rig(t);
  droppedAs(t, r, dns4({ eth: { dst: mac('02:00:00:00:00:99') } }), 'drop_dst_mac');
  t.truthy(r.ask(ethernet(ETH_ARP, arp(), { dst: BROADCAST_MAC })));
  t.truthy(r.ask(dns4()));
});

test('loopback and our own addresses as the source are dropped, over IPv4 and IPv6', (t) => {
  const r = rig(t);
  droppedAs(t, r, dns4({ src: Uint8Array.of(127, 0, 0, 1) }), 'drop_src_loopback');
  droppedAs(t, r, dns4({ src: Uint8Array.of(127, 9, 9, 9) }), 'drop_src_loopback');
  droppedAs(t, r, dns6({ src: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) }), 'drop_src_loopback');
  droppedAs(t, r, dns4({ src: US4 }), 'drop_src_ours');
  droppedAs(t, r, dns6({ src: US6 }), 'drop_src_ours');
});

test('UDP from source port 0 is dropped, over IPv4 and IPv6', (t) => {
  const r = rig(t);
  droppedAs(t, r, dns4({ sport: 0 }), 'drop_udp_src_port0');
  droppedAs(t, r, dns6({ sport: 0 }), 'drop_udp_src_port0');
});

/** The frame a Linux peer with TX checksum offload sends: the UDP checksum field holds the pseudo-header sum only. */
function offloaded(v6: boolean): Uint8Array {
  const d = udp(v6 ? CLIENT6 : CLIENT4, v6 ? US6 : US4, 40000, 53, Q);
  const sum = refSum(v6 ? pseudo6(CLIENT6, US6, 17, d.length) : pseudo4(CLIENT4, US4, 17, d.length));
  d[6] = sum >> 8;
  d[7] = sum & 0xff;
  return v6 ? ethernet(ETH_IPV6, ipv6(17, d)) : ethernet(ETH_IPV4, ipv4(17, d));
}

test('checksums, auto (the default): the offload form a veth peer sends is answered and counted; a wrong one is still a drop', (t) => {
  const r = rig(t);
  for (const v6 of [false, true]) {
    const before = r.snapshot();
    const reply = r.ask(offloaded(v6));
    t.truthy(reply, v6 ? 'IPv6' : 'IPv4');
    t.deepEqual(r.problems(reply!, offloaded(v6)), []);
    t.is(r.stackDelta(before).udp_csum_offload, 1);
  }
  const bad = dns4();
  bad[14 + 20 + 6]! ^= 0x55;
  droppedAs(t, r, bad, 'drop_udp_checksum');
});

test('checksums, strict: the offload form is a drop', (t) => {
  const r = rig(t, { checksums: CSUM_STRICT });
  droppedAs(t, r, offloaded(false), 'drop_udp_checksum');
  droppedAs(t, r, offloaded(true), 'drop_udp_checksum');
  t.truthy(r.ask(dns4()));
});
