// A worker that fails after start-up is noticed (root, namespaces): here its capture file
// cannot be written (a link to /dev/full), as a full disk would do. The supervisor logs
// the error with its code, takes the server down (the XDP program detached) and `serve`
// exits non-zero, instead of running on with a queue nobody serves.

import test from 'ava';
import { spawn } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, isRoot, stopProcess, xdpAttached } from '../../../appliance/bench/netns.js';
import { buildTestImage, CLI, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';

const skip = !isRoot() ? 'not root (needs network namespaces and AF_XDP; CI runs it as root)' : !hasCommand('ping') ? 'ping is missing' : '';

test('(root) a worker whose capture cannot be written stops the server: the error logged with its code, exit 1, XDP detached', async (t) => {
  if (skip) {
    t.log(`SKIPPED: ${skip}`);
    t.pass();
    return;
  }
  const tmp = tempDir('xdpfail');
  const topo = await createTopology({ queues: 1, tag: 'xdpfail' });
  try {
    const image = await buildTestImage(join(tmp.dir, 'z.apl'), [], [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }]);
    const prefix = join(tmp.dir, 'cap');
    symlinkSync('/dev/full', `${prefix}.q0.pcap`);
    const app = spawn(process.execPath, [CLI, 'serve', image, '--backend', 'xdp', '--iface', topo.server.iface, '--netns', topo.server.ns,
      '--addr', '198.18.0.10', '--capture', prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    app.stdout!.on('data', (c) => { out += c; });
    app.stderr!.on('data', (c) => { out += c; });
    const exited = new Promise<number | null>((r) => app.once('exit', (code) => r(code)));
    for (let i = 0; i < 100 && !out.includes('press Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
    t.true(out.includes('press Ctrl-C'), out);
    // About 1.4 MB of echo traffic: more than the capture's 1 MiB buffer, so a write is due.
    const t0 = Date.now();
    await topo.run(topo.client.ns, 'ping', ['-c', '500', '-i', '0.002', '-s', '1400', '-w', '5', '-q', '198.18.0.10'], 30_000).catch(() => '');
    t.log(`ping took ${Date.now() - t0} ms`);
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    if (code === 'still running') await stopProcess(app, 5000);
    t.is(code, 1, out);
    t.regex(out, /APPL_ERR_CAPTURE: queue 0: cannot write capture .*cap\.q0\.pcap: ENOSPC/);
    t.regex(out, /"code":"APPL_ERR_CAPTURE".*a worker failed; stopping/);
    t.false(await xdpAttached(topo.server));
  } finally {
    await topo.close();
    tmp.cleanup();
  }
});
