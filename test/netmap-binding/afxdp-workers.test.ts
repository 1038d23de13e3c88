import test from 'ava';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createTopology, isRoot } from '../../appliance/bench/netns.js';
import { attachXdp } from '../../netmap-binding/afxdp.js';

const WORKER = fileURLToPath(new URL('./helpers/queue-worker.js', import.meta.url));
const PORT = 7777;

if (!isRoot()) {
  test('one socket per queue from two worker threads (root): skipped, not root', (t) => {
    t.log('SKIPPED: needs root and network namespaces (CI runs it as root)');
    t.pass();
  });
} else {
  test('one socket per queue from two worker threads at once (root)', async (t) => {
    const topo = await createTopology({ queues: 2, tag: 'wrk' });
    t.teardown(() => topo.close());
    // The supervisor attaches; workers register their sockets by the map's fd number.
    const ps = attachXdp({ iface: topo.server.iface, netns: topo.server.ns, ipv4: [topo.server.ipv4], udpPorts: [PORT] });
    t.teardown(() => ps.detach());
    const pc = attachXdp({ iface: topo.client.iface, netns: topo.client.ns, ipv4: [topo.client.ipv4], udpPorts: [PORT] });
    t.teardown(() => pc.detach());
    const cpus = availableParallelism();
    const results = await Promise.all([0, 1].map((queue) => new Promise<Record<string, number>>((resolve, reject) => {
      const w = new Worker(WORKER, {
        workerData: {
          queue, cpu: queue % cpus, port: PORT, count: 24,
          server: { ns: topo.server.ns, iface: topo.server.iface, ip: topo.server.ipv4, mapFd: ps.xskMapFd },
          client: { ns: topo.client.ns, iface: topo.client.iface, ip: topo.client.ipv4, mapFd: pc.xskMapFd },
        },
      });
      const timer = setTimeout(() => { void w.terminate(); reject(new Error(`worker ${queue} timed out`)); }, 20_000);
      w.once('message', (m: Record<string, number>) => { clearTimeout(timer); resolve(m); });
      w.once('error', (e) => { clearTimeout(timer); reject(e); });
    })));
    for (const r of results) {
      t.log(JSON.stringify(r));
      t.is(r.sent, 24);
      t.is(r.answered, 24, `queue ${r.queue}: every frame arrived on its own queue`);
      t.is(r.replies, 24);
      t.is(r.payloadLen, 80 + r.queue!);
      t.is(r.cpu, r.queue! % cpus, 'the worker pinned itself');
    }
  });
}
