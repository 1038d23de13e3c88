// The DNS header (appliance/wire/dns.ts): field offsets and flag bits against messages
// encoded by dns-packet, and the 16-bit accessors.

import test from 'ava';
import dnsPacket from 'dns-packet';
import {
  DNS_ANCOUNT, DNS_ARCOUNT, DNS_FLAGS, DNS_HEADER_LEN, DNS_ID, DNS_NSCOUNT, DNS_QDCOUNT, FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA,
  FLAG_RD, FLAG_TC, OPCODE_MASK, OPCODE_SHIFT, RCODE_NXDOMAIN, RCODE_REFUSED, setU16, u16,
} from '../../../appliance/wire/dns.js';

test('header fields sit where dns-packet writes them', (t) => {
  const b = dnsPacket.encode({
    type: 'response', id: 0xbeef, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED | RCODE_NXDOMAIN,
    questions: [{ type: 'A', name: 'www.example.com' }],
    answers: [{ type: 'A', name: 'www.example.com', data: '198.18.0.10' }, { type: 'A', name: 'www.example.com', data: '198.18.0.11' }],
    authorities: [{ type: 'NS', name: 'example.com', data: 'ns1.example.com' }],
    additionals: [{ type: 'A', name: 'ns1.example.com', data: '198.18.0.2' }, { type: 'A', name: 'ns2.example.com', data: '198.18.0.3' }, { type: 'A', name: 'ns3.example.com', data: '198.18.0.4' }],
  });
  t.true(b.length > DNS_HEADER_LEN);
  t.is(u16(b, DNS_ID), 0xbeef);
  const flags = u16(b, DNS_FLAGS);
  t.truthy(flags & FLAG_QR);
  t.truthy(flags & FLAG_AA);
  t.truthy(flags & FLAG_RD);
  t.truthy(flags & FLAG_CD);
  t.falsy(flags & (FLAG_TC | FLAG_RA | FLAG_AD));
  t.is(flags & 0xf, RCODE_NXDOMAIN);
  t.is(u16(b, DNS_QDCOUNT), 1);
  t.is(u16(b, DNS_ANCOUNT), 2);
  t.is(u16(b, DNS_NSCOUNT), 1);
  t.is(u16(b, DNS_ARCOUNT), 3);
});

test('flag bits and the opcode as dns-packet decodes them', (t) => {
  const b = new Uint8Array(DNS_HEADER_LEN);
  setU16(b, DNS_FLAGS, FLAG_QR | (5 << OPCODE_SHIFT) | FLAG_TC | FLAG_RA | FLAG_AD | RCODE_REFUSED);
  // dns-packet decodes opcode and rcode, its typings do not declare them.
  const d = dnsPacket.decode(Buffer.from(b)) as dnsPacket.DecodedPacket & { opcode: string; rcode: string };
  t.is(d.type, 'response');
  t.is(d.opcode, 'UPDATE');
  t.true(d.flag_tc);
  t.true(d.flag_ra);
  t.true(d.flag_ad);
  t.false(d.flag_aa);
  t.is(d.rcode, 'REFUSED');
  t.is((u16(b, DNS_FLAGS) >> OPCODE_SHIFT) & OPCODE_MASK, 5);
});

test('u16 and setU16 are big-endian and keep to their two bytes', (t) => {
  const b = new Uint8Array(4).fill(0xee);
  setU16(b, 1, 0xabcd);
  t.deepEqual([...b], [0xee, 0xab, 0xcd, 0xee]);
  t.is(u16(b, 1), 0xabcd);
  setU16(b, 1, 0x1ffff & 0xffff);
  t.is(u16(b, 1), 0xffff);
});

test('DnsHeaderView: check before reading, the fields, and the response header written in place', async (t) => {
  const { DnsHeaderView } = await import('../../../appliance/wire/dns.js');
  const q = dnsPacket.encode({ type: 'query', id: 0x1234, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www.example.com' }] });
  const buf = new Uint8Array(q.length + 5);
  buf.set(q, 5);
  const h = new DnsHeaderView();
  t.false(h.wrap(buf, 5, 11).check());
  t.true(h.wrap(buf, 5, q.length).check());
  t.is(h.id, 0x1234);
  t.is(h.flags & FLAG_RD, FLAG_RD);
  t.deepEqual([h.qdcount, h.ancount, h.nscount, h.arcount], [1, 0, 0, 0]);
  h.setResponse(FLAG_RD | FLAG_AA, RCODE_REFUSED, 1, 2, 3, 4);
  t.is(h.id, 0x1234);
  t.is(h.flags, FLAG_QR | FLAG_RD | FLAG_AA | RCODE_REFUSED);
  t.deepEqual([h.qdcount, h.ancount, h.nscount, h.arcount], [1, 2, 3, 4]);
  t.is(buf[4], 0, 'nothing written before the header');
});
