import test from 'ava';
import dnsPacket from 'dns-packet';
import { finish, partialSum } from '../../../basics/checksum.js';
import { reflect } from '../../../appliance/bench/reflector.js';
import { createPipe } from '../../../netmap-binding/pipe.js';
import { receiveFrames, sendFrames } from '../../../netmap-binding/device-util.js';
import { udp4 } from '../../netmap-binding/helpers/frames.js';

test('reflect() answers a query in place with a valid frame (checksums, addresses, DNS answer)', (t) => {
  const [a, b] = createPipe();
  const query = dnsPacket.encode({ type: 'query', id: 0xbeef, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www.bench.test' }] });
  const frame = udp4({ srcMac: b.mac, dstMac: a.mac, src: '198.18.0.2', dst: '198.18.0.1', sport: 40001, dport: 53, payload: query });
  sendFrames(b, [frame]);
  const addrs = new Uint32Array(1);
  const lens = new Uint32Array(1);
  t.is(a.receive(addrs, lens, 1), 1);
  lens[0] = reflect(a.mem, addrs[0]!, lens[0]!, a.maxFrameLen);
  t.true(lens[0]! > 0);
  a.transmit(addrs, lens, 1);
  a.flush();
  const [reply] = receiveFrames(b);
  const f = reply!;
  t.deepEqual(f.subarray(0, 6), b.mac);
  t.deepEqual([...f.subarray(26, 34)], [198, 18, 0, 1, 198, 18, 0, 2]);
  t.is(finish(partialSum(f, 14, 20)), 0, 'IPv4 header checksum');
  const udpLen = (f[38]! << 8) | f[39]!;
  t.is(finish(partialSum(f, 34, udpLen, partialSum(f, 26, 8, 17 + udpLen))), 0, 'UDP checksum');
  t.is((f[36]! << 8) | f[37]!, 40001);
  const msg = dnsPacket.decode(Buffer.from(f.subarray(42)));
  t.is(msg.id, 0xbeef);
  t.is(msg.type, 'response');
  t.true(msg.flag_aa);
  t.true(msg.flag_rd);
  t.is(msg.answers?.[0]?.name, 'www.bench.test');
  t.is((msg.answers?.[0] as { data?: string }).data, '198.18.0.1');
});

test('reflect() drops what is not a query to port 53, without throwing', (t) => {
  const mem = new Uint8Array(2048);
  t.is(reflect(mem, 0, 60, 1792), 0);
  const f = udp4({ srcMac: new Uint8Array(6), dstMac: new Uint8Array(6), src: '198.18.0.2', dst: '198.18.0.1', sport: 1, dport: 54, payload: new Uint8Array(20) });
  mem.set(f);
  t.is(reflect(mem, 0, f.length, 1792), 0);
  for (let cut = 0; cut < 60; cut++) t.notThrows(() => reflect(mem, 0, cut, 1792));
});
