// `appliance bench dns --names` end to end (root: namespaces and AF_XDP), shortened to one
// round of one second per server on a generated zone of 5,000 names: the appliance on that
// zone and on the small one, and NSD, all answer; every sampled reply of the appliance is
// NSD's answer (the reference taken for the whole 100,000-line query file); the figures
// carry each row's zone size. No figure is checked against another (no test asserts a speed).

import test from 'ava';
import { join } from 'node:path';
import { runDnsBench } from '../../../appliance/bench/dns-xdp.js';
import { dnsUdpFigures } from '../../../appliance/bench/report/convert.js';
import { CLI, ROOT } from '../../helpers/fixtures.js';
import { rootSkip, skipped } from '../../helpers/root.js';

const skip = rootSkip(['kxdpgun', 'nsd', 'kdig', 'taskset', 'ethtool']);

test('(root) bench dns --names 5000: the appliance on the big and the small zone and NSD answer, and no sampled reply differs from NSD\'s', async (t) => {
  if (skipped(skip, t)) return;
  const lines: string[] = [];
  const r = await runDnsBench({
    rounds: 1, seconds: 1, qps: 2_000_000, serverCpu: 0, loadCpu: 1, servers: ['appliance', 'appliance-small', 'nsd'], queues: 1,
    cli: CLI, workerScript: join(ROOT, 'dist', 'worker.js'), names: 5000, seed: 1, log: (l) => lines.push(l),
  });
  const out = lines.join('\n');
  t.log(out);
  t.deepEqual(r.rows.map((x) => [x.server, x.names]), [['appliance (AF_XDP)', 5000], ['appliance (AF_XDP), small zone', 19], ['NSD (kernel UDP)', 5000]]);
  for (const row of r.rows) t.true(row.rounds.length === 1 && row.rounds[0]! > 0, `${row.server} answered`);
  t.true(r.sampled > 0, 'replies were sampled');
  t.is(r.wrong, 0);
  t.regex(out, /correctness under load: [1-9]\d* sampled replies of the appliance decoded and compared with NSD's answers: 0 wrong/);
  t.regex(out, /zone gen\.test: 5,000 names .*query file 100,000 lines: [\d.]+% existing names .*[\d.]+% missing .*generated in [\d.]+ s .*image built in [\d.]+ s/);
  t.is(r.bigOverSmall.length, 1);
  t.is(r.bigOverSmall[0]!.server, 'appliance (AF_XDP)');
  t.true(r.bigOverSmall[0]!.ratio > 0 && Number.isFinite(r.bigOverSmall[0]!.ratio));
  t.regex(out, /answered\/s at 5,000 names ÷ at 19 .*\n {2}appliance \(AF_XDP\) +[\d.]+×/);
  const f = dnsUdpFigures(r, { serverCpu: 0, loadCpu: 1, seconds: 1, qps: 2_000_000, command: 'test' });
  t.is(f.names, 5000);
  t.is(f.queryLines, 100_000);
  t.deepEqual(f.rows.map((x) => x.names), [5000, 19, 5000]);
});
