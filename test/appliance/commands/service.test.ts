// The service as deploy/ installs it (root, namespaces): both units are valid systemd
// units; the example configs hold only keys serve knows; the socket backend binds ports 80
// and 53 as an unprivileged user holding just CAP_NET_BIND_SERVICE (the unit's setting),
// and without it fails saying what it needs; started as root with --user it serves as that
// user, and reloads and reopens its logs after dropping root; the xdp backend runs as an
// unprivileged user with the unit's five capabilities, serves, and detaches its program at
// stop.

import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, stopProcess, xdpAttached, type Topology } from '../../../appliance/bench/netns.js';
import { buildTestImage, CLI, FIXTURE_SITE, FIXTURE_ZONES, ROOT, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';
import { rootSkip, skipped, untilOk } from '../../helpers/root.js';

const skip = rootSkip(['setpriv', 'curl', 'dig']);
const tmp = tempDir('service');
let topo: Topology | undefined;
let image = '';

test.before(async () => {
  chmodSync(tmp.dir, 0o755); // the unprivileged user reads the image and writes its logs here
  image = await buildTestImage(join(tmp.dir, 's.apl'), [{ host: null, dir: FIXTURE_SITE }], [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }]);
  chmodSync(image, 0o644);
  if (!skip) topo = await createTopology({ queues: 1, tag: 'svc' });
});

test.after.always(async () => {
  await topo?.close();
  tmp.cleanup();
});

const unit = (name: string): string => join(ROOT, 'deploy', name);

/** The capabilities a unit gives its process (AmbientCapabilities), as setpriv spells them. */
function unitCaps(name: string): string {
  const line = readFileSync(unit(name), 'utf8').split('\n').find((l) => l.startsWith('AmbientCapabilities='))!;
  return line.slice('AmbientCapabilities='.length).trim().split(/\s+/).map((c) => '+' + c.replace(/^CAP_/, '').toLowerCase()).join(',');
}

/** `setpriv` as nobody with `caps` (inheritable and ambient), then the CLI. */
function asNobody(caps: string | null, args: string[]): string[] {
  const c = caps === null ? ['--inh-caps=-all'] : [`--inh-caps=${caps}`, `--ambient-caps=${caps}`];
  return ['--reuid=65534', '--regid=65534', '--clear-groups', ...c, process.execPath, CLI, ...args];
}

async function started(p: ChildProcess): Promise<string> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const take = (c: Buffer): void => {
      out += c;
      if (out.includes('press Ctrl-C')) resolve();
    };
    p.stdout!.on('data', take);
    p.stderr!.on('data', take);
    p.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return out;
}

test('both units are valid systemd units; the example configs hold only keys serve knows', async (t) => {
  if (hasCommand('systemd-analyze')) {
    const { execFileSync } = await import('node:child_process');
    for (const u of ['appliance.service', 'appliance-xdp.service']) t.notThrows(() => execFileSync('systemd-analyze', ['verify', unit(u)], { stdio: 'pipe' }), u);
  }
  const { execFileSync } = await import('node:child_process');
  for (const name of ['appliance.toml', 'appliance-xdp.toml']) {
    // The example, pointed at this test's image and files.
    const text = readFileSync(unit(name), 'utf8').replace(/^image = .*$/m, `image = "${image}"`).replace(/\/var\/log\/appliance/g, tmp.dir);
    const f = join(tmp.dir, name);
    writeFileSync(f, text);
    const out = execFileSync(process.execPath, [CLI, 'check-config', f], { encoding: 'utf8' });
    t.regex(out, /: ok/, name);
  }
});

test.serial('(root) the socket backend binds 80 and 53 as nobody with CAP_NET_BIND_SERVICE alone; without it, the error says what is needed', async (t) => {
  if (skipped(skip, t)) return;
  const args = ['serve', image, '--http', '127.0.0.1:80', '--dns', '127.0.0.1:53'];
  const denied = await topo!.run(topo!.server.ns, 'setpriv', asNobody(null, args)).then(() => '', (e: Error) => e.message);
  t.regex(denied, /EACCES \(a port below 1024 needs the capability CAP_NET_BIND_SERVICE/);
  const p = topo!.spawn(topo!.server.ns, 'setpriv', asNobody(unitCaps('appliance.service'), args));
  try {
    await started(p);
    t.is(await topo!.run(topo!.server.ns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1/']), '200');
    t.regex(await topo!.run(topo!.server.ns, 'dig', ['+short', '@127.0.0.1', 'example.com', 'SOA']), /^ns1\.example\.com\./);
  } finally {
    await stopProcess(p, 5000);
  }
});

test.serial('(root) --user: started as root, serves as that user after binding; reloads and reopens its logs as that user', async (t) => {
  if (skipped(skip, t)) return;
  const acc = join(tmp.dir, 'access.log');
  writeFileSync(acc, '');
  chmodSync(acc, 0o666);
  const p = topo!.spawn(topo!.server.ns, process.execPath, [CLI, 'serve', image, '--http', '127.0.0.1:80', '--dns', '127.0.0.1:53', '--user', 'nobody', '--metrics', '127.0.0.1:9100', '--access-log', acc]);
  try {
    const out = await started(p);
    t.regex(out, /running as nobody from now on/);
    // ip netns exec execs the command: the process is the one spawned.
    const pid = String(p.pid);
    t.regex(readFileSync(`/proc/${pid}/status`, 'utf8'), /Uid:\s+65534\s+65534\s+65534\s+65534/);
    await topo!.run(topo!.server.ns, 'curl', ['-s', '-o', '/dev/null', 'http://127.0.0.1/']);
    process.kill(Number(pid), 'SIGHUP');
    await untilOk('reload', async () => /appliance_reloads_total\{result="ok"\} 1/.test(await topo!.run(topo!.server.ns, 'curl', ['-s', 'http://127.0.0.1:9100/metrics'])));
    process.kill(Number(pid), 'SIGUSR1');
    await untilOk('access log', async () => readFileSync(acc, 'utf8').includes('"GET / HTTP/1.1" 200'));
  } finally {
    await stopProcess(p, 5000);
  }
});

test.serial('(root) the xdp backend as nobody with the unit\'s capabilities: serves, and detaches its XDP program at stop', async (t) => {
  if (skipped(skip, t)) return;
  const caps = unitCaps('appliance-xdp.service');
  t.is(caps, '+net_admin,+net_raw,+bpf,+perfmon,+ipc_lock');
  const p = topo!.spawn(topo!.server.ns, 'setpriv', asNobody(caps, ['serve', image, '--backend', 'xdp', '--iface', topo!.server.iface, '--addr', '198.18.0.10']));
  try {
    await started(p);
    t.true(await xdpAttached(topo!.server));
    t.regex(await topo!.run(topo!.client.ns, 'dig', ['+short', '@198.18.0.10', 'example.com', 'SOA']), /^ns1\.example\.com\./);
    t.is(await topo!.run(topo!.client.ns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://198.18.0.10/']), '200');
  } finally {
    await stopProcess(p, 10_000);
  }
  t.false(await xdpAttached(topo!.server));
});
