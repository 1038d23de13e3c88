// A real validator over the appliance's signed answers (root, namespaces): the fixtures of
// fixtures/zones/dnssec signed at test time (test/helpers/signed.ts), built into an image
// with `appliance build` and served by `appliance serve` in the server namespace, over
// kernel sockets and over the fused path (--backend xdp); Unbound validates in the client
// namespace, anchored at the top zones' DS. Every case of validationCases
// (test/helpers/unbound.ts; the same as unbound-nsd.test.ts holds NSD to) must come back
// as RFC 4035 and RFC 5155 say: AD on positive answers, NXDOMAIN, NODATA, wildcard answers
// and the chain through signed delegations, none where opt-out leaves a denial insecure,
// SERVFAIL on the RRset whose signature was tampered with.

import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, type Topology } from '../../../appliance/bench/netns.js';
import { CLI, tempDir } from '../../helpers/fixtures.js';
import { rootSkip, skipped } from '../../helpers/root.js';
import { start, serveXdp, type Served } from '../../helpers/serve.js';
import { SIGN_TOOLS, signFixtures, type SignedFixtures } from '../../helpers/signed.js';
import { UNBOUND_TOOLS, validationCases } from '../../helpers/unbound.js';

const skip = rootSkip([...SIGN_TOOLS, ...UNBOUND_TOOLS]);
const tmp = tempDir('unbound-app');
let topo: Topology | undefined;
let fixtures: SignedFixtures | undefined;
let image = '';
/** The fused path's own addresses on the server interface. */
const APP4 = '198.18.0.10';
const APP6 = '2001:db8::10';

test.before(async () => {
  if (skip) return;
  fixtures = await signFixtures(join(tmp.dir, 'signed'));
  image = join(tmp.dir, 'signed.apl');
  const build = spawnSync(process.execPath, [CLI, 'build', ...fixtures.served.flatMap((z) => ['--zone', `${z.origin}=${z.file}`]), '-o', image], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`appliance build failed: ${build.stderr}`);
  topo = await createTopology({ queues: 1, tag: 'unbapp' });
});

test.after.always(async () => {
  await topo?.close();
  tmp.cleanup();
});

async function validate(t: ExecutionContext, name: string, authoritative: string[]): Promise<void> {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  const v = await validationCases({ topo: topo!, dir, fixtures: fixtures!, authoritative });
  t.log(v.table().join('\n'));
  if (v.failed.length) t.log(v.log.split('\n').filter((l) => /error|fail|bogus|validation/i.test(l)).slice(-30).join('\n'));
  t.true(v.results.length > 40, `${v.results.length} cases`);
  t.deepEqual(v.failed.map((r) => `${r.case.zone} ${r.case.what}: ${r.problems.join('; ')}`), []);
}

test.serial('(root) Unbound validates the socket backend\'s signed answers: AD where secure, none where opt-out makes them insecure, SERVFAIL where tampered', async (t) => {
  if (skipped(skip, t)) return;
  let app: Served | undefined;
  try {
    app = await start(['serve', image, '--backend', 'socket', '--dns', `${topo!.server.ipv4}:53`, '--dns', `[${topo!.server.ipv6}]:53`,
      '--http', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--rrl-exempt', '198.18.0.0/15', '--rrl-exempt', '2001:db8::/32'],
    { inNamespace: { topo: topo!, ns: topo!.server.ns } });
    await validate(t, 'socket', [`${topo!.server.ipv4}@53`, `${topo!.server.ipv6}@53`]);
  } finally {
    await app?.stop();
  }
});

test.serial('(root) Unbound validates the fused path\'s signed answers the same way (--backend xdp, IPv4 and IPv6)', async (t) => {
  if (skipped(skip, t)) return;
  let app: Served | undefined;
  try {
    app = await serveXdp(topo!, image, ['--addr', APP4, '--addr', APP6, '--rrl-exempt', '198.18.0.0/15', '--rrl-exempt', '2001:db8::/32']);
    await validate(t, 'xdp', [`${APP4}@53`, `${APP6}@53`]);
  } finally {
    await app?.stop();
  }
});
