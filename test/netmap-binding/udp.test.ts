// Batched UDP through the binding (recvmmsg/sendmmsg, src/udp.c), on loopback: a batch in
// and out with each peer's address, both families, a datagram longer than a slot dropped
// (length 0), sockets sharing a port with SO_REUSEPORT and refused without it (the errno
// named), answers to an address the kernel refuses counted, not thrown.

import test from 'ava';
import dgram from 'node:dgram';
import { UdpBatchSocket, UDP_BATCH, UDP_SLOT } from '../../netmap-binding/udp.js';

function client(v6 = false): Promise<dgram.Socket> {
  const c = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  return new Promise((r) => c.bind(0, v6 ? '::1' : '127.0.0.1', () => r(c)));
}

/** Receives until `n` datagrams came (or 2 s went by), letting the event loop send the client's meanwhile. */
async function receiveAll(s: UdpBatchSocket, n: number): Promise<number[]> {
  const got: number[] = [];
  const end = Date.now() + 2000;
  while (got.length < n && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
    const k = s.receive(0);
    for (let i = 0; i < k; i++) got.push(s.lens[i]!);
  }
  return got;
}

test('a batch of datagrams in one call, each with its peer; answers written in place go back to each', async (t) => {
  const s = UdpBatchSocket.open('127.0.0.1', 0, false);
  const c = await client();
  try {
    const echoes: string[] = [];
    c.on('message', (m) => echoes.push(m.toString()));
    for (let i = 0; i < 10; i++) c.send(`q${i}`, s.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    const n = s.receive(100);
    t.is(n, 10, 'one recvmmsg took them all');
    for (let i = 0; i < n; i++) {
      t.is(s.lens[i], 2);
      t.false(s.isV6(i));
      t.is(s.peerPort(i), c.address().port);
      t.deepEqual([...s.names.subarray(s.peerAt(i), s.peerAt(i) + 4)], [127, 0, 0, 1]);
      // The answer, in place: "a" + the query.
      const at = i * UDP_SLOT;
      s.bufs.copyWithin(at + 1, at, at + 2);
      s.bufs[at] = 0x61;
      s.lens[i] = 3;
    }
    t.is(s.send(n), 10);
    await new Promise((r) => setTimeout(r, 100));
    t.deepEqual(echoes.sort(), Array.from({ length: 10 }, (_, i) => `aq${i}`).sort());
    t.is(s.receive(0), 0, 'nothing more: 0 at once');
  } finally {
    c.close();
    s.close();
  }
});

test('IPv6, and a dual-stack socket sees an IPv4 client as IPv4 (mapped)', async (t) => {
  const s6 = UdpBatchSocket.open('::1', 0, false);
  const c6 = await client(true);
  const dual = UdpBatchSocket.open('::', 0, false);
  const c4 = await client();
  try {
    c6.send('x', s6.port, '::1');
    t.deepEqual(await receiveAll(s6, 1), [1]);
    t.true(s6.isV6(0));
    t.deepEqual([...s6.names.subarray(s6.peerAt(0), s6.peerAt(0) + 16)], [...new Uint8Array(15), 1]);
    c4.send('y', dual.port, '127.0.0.1');
    t.deepEqual(await receiveAll(dual, 1), [1]);
    t.false(dual.isV6(0));
    t.deepEqual([...dual.names.subarray(dual.peerAt(0), dual.peerAt(0) + 4)], [127, 0, 0, 1]);
    t.is(dual.peerPort(0), c4.address().port);
  } finally {
    c6.close();
    c4.close();
    s6.close();
    dual.close();
  }
});

test('a datagram longer than a slot is not passed on half: its length is 0', async (t) => {
  const s = UdpBatchSocket.open('127.0.0.1', 0, false);
  const c = await client();
  try {
    c.send(Buffer.alloc(UDP_SLOT + 100, 1), s.port, '127.0.0.1');
    c.send(Buffer.alloc(12, 2), s.port, '127.0.0.1');
    t.deepEqual(await receiveAll(s, 2), [0, 12]);
  } finally {
    c.close();
    s.close();
  }
});

test('sockets share a port with SO_REUSEPORT; without it the second is refused, its errno named', (t) => {
  const a = UdpBatchSocket.open('127.0.0.1', 0, true);
  const b = UdpBatchSocket.open('127.0.0.1', a.port, true);
  try {
    t.is(b.port, a.port);
    const e = t.throws(() => UdpBatchSocket.open('127.0.0.1', a.port, false));
    t.regex(e!.message, /EADDRINUSE/);
    t.is((e as Error & { code?: string }).code, 'APPL_ERR_XDP_OPEN');
  } finally {
    a.close();
    b.close();
  }
});

test('an answer to an address the kernel will not send to is counted as refused, and the rest go', async (t) => {
  const s = UdpBatchSocket.open('127.0.0.1', 0, false);
  const c = await client();
  try {
    const got: string[] = [];
    c.on('message', (m) => got.push(m.toString()));
    c.send('a', s.port, '127.0.0.1');
    c.send('b', s.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    t.is(s.receive(100), 2, 'both in one batch');
    // Slot 0's peer becomes a broadcast address (sendto refuses it without SO_BROADCAST).
    s.names.set([255, 255, 255, 255], s.peerAt(0));
    t.is(s.send(2), 1);
    t.is(s.refused, 1);
    await new Promise((r) => setTimeout(r, 100));
    t.deepEqual(got, ['b']);
    t.is(UDP_BATCH, 64);
  } finally {
    c.close();
    s.close();
  }
});
