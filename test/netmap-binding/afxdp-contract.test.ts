import test from 'ava';
import { createTopology, isRoot } from '../../appliance/bench/netns.js';
import { attachXdp, openAfXdp } from '../../netmap-binding/afxdp.js';
import { deviceContract } from './helpers/contract.js';

const PORT = 7777;
const RING = 128;

if (!isRoot()) {
  test('AF_XDP device contract (root): skipped, not root', (t) => {
    t.log('SKIPPED: AF_XDP tests need root and network namespaces (CI runs them as root)');
    t.pass();
  });
} else {
  // Both ends of one veth pair, each an AF_XDP socket behind its own program, one queue.
  deviceContract(test, 'AF_XDP (root)', async () => {
    const topo = await createTopology({ queues: 1, tag: 'ctr' });
    const closers: Array<() => Promise<void> | void> = [() => topo.close()];
    try {
      const open = (side: typeof topo.server) => {
        const prog = attachXdp({ iface: side.iface, netns: side.ns, ipv4: [side.ipv4], udpPorts: [PORT] });
        closers.unshift(() => prog.detach());
        const dev = openAfXdp({ iface: side.iface, netns: side.ns, queue: 0, xskMapFd: prog.xskMapFd, frames: 512, ringSize: RING });
        closers.unshift(() => dev.close());
        return dev;
      };
      const a = open(topo.server);
      const b = open(topo.client);
      return {
        a, b, aIp: topo.server.ipv4, bIp: topo.client.ipv4, port: PORT, txRing: RING,
        close: async () => { for (const c of closers) await c(); },
      };
    } catch (e) {
      for (const c of closers) await c();
      throw e;
    }
  });
}
