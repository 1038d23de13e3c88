import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTopology, isRoot, xdpAttached } from '../../appliance/bench/netns.js';
import { openAfXdp } from '../../netmap-binding/afxdp.js';

const HOLDER = fileURLToPath(new URL('./helpers/hold-device.js', import.meta.url));

if (!isRoot()) {
  test('SIGKILL of the device holder (root): skipped, not root', (t) => {
    t.log('SKIPPED: needs root and network namespaces (CI runs it as root)');
    t.pass();
  });
} else {
  test('a child holding the device is SIGKILLed: no program stays attached, and a new open succeeds (root)', async (t) => {
    const topo = await createTopology({ queues: 1, tag: 'kill' });
    t.teardown(() => topo.close());
    const child = spawn(process.execPath, [HOLDER, topo.server.iface, topo.server.ns, topo.server.ipv4], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => { const s = d.toString(); if (s.startsWith('ready')) resolve(s.trim()); });
      child.once('exit', (c) => reject(new Error(`holder exited ${c}: ${stderr}`)));
    });
    t.log(ready);
    t.true(await xdpAttached(topo.server), 'program attached while the child lives');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    t.true(await waitForAsync(async () => !(await xdpAttached(topo.server)), 3000), 'no program attached after SIGKILL');
    const dev = openAfXdp({ iface: topo.server.iface, netns: topo.server.ns, queue: 0, frames: 256, ringSize: 128, serve: { ipv4: [topo.server.ipv4] } });
    t.regex(dev.mode, /xdp/);
    await dev.close();
    t.false(await xdpAttached(topo.server), 'close() detached the program it attached');
  });
}

async function waitForAsync(cond: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
