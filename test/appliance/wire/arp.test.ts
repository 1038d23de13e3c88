// ARP (appliance/wire/arp.ts): RFC 826 requests for Ethernet/IPv4, checked, read and
// turned into their replies.

import test from 'ava';
import { ArpView, ARP_LEN, ARP_REPLY, ARP_REQUEST } from '../../../appliance/wire/arp.js';
import { DROP_ARP_MALFORMED, OK } from '../../../appliance/stack/counters.js';
import { hex, toHex } from '../../helpers/packets.js';

// "Who has 198.18.0.10? Tell 198.18.0.1 (02:00:00:00:00:0b)."
const REQUEST = '0001 0800 06 04 0001 | 02000000000b c6120001 | 000000000000 c612000a';
// Its answer from 02:00:00:00:00:0a.
const REPLY = '0001 0800 06 04 0002 | 02000000000a c612000a | 02000000000b c6120001';

const view = (b: Uint8Array, off = 0, len = b.length - off): ArpView => new ArpView().wrap(b, off, len);

test('a request: checked, operation and target address read', (t) => {
  const a = view(hex(REQUEST));
  t.is(ARP_LEN, 28);
  t.is(a.check(), OK);
  t.is(a.oper, ARP_REQUEST);
  t.is(a.tpa, 0xc612000a);
});

test('a request padded to the Ethernet minimum passes; the padding is not read', (t) => {
  const padded = new Uint8Array(46);
  padded.set(hex(REQUEST));
  t.is(view(padded).check(), OK);
});

test('a high target address reads as an unsigned u32', (t) => {
  const b = hex(REQUEST);
  b.set([0xff, 0xff, 0xff, 0xfe], 24);
  t.is(view(b).tpa, 0xfffffffe);
});

test('answerRequest: operation 2, our MAC as sender, the requester as target', (t) => {
  const b = hex(REQUEST);
  const a = view(b);
  t.is(a.check(), OK);
  a.answerRequest(hex('02000000000a'));
  t.is(toHex(b), toHex(hex(REPLY)));
  t.is(a.oper, ARP_REPLY);
  t.is(a.tpa, 0xc6120001);
});

test('answerRequest at an offset touches only its 28 bytes', (t) => {
  const buf = new Uint8Array(64).fill(0xee);
  buf.set(hex(REQUEST), 18);
  view(buf, 18, 28).answerRequest(hex('02000000000a'));
  t.is(toHex(buf.subarray(18, 46)), toHex(hex(REPLY)));
  t.true(buf.subarray(0, 18).every((x) => x === 0xee) && buf.subarray(46).every((x) => x === 0xee));
});

test('malformed: short, or not Ethernet/IPv4', (t) => {
  const mutate = (at: number, v: number): Uint8Array => {
    const b = hex(REQUEST);
    b[at] = v;
    return b;
  };
  t.is(view(hex(REQUEST), 0, 27).check(), DROP_ARP_MALFORMED, 'one byte short');
  t.is(view(new Uint8Array(0)).check(), DROP_ARP_MALFORMED);
  t.is(view(mutate(1, 6)).check(), DROP_ARP_MALFORMED, 'hardware type 6 (IEEE 802)');
  t.is(view(mutate(0, 1)).check(), DROP_ARP_MALFORMED, 'hardware type 0x0101');
  t.is(view(hex('0001 86dd 06 10 0001 02000000000b c6120001 000000000000 c612000a')).check(), DROP_ARP_MALFORMED, 'protocol IPv6');
  t.is(view(mutate(3, 0x06)).check(), DROP_ARP_MALFORMED, 'protocol 0x0806');
  t.is(view(mutate(4, 8)).check(), DROP_ARP_MALFORMED, 'hardware length 8');
  t.is(view(mutate(5, 16)).check(), DROP_ARP_MALFORMED, 'protocol length 16');
});

test('the view does not judge the operation: replies and RARP pass check()', (t) => {
  const reply = view(hex(REPLY));
  t.is(reply.check(), OK);
  t.is(reply.oper, ARP_REPLY);
  const b = hex(REQUEST);
  b[7] = 3; // RARP request (RFC 903)
  t.is(view(b).check(), OK);
  t.is(view(b).oper, 3);
});
