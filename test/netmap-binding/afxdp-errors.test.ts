import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTopology, isRoot, type Topology } from '../../appliance/bench/netns.js';
import { attachXdp, openAfXdp } from '../../netmap-binding/afxdp.js';
import { XdpError } from '../../netmap-binding/loader.js';

const TRY_OPEN = fileURLToPath(new URL('./helpers/try-open.js', import.meta.url));
const run = promisify(execFile);

function xdpError(t: { true: (v: boolean, m?: string) => void }, fn: () => unknown): XdpError {
  try {
    fn();
  } catch (e) {
    t.true(e instanceof XdpError, `an XdpError, got ${String(e)}`);
    return e as XdpError;
  }
  throw new Error('did not throw');
}

test('no such interface: APPL_ERR_XDP_IFACE from if_nametoindex', (t) => {
  const e = xdpError(t, () => openAfXdp({ iface: 'nosuch0', queue: 0 }));
  t.is(e.code, 'APPL_ERR_XDP_IFACE');
  t.is(e.syscall, 'if_nametoindex');
  t.is(e.errnoName, 'ENODEV');
  t.regex(e.message, /no network interface named "nosuch0".*ip link/);
});

if (!isRoot()) {
  test('AF_XDP error cases (root): skipped, not root', (t) => {
    t.log('SKIPPED: the remaining error cases need root and network namespaces (CI runs them as root)');
    t.pass();
  });
} else {
  let topo: Topology;
  test.before(async () => { topo = await createTopology({ queues: 2, tag: 'err' }); });
  test.after.always(async () => { await topo?.close(); });
  const base = () => ({ iface: topo.server.iface, netns: topo.server.ns, frames: 256, ringSize: 128 });

  test.serial('not root (all capabilities dropped): APPL_ERR_XDP_PERMISSION from socket (root)', async (t) => {
    // Root without capabilities, in the root namespace, on lo: socket() is refused before anything binds.
    const { stdout } = await run('setpriv', ['--bounding-set=-all', '--inh-caps=-all', process.execPath, TRY_OPEN, JSON.stringify({ iface: 'lo', queue: 0, frames: 256, ringSize: 128 })], { timeout: 20_000 });
    const r = JSON.parse(stdout) as Record<string, unknown>;
    t.is(r.code, 'APPL_ERR_XDP_PERMISSION');
    t.is(r.syscall, 'socket(AF_XDP)');
    t.is(r.errnoName, 'EPERM');
    t.regex(String(r.message), /run as root/);
  });

  test.serial('no AF_XDP in the kernel: APPL_ERR_XDP_UNSUPPORTED from socket (root)', (t) => {
    // The kernel has AF_XDP here; an address family it does not know takes the same path.
    const e = xdpError(t, () => openAfXdp({ ...base(), queue: 0, socketFamily: 255 }));
    t.is(e.code, 'APPL_ERR_XDP_UNSUPPORTED');
    t.is(e.syscall, 'socket(AF_XDP)');
    t.is(e.errnoName, 'EAFNOSUPPORT');
    t.regex(e.message, /kernel-socket backend/);
  });

  test.serial('queue out of range: APPL_ERR_XDP_QUEUE from bind (root)', (t) => {
    const e = xdpError(t, () => openAfXdp({ ...base(), queue: 5 }));
    t.is(e.code, 'APPL_ERR_XDP_QUEUE');
    t.is(e.syscall, 'bind');
    t.is(e.errnoName, 'EINVAL');
    t.regex(e.message, /2 RX queue\(s\) \(0\.\.1\); queue 5 is out of range/);
  });

  test.serial('UMEM registration refused: APPL_ERR_XDP_UMEM from setsockopt(XDP_UMEM_REG) (root)', (t) => {
    const e = xdpError(t, () => openAfXdp({ ...base(), queue: 0, frameSize: 1024 }));
    t.is(e.code, 'APPL_ERR_XDP_UMEM');
    t.is(e.syscall, 'setsockopt(XDP_UMEM_REG)');
    t.is(e.errnoName, 'EINVAL');
    t.regex(e.message, /power of two from 2048/);
  });

  test.serial('another program already attached: APPL_ERR_XDP_BUSY saying how to remove it (root)', (t) => {
    const first = attachXdp({ iface: topo.server.iface, netns: topo.server.ns, ipv4: [topo.server.ipv4] });
    t.teardown(() => first.detach());
    const e = xdpError(t, () => attachXdp({ iface: topo.server.iface, netns: topo.server.ns, ipv4: [topo.server.ipv4] }));
    t.is(e.code, 'APPL_ERR_XDP_BUSY');
    t.is(e.syscall, 'bpf(BPF_LINK_CREATE)');
    t.regex(e.message, /already has an XDP program attached.*ip link set dev veth-s xdp off/);
  });

  test.serial('a queue already bound: APPL_ERR_XDP_BUSY from bind, after waiting busyWaitMs (root)', async (t) => {
    const dev = openAfXdp({ ...base(), queue: 1 });
    t.teardown(() => dev.close());
    const e = xdpError(t, () => openAfXdp({ ...base(), queue: 1, busyWaitMs: 50 }));
    t.is(e.code, 'APPL_ERR_XDP_BUSY');
    t.is(e.syscall, 'bind');
  });

  test.serial('close() settles the asynchronous release: reopening the same queue at once works (root)', async (t) => {
    for (let i = 0; i < 3; i++) {
      const dev = openAfXdp({ ...base(), queue: 0, busyWaitMs: 0 });
      t.true(dev.mem.byteLength > 0);
      await dev.close();
      t.is(dev.mem.byteLength, 0, 'the UMEM view is detached, not dangling');
    }
  });

  test.serial('no such network namespace: APPL_ERR_XDP_NETNS from open (root)', (t) => {
    const e = xdpError(t, () => openAfXdp({ iface: 'veth-s', netns: `apl-none-${process.pid}`, queue: 0 }));
    t.is(e.code, 'APPL_ERR_XDP_NETNS');
    t.is(e.syscall, 'open');
  });
}
