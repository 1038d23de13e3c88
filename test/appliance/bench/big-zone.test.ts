// The big zone of `bench dns --names` and its query file (appliance/bench/big-zone.ts): a
// zone from scripts/gen-zone.mjs, scanned, and the query file drawn from it, checked
// against the build's own parser (loadZones, buildModel): the scanner finds the names the
// parser finds, an existing line's name exists with its type (or lacks it, for NODATA), a
// missing line's name exists nowhere and sits where NXDOMAIN is the answer; the file is the
// same for the same seed, and its existing names are spread over the whole zone.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIG_ZONE_ORIGIN, generateZone, makeQueryFile, NODATA_SHARE, scanZone, type QueryFile, type ZoneNames } from '../../../appliance/bench/big-zone.js';
import { encodeMixQuery, mixKey, answerKey } from '../../../appliance/bench/dns-xdp.js';
import { nameToText, nameToWire } from '../../../specializers/dns/dns-name.js';
import { buildModel, loadZones, typesOf, type DnsModel, type DnsNode } from '../../../specializers/dns/model.js';
import { T, textToType } from '../../../specializers/dns/rr-types.js';
import { tempDir } from '../../helpers/fixtures.js';

const NAMES = 5000;
const LINES = 20_000;
const tmp = tempDir('bigzone');
const zoneFile = join(tmp.dir, 'gen.test.zone');
let zone: ZoneNames;
let model: DnsModel;
let mix: QueryFile;

test.before(async () => {
  await generateZone({ names: NAMES, seed: 3, origin: BIG_ZONE_ORIGIN, out: zoneFile });
  zone = scanZone(readFileSync(zoneFile, 'utf8'));
  model = buildModel(loadZones([{ origin: BIG_ZONE_ORIGIN, file: zoneFile }]).parsed);
  mix = makeQueryFile(zone, { lines: LINES, seed: 7 });
});
test.after.always(() => tmp.cleanup());

const node = (name: string): DnsNode | undefined => model.nodes.get(nameToWire(`${name}.`));
const answersItself = (n: DnsNode): boolean => n.recCount > 0 && !n.isCut && n.cutAbove === null;

test('the scanner finds the names the build\'s parser finds: every name with records that is not at or below a delegation, with its types', (t) => {
  const fromModel = [...model.nodes.values()].filter(answersItself).map((n) => nameToText(n.name).slice(0, -1)).sort();
  t.deepEqual([...zone.names].sort(), fromModel);
  t.true(zone.names.length > NAMES, 'the apex, ns1, ns2, mail and the h names');
  zone.names.forEach((name, i) => {
    const want = typesOf(node(name)!).sort();
    const got = zone.types[i]!.map((x) => textToType(x)!).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) t.fail(`${name}: scanned ${zone.types[i]!.join(' ')}`);
  });
  // Every name the parser knows (empty non-terminals and names below the delegations too) is one that exists for the scanner.
  for (const n of model.nodes.values()) if (!zone.exists.has(nameToText(n.name).slice(0, -1))) t.fail(`${nameToText(n.name)} missing from exists`);
  t.is(zone.exists.size, model.nodes.size);
});

test('the query file is the same for the same zone and seed, and another for another seed', (t) => {
  t.is(makeQueryFile(zone, { lines: LINES, seed: 7 }).text, mix.text);
  t.not(makeQueryFile(zone, { lines: LINES, seed: 8 }).text, mix.text);
  const again = scanZone(readFileSync(zoneFile, 'utf8'));
  t.is(makeQueryFile(again, { lines: LINES, seed: 7 }).text, mix.text);
});

test('every line is kxdpgun\'s "name type [E]", one per line, and encodes as a query', (t) => {
  const lines = mix.text.trim().split('\n');
  t.is(lines.length, LINES);
  t.deepEqual(lines.filter((l) => !/^([a-z0-9-]+\.)*gen\.test\. (A|AAAA|MX|TXT|SRV|CAA|CNAME|NS|SOA)( E)?$/.test(l)), []);
  // The key a reply is checked under, from the line alone, is the one answerKey reads from the query.
  for (const l of lines.slice(0, 200)) t.is(mixKey(l), answerKey(encodeMixQuery(l, 1)) ?? `no key for ${l}`);
});

