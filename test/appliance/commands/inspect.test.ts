// `appliance inspect` on an image with a site and zones: the DNS part (zones with their SOA
// serials, template counts by kind, sizes of the DNS sections, names in canonical order
// with the types they answer, the first 40 or --all) in text and in --json; zoneSerials.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImage } from '../../../specializers/image/format.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { zoneSerials } from '../../../appliance/dns/serials.js';
import { buildTestImage, CLI, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('inspect');
const image = join(tmp.dir, 'all.apl');
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));

test.before(async () => {
  await buildTestImage(image, [{ host: null, dir: FIXTURE_SITE }], zoneFiles.map((file) => ({ origin: null, file })));
});
test.after.always(() => tmp.cleanup());

function inspect(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, 'inspect', image, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`inspect failed: ${r.stderr}`);
  return r.stdout;
}

interface Dns {
  zones: Array<{ origin: string; file: string; records: number; names: number; serial: number | null }>;
  names: number;
  templates: number;
  templateKinds: Record<string, number>;
  typeMapEntries: number;
  hashSlots: number;
  bytes: { answers: number; pointerLists: number; names: number; sections: Record<string, number> };
  nameList: Array<{ name: string; zone: string; types: string[]; notes: string[] }>;
}

test('--json: zones, counts, sizes and the first 40 names with their types', (t) => {
  const j = JSON.parse(inspect('--json')) as { sections: Array<{ name: string; bytes: number }>; dns: Dns };
  const d = j.dns;
  t.deepEqual(d.zones.map((z) => z.origin).sort(), ['18.198.in-addr.arpa.', '8.b.d.0.1.0.0.2.ip6.arpa.', 'example.com.', 'example.net.', 'example.org.', 'sub.example.com.']);
  t.is(d.names, d.zones.reduce((s, z) => s + z.names, 0), 'every name of every zone is in the table');
  t.deepEqual(d.zones.map((z) => z.serial), d.zones.map(() => 2024060101), 'each zone\'s SOA serial');
  t.deepEqual((JSON.parse(inspect('--json')) as { zones: unknown }).zones, d.zones, 'the top-level zones carry the serials too');
  const k = d.templateKinds;
  t.is(k.answers! + k.nodata! + k.nxdomain! + k.referrals! + k.dname!, d.templates, 'every template has one kind');
  t.is(k.nxdomain, d.zones.length, 'one NXDOMAIN template per zone');
  t.true(k.referrals! >= 2 * k.referralsV6!);
  for (const s of ['DNS_ZONES', 'DNS_NAMES', 'DNS_NAME_HASH', 'DNS_RRSETS', 'DNS_ANSWERS']) {
    t.is(d.bytes.sections[s], j.sections.find((x) => x.name === s)!.bytes, `${s} size`);
  }
  t.is(d.bytes.sections.DNS_NAMES, d.names * 12 * 4);
  t.is(d.bytes.sections.DNS_ANSWERS, d.templates * 12 * 4);
  t.is(d.bytes.sections.DNS_NAME_HASH, d.hashSlots * 4);
  t.true(d.bytes.answers > 0 && d.bytes.answers < loadImage(image).sections.get(2)!.length);
  t.is(d.nameList.length, 40);
  // Canonical order: the parent before its children, a zone's names together.
  const names = d.nameList.map((n) => n.name);
  t.is(names[0], '18.198.in-addr.arpa.');
});

