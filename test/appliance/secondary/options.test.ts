// serve's secondary-zone options: --secondary and --tsig-key parsed as a user writes them
// (zones made canonical, ports, IPv6 in brackets, keys by name, a zone given twice has two
// primaries), every mistake a usage error naming it; and a config file with them checked by
// `appliance check-config` without an image, the secret not printed.

import test from 'ava';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { canonicalZone, secondaryZones } from '../../../appliance/secondary/options.js';
import { runCli, tempDir } from '../../helpers/fixtures.js';

const KEY = 'xfr:hmac-sha256:c2VjcmV0IGtleSBieXRlcw==';

test('--secondary and --tsig-key as written', (t) => {
  const z = secondaryZones(['Example.ORG=198.18.0.1', 'example.org.=[2001:db8::1]:5300,key=XFR', 'b.example=198.18.0.2:53'], [KEY]);
  t.is(z.length, 2);
  t.is(z[0]!.zone, 'example.org.');
  t.like(z[0]!.primaries[0], { host: '198.18.0.1', port: 53 });
  t.like(z[0]!.primaries[1], { host: '2001:db8::1', port: 5300 });
  t.is(z[0]!.primaries[1]!.key?.name, 'xfr');
  t.is(z[0]!.primaries[0]!.key, undefined);
  t.is(canonicalZone('.', '--secondary'), '.');
  for (const [spec, re] of [
    ['example.org', /expected ZONE=ADDR/],
    ['example.org=primary.example', /not an IP address/],
    ['example.org=198.18.0.1:0', /no valid port/],
    ['example.org=198.18.0.1,key=other', /no --tsig-key named other/],
    ['example.org=198.18.0.1,keys=xfr', /is not key=NAME/],
    ['exa..mple=198.18.0.1', /not a domain name/],
  ] as const) {
    t.throws(() => secondaryZones([spec], [KEY]), { code: 'APPL_ERR_USAGE', message: re }, spec);
  }
  t.throws(() => secondaryZones([], ['xfr:hmac-md5:c2VjcmV0']), { code: 'APPL_ERR_USAGE' });
  t.throws(() => secondaryZones([], [KEY, KEY]), { code: 'APPL_ERR_USAGE', message: /given twice/ });
});

test('check-config: a file of secondary zones and no image is ok, the key\'s secret not printed; a wrong key named with its line', async (t) => {
  const d = tempDir('sec-config');
  t.teardown(d.cleanup);
  const good = join(d.dir, 'good.toml');
  writeFileSync(good, `secondary = ["example.org=198.18.0.1", "example.net=198.18.0.1:5300,key=xfr"]\ntsig-key = ["${KEY}"]\nstate-dir = "${join(d.dir, 'state')}"\n`);
  const r = await runCli(['check-config', good]);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /no image: secondary zones only/);
  t.notRegex(r.out, /c2VjcmV0/);
  const bad = join(d.dir, 'bad.toml');
  writeFileSync(bad, `state-dir = "${join(d.dir, 'state')}"\nsecondary = ["example.org=198.18.0.1,key=nope"]\n`);
  const b = await runCli(['check-config', bad]);
  t.is(b.code, 1);
  t.regex(b.out, /bad\.toml:2: secondary: .*no --tsig-key named nope/);
});
