// TCP headers (appliance/wire/tcp.ts): RFC 9293 §3.1 fields read from fixed segments, the
// checksum over IPv4 and IPv6 pseudo-headers (and the offload form), options read in one
// pass (MSS, window scale, SACK-permitted, timestamps, NOPs, END) and malformed lists
// refused, headers written on a dirty buffer.

import test from 'ava';
import { TcpView, writeSynOptions, writeTcpHeader, ACK, PSH, SYN } from '../../../appliance/wire/tcp.js';
import { CSUM_AUTO, CSUM_OFF, CSUM_STRICT, DROP_TCP_CHECKSUM, DROP_TCP_MALFORMED, DROP_TCP_OPTIONS, OK, TCP_CSUM_OFFLOAD } from '../../../appliance/wire/reasons.js';
import { hex, pseudo4, pseudo6, refSum, sumsToOnes, tcp, toHex } from '../../helpers/packets.js';

const C4 = hex('c6120001'), U4 = hex('c612000a');
const C6 = hex('20010db8000000000000000000000001'), U6 = hex('20010db8000000000000000000000010');
// A Linux SYN: MSS 1460, SACK-permitted, timestamps, NOP, window scale 7 (20 bytes of options).
const SYN_OPTS = hex('020405b4 0402 080a00000001 00000000 01 030307');
const view = (b: Uint8Array): TcpView => new TcpView().wrap(b, 0, b.length);

test('a SYN with every option: fields, and the options read in one pass', (t) => {
  const s = tcp(C4, U4, { sport: 40000, dport: 53, seq: 0xfffffff0, ack: 0, flags: SYN, window: 64240, options: SYN_OPTS });
  t.is(toHex(s.subarray(0, 20)), '9c400035fffffff000000000a002faf0' + toHex(s.subarray(16, 18)) + '0000');
  const v = view(s);
  t.is(v.check(CSUM_STRICT, refSum(pseudo4(C4, U4, 6, s.length))), OK);
  t.is(v.parseOptions(), OK);
  t.is(v.srcPort, 40000);
  t.is(v.dstPort, 53);
  t.is(v.seq, 0xfffffff0);
  t.is(v.flags, SYN);
  t.is(v.window, 64240);
  t.is(v.headerLen, 40);
  t.is(v.payloadLen, 0);
  t.is(v.mss, 1460);
  t.is(v.wscale, 7);
  t.true(v.sackOk);
  t.true(v.timestamps);
});

test('data over IPv6: the checksum over the IPv6 pseudo-header; a flipped byte is a drop; the offload form passes in auto only', (t) => {
  const data = hex('001d 1234 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001');
  const s = tcp(C6, U6, { sport: 40000, dport: 53, seq: 1, ack: 2, flags: ACK | PSH }, data);
  const ph = refSum(pseudo6(C6, U6, 6, s.length));
  t.true(sumsToOnes(pseudo6(C6, U6, 6, s.length), s));
  t.is(view(s).check(CSUM_STRICT, ph), OK);
  t.is(view(s).payloadLen, data.length);
  const bad = Uint8Array.from(s);
  bad[25]! ^= 1;
  t.is(view(bad).check(CSUM_STRICT, ph), DROP_TCP_CHECKSUM);
  t.is(view(bad).check(CSUM_OFF, ph), OK);
  const partial = Uint8Array.from(s);
  partial[16] = ph >> 8;
  partial[17] = ph & 0xff;
  t.is(view(partial).check(CSUM_AUTO, ph), TCP_CSUM_OFFLOAD);
  t.is(view(partial).check(CSUM_STRICT, ph), DROP_TCP_CHECKSUM);
});

test('malformed: shorter than a header, a data offset under 5 or past the segment, option lists that overrun', (t) => {
  t.is(view(new Uint8Array(19)).check(CSUM_OFF, 0), DROP_TCP_MALFORMED);
  const s = tcp(C4, U4, { sport: 1, dport: 53, seq: 1, ack: 0, flags: SYN });
  const lowOff = Uint8Array.from(s);
  lowOff[12] = 4 << 4;
  t.is(view(lowOff).check(CSUM_OFF, 0), DROP_TCP_MALFORMED);
  const highOff = Uint8Array.from(s);
  highOff[12] = 6 << 4;
  t.is(view(highOff).check(CSUM_OFF, 0), DROP_TCP_MALFORMED);
  for (const opts of ['02040000', '0203 0000', '0303 0000', '0000 0000', '01 01 01 08', '0402 01 03', '08 02 0000']) {
    const o = hex(opts);
    const seg = tcp(C4, U4, { sport: 1, dport: 53, seq: 1, ack: 0, flags: SYN, options: o });
    const v = view(seg);
    t.is(v.check(CSUM_OFF, 0), OK);
    const r = v.parseOptions();
    const expected = ['0203 0000', '01 01 01 08', '0402 01 03', '08 02 0000'].includes(opts) ? DROP_TCP_OPTIONS : OK;
    t.is(r, expected, opts);
  }
  // A window scale above 14 is taken as 14 (RFC 7323 §2.3).
  const ws = view(tcp(C4, U4, { sport: 1, dport: 53, seq: 1, ack: 0, flags: SYN, options: hex('01 030320') }));
  t.is(ws.parseOptions(), OK);
  t.is(ws.wscale, 14);
});

test('writeTcpHeader and writeSynOptions on a dirty buffer give exactly the fields', (t) => {
  const b = new Uint8Array(40).fill(0xee);
  const n = writeSynOptions(b, 20, 1460, 0, true);
  t.is(n, 12);
  writeTcpHeader(b, 0, 53, 40000, 0xfffffff0, 0x11223344, SYN | ACK, 65535, n);
  t.is(toHex(b.subarray(0, 32)), '00359c40fffffff011223344' + '8012ffff' + '00000000' + '020405b4 01030300 01010402'.replace(/ /g, ''));
  const v = new TcpView().wrap(b, 0, 32);
  t.is(v.parseOptions(), OK);
  t.is(v.mss, 1460);
  t.is(v.wscale, 0);
  t.true(v.sackOk);
});