test('--json --all: every name, with the types it answers and what it is', (t) => {
  const d = (JSON.parse(inspect('--json', '--all')) as { dns: Dns }).dns;
  t.is(d.nameList.length, d.names);
  const by = new Map(d.nameList.map((n) => [n.name, n]));
  t.deepEqual(by.get('www.example.com.')!.types, ['A', 'AAAA', 'HTTPS']);
  t.deepEqual(by.get('example.com.')!.notes, ['apex']);
  t.deepEqual(by.get('alias.example.com.')!.types, ['CNAME'], 'a CNAME does not list the types its chain ends in');
  t.deepEqual(by.get('*.wild.example.com.')!.types, ['A', 'MX', 'TXT']);
  t.deepEqual(by.get('*.wild.example.com.')!.notes, ['wildcard']);
  t.deepEqual(by.get('wild.example.com.')!.notes, ['empty non-terminal', 'wildcard below']);
  t.deepEqual(by.get('sub.example.com.')!.zone, 'sub.example.com.', 'a served child answers for its apex');
  t.deepEqual(by.get('partner.example.com.')!.types, ['NS']);
  t.deepEqual(by.get('partner.example.com.')!.notes, ['delegation']);
  t.deepEqual(by.get('ent.example.com.')!.types, []);
  t.deepEqual(by.get('old.example.com.')!.notes, ['DNAME']);
  t.is(new Set(d.nameList.map((n) => n.name)).size, d.names, 'no name twice');
});

test('text: the zone table, the template line, the first 40 names, and "--all" for the rest', (t) => {
  const out = inspect();
  t.regex(out, /\nzones\n {2}origin +file +records +names +serial\n/);
  t.regex(out, /\n {2}example\.com\. +\S*example\.com\.zone +\d+ +\d+ +2024060101\n/);
  t.regex(out, /\ndns: \d+ names, \d+ answer templates \(\d+ answers, \d+ NODATA, 6 NXDOMAIN, \d+ referrals/);
  t.regex(out, /\n {2}bytes: answers .*DNS_NAMES .*DNS_ANSWERS/);
  const listed = out.split('\n').filter((l) => / {2}\S+\. +\S+\. /.test(l) && !l.includes('.zone'));
  t.is(listed.length, 40);
  t.regex(out, /… \d+ more \(--all lists them\)/);
  const every = inspect('--all');
  t.notRegex(every, /more \(--all lists them\)/);
  t.regex(every, /\n {2}www\.example\.com\. +example\.com\. +A AAAA HTTPS\n/);
  t.regex(every, /\n {2}x\.explicit\.wild\.example\.com\.|\n {2}explicit\.wild\.example\.com\. +example\.com\. +A\n/);
});

test('zoneSerials: each zone\'s origin and SOA serial, read from its answers (compressed SOA names, a serial of 2^32 - 1)', async (t) => {
  // MNAME and RNAME in the zone: the template compresses them against the question.
  const parent = join(tmp.dir, 'p.zone');
  writeFileSync(parent, '$ORIGIN P.Test.\n$TTL 300\n@ IN SOA ns1 hostmaster.p.test. 4294967295 2h 30m 2w 5m\n@ IN NS ns1\nns1 IN A 198.18.0.1\n' +
    'c IN NS ns1.c\nns1.c IN A 198.18.0.2\n');
  const child = join(tmp.dir, 'c.zone');
  writeFileSync(child, '$ORIGIN c.p.test.\n$TTL 300\n@ IN SOA ns1 h.example. ( 7 1 1 1 1 )\n@ IN NS ns1\nns1 IN A 198.18.0.2\n');
  const out = join(tmp.dir, 'serials.apl');
  await buildTestImage(out, [], [{ origin: null, file: child }, { origin: null, file: parent }]);
  const img = loadImage(out);
  const expected = [{ origin: 'p.test.', serial: 4294967295 }, { origin: 'c.p.test.', serial: 7 }];
  t.deepEqual(zoneSerials(img), expected, 'parents first, as the image orders zones');
  t.deepEqual(zoneSerials(new DnsTables(img)), expected, 'from tables already loaded');
  const j = JSON.parse(spawnSync(process.execPath, [CLI, 'inspect', '--json', out], { encoding: 'utf8' }).stdout) as { zones: Array<{ origin: string; serial: number }> };
  t.deepEqual(j.zones.map((z) => [z.origin, z.serial]), [['P.Test.', 4294967295], ['c.p.test.', 7]], 'META\'s origins (as written), matched without regard to case');
  const httpOnly = join(tmp.dir, 'site-only.apl');
  await buildTestImage(httpOnly, [{ host: null, dir: FIXTURE_SITE }]);
  t.deepEqual(zoneSerials(loadImage(httpOnly)), []);
});
