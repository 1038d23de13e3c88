// Ethernet II and 802.1Q (appliance/wire/ethernet.ts): fixed frames through check, the
// getters and replyFrom().

import test from 'ava';
import { EthernetView, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../../appliance/wire/ethernet.js';
import { DROP_ETH_SHORT, DROP_VLAN_STACKED, OK } from '../../../appliance/stack/counters.js';
import { hex, toHex } from '../../helpers/packets.js';

// An ARP request as it leaves a Linux host: broadcast, from 02:00:00:00:00:0b.
const ARP_FRAME = hex('ffffffffffff | 02000000000b | 0806 | 0001 0800 0604 0001 02000000000b c6120001 000000000000 c612000a');
// The same behind a VLAN tag: priority 5, VID 100 (TCI a064).
const TAGGED = hex('02000000000a | 02000000000b | 8100 a064 | 86dd | 6000000000000000');

const view = (b: Uint8Array, off = 0, len = b.length - off): EthernetView => new EthernetView().wrap(b, off, len);

test('an untagged frame: EtherType, payload, no tag, broadcast destination', (t) => {
  const e = view(ARP_FRAME);
  t.is(e.check(), OK);
  t.is(e.etherType, ETHERTYPE_ARP);
  t.is(e.headerLen, ETHERNET_HEADER_LEN);
  t.is(e.payloadOffset, 14);
  t.is(e.payloadLen, 28);
  t.is(e.vlanTci, -1);
  t.true(e.isMulticastDst());
});

test('a tagged frame: the tag is skipped and its TCI read', (t) => {
  const e = view(TAGGED);
  t.is(e.check(), OK);
  t.is(e.etherType, ETHERTYPE_IPV6);
  t.is(e.headerLen, 18);
  t.is(e.payloadOffset, 18);
  t.is(e.payloadLen, 8);
  t.is(e.vlanTci, 0xa064);
  t.false(e.isMulticastDst());
});

test('a frame inside a larger buffer is read at its offset', (t) => {
  const buf = new Uint8Array(300).fill(0xee);
  buf.set(TAGGED, 123);
  const e = view(buf, 123, TAGGED.length);
  t.is(e.check(), OK);
  t.is(e.etherType, ETHERTYPE_IPV6);
  t.is(e.payloadOffset, 123 + 18);
  t.is(e.vlanTci, 0xa064);
});

test('wrap() forgets the previous frame\'s tag', (t) => {
  const e = new EthernetView();
  e.wrap(TAGGED, 0, TAGGED.length).check();
  e.wrap(ARP_FRAME, 0, ARP_FRAME.length);
  t.is(e.check(), OK);
  t.is(e.headerLen, 14);
  t.is(e.etherType, ETHERTYPE_ARP);
});

test('malformed: short frames, short tags, stacked tags', (t) => {
  t.is(view(ARP_FRAME, 0, 13).check(), DROP_ETH_SHORT);
  t.is(view(ARP_FRAME, 0, 0).check(), DROP_ETH_SHORT);
  t.is(view(ARP_FRAME, 0, 14).check(), OK, 'a bare header is a frame (the next layer finds it short)');
  t.is(view(TAGGED, 0, 17).check(), DROP_ETH_SHORT, 'a tag without its inner EtherType');
  t.is(view(TAGGED, 0, 18).check(), OK);
  const v4 = view(hex('02000000000a 02000000000b 8100 0064 0800'));
  t.is(v4.check(), OK);
  t.is(v4.etherType, ETHERTYPE_IPV4);
  t.is(view(hex('02000000000a 02000000000b 8100 0064 8100 0065 0800 4500')).check(), DROP_VLAN_STACKED, '802.1Q in 802.1Q');
  t.is(view(hex('02000000000a 02000000000b 8100 0064 88a8 0065 0800 4500')).check(), DROP_VLAN_STACKED, '802.1ad inside 802.1Q');
  t.is(view(hex('02000000000a 02000000000b 88a8 0064 8100 0065 0800 4500')).check(), DROP_VLAN_STACKED, 'an 802.1ad S-tag');
});

test('other EtherTypes pass the check: the stack, not the view, decides what it serves', (t) => {
  const lldp = view(hex('0180c200000e 02000000000b 88cc 0000'));
  t.is(lldp.check(), OK);
  t.is(lldp.etherType, 0x88cc);
  const dot3 = view(hex('02000000000a 02000000000b 002e aaaa03'));
  t.is(dot3.check(), OK);
  t.is(dot3.etherType, 0x002e, 'an 802.3 length field reads as a type the stack will not know');
});

test('replyFrom: back to the source, from our MAC, the tag and payload untouched', (t) => {
  const f = Uint8Array.from(TAGGED);
  const e = view(f);
  t.is(e.check(), OK);
  e.replyFrom(hex('02000000000a'));
  t.is(toHex(f), toHex(hex('02000000000b | 02000000000a | 8100 a064 | 86dd | 6000000000000000')));
  const g = Uint8Array.from(ARP_FRAME);
  view(g).replyFrom(hex('0a0b0c0d0e0f'));
  t.is(toHex(g.subarray(0, 14)), '02000000000b0a0b0c0d0e0f0806');
  t.is(view(g).etherType, ETHERTYPE_ARP);
});
