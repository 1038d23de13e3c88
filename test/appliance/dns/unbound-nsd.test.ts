// The DNSSEC validation harness proven with NSD as the authoritative server (root,
// namespaces): the fixtures of fixtures/zones/dnssec signed at test time (NSEC, NSEC3,
// NSEC3 with opt-out, children behind signed delegations, bogus.test served tampered),
// NSD serving them in the server namespace on 198.18.0.1 and 2001:db8::1, Unbound
// validating in the client namespace, anchored at the top zones' DS. Every case of
// validationCases (test/helpers/unbound.ts) must come back as RFC 4035 and RFC 5155 say:
// AD on what is secure, none on what opt-out leaves insecure, SERVFAIL on the tampered
// signature. The same cases are meant for the appliance as the authoritative server.

import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, stopProcess, type Topology } from '../../../appliance/bench/netns.js';
import { tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';
import { nsdConfig } from '../../helpers/nsd.js';
import { rootSkip, skipped } from '../../helpers/root.js';
import { CHECK_TOOLS, SIGN_TOOLS, checkSigned, signFixtures, type SignedFixtures } from '../../helpers/signed.js';
import { UNBOUND_TOOLS, validationCases, whileRunning } from '../../helpers/unbound.js';

const skip = rootSkip(['nsd', ...SIGN_TOOLS, ...UNBOUND_TOOLS]);
const signSkip = [...SIGN_TOOLS, ...CHECK_TOOLS].filter((c) => !hasCommand(c));
const tmp = tempDir('unbound-nsd');
let topo: Topology | undefined;
let nsd: ChildProcess | undefined;
let fixtures: SignedFixtures | undefined;

test.before(async () => {
  if (SIGN_TOOLS.every(hasCommand)) fixtures = await signFixtures(join(tmp.dir, 'signed'));
  if (skip) return;
  topo = await createTopology({ queues: 1, tag: 'unbnsd' });
  const dir = join(tmp.dir, 'nsd');
  mkdirSync(dir);
  writeFileSync(join(dir, 'nsd.conf'), nsdConfig(dir, `${topo.server.ipv4},${topo.server.ipv6}`, 53, fixtures!.served));
  nsd = topo.spawn(topo.server.ns, 'nsd', ['-d', '-c', join(dir, 'nsd.conf')]);
  for (const z of fixtures!.served) {
    await whileRunning(nsd, `NSD serving ${z.origin}`, async () =>
      /status: NOERROR/.test(await topo!.run(topo!.client.ns, 'dig', ['+norec', '+tries=1', '+time=1', `@${topo!.server.ipv4}`, z.origin, 'SOA'])));
  }
});

test.after.always(async () => {
  if (nsd) await stopProcess(nsd, 3000);
  await topo?.close();
  tmp.cleanup();
});

test('the signed fixtures: ldns-verify-zone and nsd-checkzone accept every one, and refuse the tampered copy\'s signature', async (t) => {
  if (signSkip.length) {
    t.log(`SKIPPED: missing ${signSkip.join(', ')} (.ci/run installs them)`);
    return void t.pass();
  }
  const fx = fixtures!;
  t.deepEqual(fx.zones.map((z) => z.origin).sort(),
    ['apexwild.test.', 'bind.test.', 'bogus.test.', 'nsec.test.', 'nsec3.test.', 'optout.test.', 'signed.nsec.test.', 'signed.nsec3.test.', 'signed.optout.test.']);
  t.is(fx.trustAnchors.length, 6);
  for (const z of fx.zones) t.is(await checkSigned(z.origin, z.file), '', z.origin);
  t.deepEqual(fx.zone('optout.test.').optedOut, ['unsigned1.optout.test.', 'unsigned2.optout.test.']);
  t.deepEqual(fx.zone('bind.test.').optedOut, ['a.b.deep.bind.test.', 'd.ent.bind.test.']);
  const bogus = fx.zone('bogus.test.');
  t.regex(await checkSigned(bogus.origin, bogus.serve), /Bogus DNSSEC signature for www\.bogus\.test\.\s+A/);
});

test.serial('(root) Unbound validates NSD\'s signed answers: AD where secure, none where opt-out makes them insecure, SERVFAIL where tampered', async (t) => {
  if (skipped(skip, t)) return;
  const dir = join(tmp.dir, 'unbound');
  mkdirSync(dir);
  const v = await validationCases({
    topo: topo!, dir, fixtures: fixtures!, authoritative: [`${topo!.server.ipv4}@53`, `${topo!.server.ipv6}@53`],
  });
  t.log(v.table().join('\n'));
  if (v.failed.length) t.log(v.log.split('\n').filter((l) => /error|fail|bogus|validation/i.test(l)).slice(-30).join('\n'));
  t.true(v.results.length > 40, `${v.results.length} cases`);
  // Where NSD's proof is known to be none (ValidationCase.nsdWrong), reported, not failed: the appliance's test holds it to them.
  for (const r of v.results.filter((x) => x.case.nsdWrong)) t.log(`NSD, known: ${r.case.zone} ${r.case.what}: ${r.ok ? 'validated after all' : r.problems.join('; ')} (${r.case.nsdWrong})`);
  t.deepEqual(v.failed.filter((r) => !r.case.nsdWrong).map((r) => `${r.case.zone} ${r.case.what}: ${r.problems.join('; ')}`), []);
});
