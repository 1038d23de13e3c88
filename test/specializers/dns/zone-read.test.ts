// Reading zone files as an attacker would feed them, from the command line and the parser:
//  - --zone /dev/zero, a FIFO with no writer, a directory: APPL_ERR_ZONE_READ at once,
//    never read forever (/dev/zero used to grow memory by 800 MB/s);
//  - $INCLUDE of the same: refused naming the file and line of the $INCLUDE;
//  - $INCLUDE with an absolute path: opened as given, as NSD does (it used to be re-rooted
//    under the zone's directory);
//  - the size cap (MAX_ZONE_BYTES, 1 GiB, for a zone's file and all its $INCLUDEs
//    together), shown with a small cap; a file whose content outgrows its size while it is
//    read (procfs files report 0 bytes) is refused, not followed.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildInputError } from '../../../basics/errors.js';
import { MAX_ZONE_BYTES, parseZoneFile, ZoneErrors } from '../../../specializers/dns/zone.js';
import { readRegularFile } from '../../../specializers/regular-file.js';
import { CLI, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';

const tmp = tempDir('zoneread');
test.after.always(tmp.cleanup);
const HEAD = '$ORIGIN ex.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m\n@ IN NS ns1\nns1 IN A 198.18.0.1\n';

function build(args: string[]): { status: number | null; stderr: string; stdout: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'build', ...args, '-o', join(tmp.dir, `z${Math.random().toString(16).slice(2)}.apl`)],
    { encoding: 'utf8', cwd: tmp.dir, timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, ms: Date.now() - t0 };
}

test('--zone /dev/zero, a FIFO or a directory: refused at once with APPL_ERR_ZONE_READ (CLI)', (t) => {
  const fifo = join(tmp.dir, 'zone.fifo');
  t.is(spawnSync('mkfifo', [fifo]).status, 0);
  for (const [path, kind] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO'], [tmp.dir, 'a directory']] as const) {
    const r = build(['--zone', path]);
    t.is(r.status, 1, `${path}: ${r.stderr}`);
    t.is(r.stderr, `appliance: APPL_ERR_ZONE_READ: ${path}: cannot read the zone file: not a regular file: ${kind}\n`);
    t.true(r.ms < 20_000, 'not read forever');
  }
});

test('$INCLUDE of /dev/zero, a FIFO or a directory: refused naming the $INCLUDE line (CLI)', (t) => {
  mkdirSync(join(tmp.dir, 'incdir'));
  t.is(spawnSync('mkfifo', [join(tmp.dir, 'inc.fifo')]).status, 0);
  const zone = join(tmp.dir, 'inc.zone');
  writeFileSync(zone, HEAD + '$INCLUDE /dev/zero\nwww IN A 198.18.0.2\n$INCLUDE inc.fifo\n$INCLUDE incdir\n');
  const r = build(['--zone', zone]);
  t.is(r.status, 1);
  t.regex(r.stderr, /^appliance: APPL_ERR_ZONE_READ: /);
  t.regex(r.stderr, /inc\.zone:6: cannot read \$INCLUDE file '\/dev\/zero' \(\/dev\/zero\): not a regular file: a character device/);
  t.regex(r.stderr, /inc\.zone:8: cannot read \$INCLUDE file 'inc\.fifo' \(.*inc\.fifo\): not a regular file: a FIFO/);
  t.regex(r.stderr, /inc\.zone:9: cannot read \$INCLUDE file 'incdir' \(.*incdir\): not a regular file: a directory/);
});

test('$INCLUDE with an absolute path opens it as given, as NSD does (CLI, and nsd-checkzone agrees)', (t) => {
  const elsewhere = join(tmp.dir, 'elsewhere');
  mkdirSync(elsewhere);
  const inc = join(elsewhere, 'abs.inc');
  writeFileSync(inc, 'abs IN A 198.18.0.77\n');
  mkdirSync(join(tmp.dir, 'zones'));
  const zone = join(tmp.dir, 'zones', 'abs.zone');
  writeFileSync(zone, HEAD + `$INCLUDE ${inc}\n`);
  const r = build(['--zone', zone]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /zone ex\.test\.: .*abs\.zone: 4 records, 3 names/);
  if (hasCommand('nsd-checkzone')) {
    const c = spawnSync('nsd-checkzone', ['ex.test', zone], { encoding: 'utf8', cwd: join(tmp.dir, 'zones') });
    t.is(c.status, 0, c.stdout + c.stderr);
  } else {
    t.log('nsd-checkzone not installed: the NSD side not checked');
  }
});

test('the size cap: a zone file, or its $INCLUDEs together, past the cap are refused (the cap shown small)', (t) => {
  t.is(MAX_ZONE_BYTES, 1 << 30, '1 GiB');
  const big = join(tmp.dir, 'big.zone');
  writeFileSync(big, HEAD + 'x IN TXT "' + 'a'.repeat(2000) + '"\n');
  const e = t.throws(() => parseZoneFile(big, { maxBytes: 1000 }), { instanceOf: BuildInputError });
  t.is(e?.code, 'APPL_ERR_ZONE_READ');
  t.regex(e?.message ?? '', /big\.zone: cannot read the zone file: too large: \d+ bytes, more than 1000 \(the most zone text one zone may have, with its \$INCLUDEs\)/);
  const part = join(tmp.dir, 'part.inc');
  const partText = 'p IN TXT "' + 'b'.repeat(200) + '"\n';
  writeFileSync(part, partText);
  const top = join(tmp.dir, 'parts.zone');
  const topText = HEAD + '$INCLUDE part.inc\n$INCLUDE part.inc\n$INCLUDE part.inc\n';
  writeFileSync(top, topText);
  const twoParts = topText.length + 2 * partText.length;
  const z = t.throws(() => parseZoneFile(top, { maxBytes: twoParts + 10 }), { instanceOf: ZoneErrors }) as ZoneErrors;
  t.deepEqual(z.problems.map((p) => `${p.code} ${p.line}`), ['APPL_ERR_ZONE_READ 8'], 'the third $INCLUDE goes past the total');
  t.notThrows(() => parseZoneFile(top, { maxBytes: twoParts + partText.length }));
});

test('a file whose content outgrows its size while read is refused, not followed (procfs: 0 bytes by stat)', (t) => {
  const r = readRegularFile('/proc/self/status', { limit: 1 << 20 });
  t.false(r.ok);
  if (!r.ok) t.regex(r.why, /it changed while read: it grew past the 0 bytes it had when opened/);
  const b = build(['--zone', '/proc/self/status']);
  t.is(b.status, 1);
  t.regex(b.stderr, /^appliance: APPL_ERR_ZONE_READ: \/proc\/self\/status: cannot read the zone file: it changed while read/);
});
