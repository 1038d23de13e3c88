// AF_XDP against a real peer: the kernel in the client namespace pings, resolves and sends
// datagrams; JS answers from the rings; the kernel keeps what the appliance does not serve.
import test from 'ava';
import { setImmediate as tick } from 'node:timers/promises';
import { createTopology, isRoot, stopProcess, type Topology } from '../../appliance/bench/netns.js';
import { BATCH, type Device } from '../../netmap-binding/device.js';
import { attachXdp, openAfXdp, type XdpProgram } from '../../netmap-binding/afxdp.js';
import { answerInPlace, responder, type Responder } from './helpers/frames.js';

const PORT = 7777;
const KERNEL_PORT = 7778;
const KERNEL_ONLY_IP = '198.18.0.3';

const UDP_CLIENT = `
const [host, port, text] = process.argv.slice(1);
const s = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.on('message', (m) => { process.stdout.write(m.toString()); process.exit(0); });
const send = () => s.send(Buffer.from(text), Number(port), host);
send(); const again = setInterval(send, 300);
setTimeout(() => process.exit(2), 3000);
`;
const UDP_ECHO_SERVER = `
const s = require('dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(process.argv[2]), process.argv[1], () => console.log('listening'));
setTimeout(() => process.exit(0), 20000);
`;

if (!isRoot()) {
  test('AF_XDP with a kernel peer (root): skipped, not root', (t) => {
    t.log('SKIPPED: needs root and network namespaces (CI runs it as root)');
    t.pass();
  });
} else {
  let topo: Topology;
  let prog: XdpProgram;
  let devs: Device[] = [];
  let r: Responder;
  let pumping = false;
  let pump: Promise<void> = Promise.resolve();

  test.before(async () => {
    topo = await createTopology({ queues: 2, tag: 'afx', serverExtraIpv4: [KERNEL_ONLY_IP] });
    prog = attachXdp({ iface: topo.server.iface, netns: topo.server.ns, ipv4: [topo.server.ipv4], ipv6: [topo.server.ipv6], udpPorts: [PORT] });
    devs = [0, 1].map((queue) => openAfXdp({ iface: topo.server.iface, netns: topo.server.ns, queue, xskMapFd: prog.xskMapFd, frames: 1024, ringSize: 256 }));
    r = responder(devs[0]!.mac, topo.server.ipv4);
    // Answers on every queue until stopped, yielding to the event loop between batches.
    pumping = true;
    pump = (async () => {
      const addrs = new Uint32Array(BATCH);
      const lens = new Uint32Array(BATCH);
      while (pumping) {
        let busy = 0;
        for (const d of devs) {
          const n = d.receive(addrs, lens, BATCH);
          let k = 0;
          for (let i = 0; i < n; i++) {
            const len = answerInPlace(r, d.mem, addrs[i]!, lens[i]!);
            if (len > 0) {
              addrs[k] = addrs[i]!;
              lens[k++] = len;
            } else d.release(addrs, 1, i);
          }
          d.transmit(addrs, lens, k);
          d.flush();
          busy += n;
        }
        await (busy ? tick() : new Promise((res) => setTimeout(res, 1)));
      }
    })();
  });

  test.after.always(async () => {
    pumping = false;
    await pump;
    for (const d of devs) await d.close();
    prog?.detach();
    await topo?.close();
  });

  test.serial('an ARP request and pings from the peer\'s kernel arrive in the rings; the replies JS writes reach it intact (root)', async (t) => {
    const out = await topo.run(topo.client.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', topo.server.ipv4], 15_000);
    t.regex(out, /3 received/);
    t.true(r.seen.arp >= 1, 'ARP request seen');
    t.is(r.seen.icmp, 3);
  });

  test.serial('a UDP datagram from the peer\'s kernel arrives; the echo JS writes (full checksum) is delivered (root)', async (t) => {
    const before = r.seen.udp;
    const out = await topo.run(topo.client.ns, 'node', ['-e', UDP_CLIENT, topo.server.ipv4, String(PORT), 'hello over AF_XDP'], 10_000);
    t.is(out, 'hello over AF_XDP');
    t.true(r.seen.udp > before);
  });

  test.serial('IPv6: a neighbour solicitation for our address arrives; echo and UDP over IPv6 come back intact (root)', async (t) => {
    // Nobody answers the NS here (the stack will); ping once to make the kernel send it.
    await topo.run(topo.client.ns, 'ping', ['-6', '-c', '1', '-W', '1', topo.server.ipv6], 5000).catch(() => '');
    t.true(r.seen.ns >= 1, 'neighbour solicitation seen');
    await topo.run(topo.client.ns, 'ip', ['-6', 'neigh', 'replace', topo.server.ipv6, 'lladdr', topo.server.mac, 'dev', topo.client.iface, 'nud', 'permanent']);
    const out = await topo.run(topo.client.ns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', topo.server.ipv6], 10_000);
    t.regex(out, /2 received/);
    const echo = await topo.run(topo.client.ns, 'node', ['-e', UDP_CLIENT, topo.server.ipv6, String(PORT), 'v6 hello'], 10_000);
    t.is(echo, 'v6 hello');
  });

  test.serial('traffic not addressed to the appliance still reaches the kernel on the same interface (root)', async (t) => {
    const server = topo.spawn(topo.server.ns, 'node', ['-e', UDP_ECHO_SERVER, topo.server.ipv4, String(KERNEL_PORT)]);
    t.teardown(() => stopProcess(server));
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      server.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
    });
    const udpBefore = r.seen.udp;
    // Same address as the appliance, another port: the kernel's socket answers.
    const out = await topo.run(topo.client.ns, 'node', ['-e', UDP_CLIENT, topo.server.ipv4, String(KERNEL_PORT), 'to the kernel'], 10_000);
    t.is(out, 'to the kernel');
    t.is(r.seen.udp, udpBefore, 'the appliance saw none of it');
    // An address the appliance does not own: ARP and ping answered by the kernel.
    const icmpBefore = r.seen.icmp;
    const ping = await topo.run(topo.client.ns, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', KERNEL_ONLY_IP], 10_000);
    t.regex(ping, /2 received/);
    t.is(r.seen.icmp, icmpBefore);
  });
}
