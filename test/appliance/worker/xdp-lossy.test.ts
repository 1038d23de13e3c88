// Loss on real peers (root, namespaces): the fault injector (`serve --fault`, a hidden test
// flag) wrapped around each queue's AF_XDP device drops, duplicates and reorders frames in
// both directions at seeded rates. At 1% and 5% loss with reordering, every fixture file
// arrives at curl byte-exact (sha256), and a 60 KB DNS answer at kdig +tcp; the
// retransmission counters show the losses were repaired.

import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, stopProcess, type Topology } from '../../../appliance/bench/netns.js';
import { parseMetrics } from '../../../appliance/worker/metrics.js';
import { buildTestImage, CLI, FIXTURE_SITE, siteFiles, tempDir } from '../../helpers/fixtures.js';
import { rootSkip } from '../../helpers/root.js';

const APP4 = '198.18.0.10';
const skip = rootSkip(['curl', 'kdig', 'sha256sum']);

const tmp = tempDir('xdplossy');
let topo: Topology | undefined;
let image = '';

test.before(async () => {
  if (skip) return;
  topo = await createTopology({ queues: 1, tag: 'lossy' });
  const zone = join(tmp.dir, 'big.test.zone');
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m', '  IN NS ns1', 'ns1 IN A 198.18.0.1'];
  for (let i = 0; i < 230; i++) lines.push(`big IN TXT "${String(i).padStart(4, '0')}${'x'.repeat(246)}"`);
  writeFileSync(zone, lines.join('\n') + '\n');
  image = await buildTestImage(join(tmp.dir, 'all.apl'), [{ host: null, dir: FIXTURE_SITE }], [{ origin: null, file: zone }]);
});
test.after.always(async () => {
  await topo?.close();
  tmp.cleanup();
});

for (const drop of [0.01, 0.05]) {
  test.serial(`(root) ${drop * 100}% loss, duplication and reordering both ways: every file byte-exact at curl, the 60 KB DNS answer at kdig +tcp`, async (t) => {
    if (skip) {
      t.log(`SKIPPED: ${skip}`);
      t.pass();
      return;
    }
    const spec = `seed=11,drop=${drop},dup=0.01,reorder=0.02,reorder-ms=5,dir=both`;
    let out = '';
    const app = spawn(process.execPath, [CLI, 'serve', image, '--backend', 'xdp', '--iface', topo!.server.iface, '--netns', topo!.server.ns,
      '--addr', APP4, '--metrics', '127.0.0.1:0', '--fault', spec, '--rrl-rate', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    app.stdout!.on('data', (c) => { out += c; });
    app.stderr!.on('data', (c) => { out += c; });
    try {
      for (let i = 0; i < 100 && !out.includes('press Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
      t.true(out.includes('press Ctrl-C'), out);
      const paths = siteFiles();
      const script = paths.map((p) => `curl -s --retry 3 --retry-all-errors --max-time 60 'http://${APP4}/${p.split('/').map(encodeURIComponent).join('/')}' | sha256sum`).join('; ');
      const sums = (await topo!.run(topo!.client.ns, 'sh', ['-c', script], 600_000)).trim().split('\n').map((l) => l.split(' ')[0]);
      const wrong = paths.filter((p, i) => sums[i] !== createHash('sha256').update(readFileSync(join(FIXTURE_SITE, p))).digest('hex'));
      t.deepEqual(wrong, []);
      const txt = await topo!.run(topo!.client.ns, 'kdig', ['+tcp', '+short', '+retry=3', '+time=10', `@${APP4}`, 'big.big.test', 'TXT'], 120_000);
      t.is(txt.trim().split('\n').length, 230);
      const port = /stats http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out)?.[1];
      const m = parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).totals;
      t.log(`${paths.length} files; retransmits ${m.tcp_retransmits}, RTO expiries ${m.tcp_rto_expiries}, fast retransmits ${m.tcp_fast_retransmits}, out of order dropped ${m.tcp_drop_out_of_order}`);
      t.true(m.tcp_retransmits! > 0);
    } finally {
      await stopProcess(app, 5000);
    }
  });
}