test('existing lines ask a type the name has (A at a CNAME owner: through the CNAME); NODATA lines one it lacks', (t) => {
  let checked = 0;
  for (const l of mix.lines) {
    if (l.kind === 'nxdomain') continue;
    const n = node(l.name);
    if (n === undefined || !answersItself(n)) {
      t.fail(`${l.name} (${l.kind}) is not a name that answers for itself`);
      continue;
    }
    const types = typesOf(n);
    const type = textToType(l.type)!;
    if (l.kind === 'existing') {
      if (!types.includes(type) && !(type === T.A && types.includes(T.CNAME))) t.fail(`${l.name} has no ${l.type}`);
    } else if (types.includes(type) || types.includes(T.CNAME)) {
      t.fail(`NODATA line ${l.name} ${l.type}: the name has it, or a CNAME`);
    }
    checked++;
  }
  t.true(checked > LINES * 0.45);
});

test('missing lines name nothing in the zone, under the origin or under a name that answers for itself (NXDOMAIN, not a referral)', (t) => {
  let underOrigin = 0;
  let underName = 0;
  for (const l of mix.lines) {
    if (l.kind !== 'nxdomain') continue;
    if (node(l.name) !== undefined) t.fail(`${l.name} exists`);
    const parent = l.name.slice(l.name.indexOf('.') + 1);
    if (parent === BIG_ZONE_ORIGIN) underOrigin++;
    else {
      const p = node(parent);
      if (p === undefined || !answersItself(p)) t.fail(`${l.name}: its parent is not a name that answers for itself`);
      underName++;
    }
  }
  t.true(underOrigin > LINES * 0.2 && underName > LINES * 0.2, `${underOrigin} under the origin, ${underName} under names`);
});

test('the shares: about half existing, half missing, NODATA a part of the existing, half with EDNS', (t) => {
  const { existing, nodata, nxdomain } = mix.counts;
  t.is(existing + nodata + nxdomain, LINES);
  const share = (n: number): number => n / LINES;
  t.true(Math.abs(share(existing + nodata) - 0.5) < 0.02, `existing ${share(existing + nodata)}`);
  t.true(Math.abs(share(nxdomain) - 0.5) < 0.02, `missing ${share(nxdomain)}`);
  // CNAME owners get no NODATA line (any other type is answered through the CNAME).
  t.true(nodata > 0 && nodata / (existing + nodata) < NODATA_SHARE + 0.02, `NODATA ${nodata}`);
  t.true(Math.abs(mix.lines.filter((l) => l.edns).length / LINES - 0.5) < 0.02);
});

test('existing names are drawn over the whole zone: each tenth of the file gets about a tenth of them', (t) => {
  const position = new Map(zone.names.map((n, i) => [n, i]));
  const tenths = new Array<number>(10).fill(0);
  let n = 0;
  for (const l of mix.lines) {
    if (l.kind === 'nxdomain') continue;
    tenths[Math.floor((10 * position.get(l.name)!) / zone.names.length)]!++;
    n++;
  }
  for (const c of tenths) t.true(c > n * 0.08 && c < n * 0.12, `tenths: ${tenths.join(' ')}`);
  // And many distinct names: the working set is the zone, not a corner of it.
  t.true(new Set(mix.lines.filter((l) => l.kind !== 'nxdomain').map((l) => l.name)).size > NAMES * 0.8);
});

test('the scanner refuses what is not gen-zone\'s dialect instead of guessing', (t) => {
  const head = '$ORIGIN x.test.\n$TTL 60\n@ IN SOA ns1 h 1 2 3 4 5\n  IN NS ns1\nns1 IN A 198.18.0.1\n';
  t.is(scanZone(head).names.length, 2);
  t.throws(() => scanZone(head + 'a IN SOA ns1 h (\n 1 2 3 4 5 )\n'), { message: /across lines/ });
  t.throws(() => scanZone(head + '*.w IN A 198.18.0.2\n'), { message: /wildcard/ });
  t.throws(() => scanZone(head + 'd IN DNAME y.test.\n'), { message: /DNAME/ });
  t.throws(() => scanZone(head + '$INCLUDE other.zone\n'), { message: /\$INCLUDE/ });
  t.throws(() => makeQueryFile({ origin: 'x.test', names: [], types: [], exists: new Set() }, { lines: 1, seed: 1 }), { message: /no names/ });
});
