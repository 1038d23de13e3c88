// Golden pairs: fixtures/zones/NAME.zone → fixtures/zones/golden/NAME.records, the records
// (after checkZone) in file order, each as "file:line<TAB>owner ttl class type rdata",
// then the warnings. To refresh after a deliberate change, run with UPDATE_GOLDEN=1 and
// review the diff: the goldens were checked by hand and against nsd-checkzone.
//
// The goldens cover the parser's own fixtures (GOLDEN_ZONES); every other zone in
// fixtures/zones is still parsed, checked and printed back here.

import test from 'ava';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  checkZone, nameToText, parseZoneFile, parseZoneText, recordToText, type ParsedZone,
} from '../../../specializers/dns/zone.js';

const ZONES = resolve('fixtures/zones');
const GOLDEN = join(ZONES, 'golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

const GOLDEN_ZONES = new Set([
  'example.com.zone', 'sub.example.com.zone', 'example.net.zone', '18.198.in-addr.arpa.zone',
  '8.b.d.0.1.0.0.2.ip6.arpa.zone', 'signed/example.org.zone',
]);

const zoneFiles = [
  ...readdirSync(ZONES).filter((f) => f.endsWith('.zone')),
  ...readdirSync(join(ZONES, 'signed')).filter((f) => f.endsWith('.zone')).map((f) => `signed/${f}`),
];

function render(z: ParsedZone): string {
  const lines = z.records.map((r) => `${relative(ZONES, r.file)}:${r.line}\t${recordToText(r)}`);
  for (const w of z.warnings) lines.push(`; warning: ${w.startsWith(ZONES) ? relative(ZONES, w) : w}`);
  return lines.join('\n') + '\n';
}

for (const f of [...GOLDEN_ZONES]) {
  const goldenFile = join(GOLDEN, f.replace(/^signed\//, 'signed-').replace(/\.zone$/, '.records'));
  test(`golden: ${f}`, (t) => {
    const z = checkZone(parseZoneFile(join(ZONES, f)));
    const text = render(z);
    if (UPDATE) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(goldenFile, text);
      t.log(`wrote ${relative(process.cwd(), goldenFile)}: review the diff before committing`);
    }
    t.true(existsSync(goldenFile), `${relative(process.cwd(), goldenFile)} is missing: run with UPDATE_GOLDEN=1 and review it`);
    t.is(text, readFileSync(goldenFile, 'utf8'));
  });
}

for (const f of zoneFiles) {
  test(`every record of ${f} prints as text that parses back to the same wire form`, (t) => {
    const z = checkZone(parseZoneFile(join(ZONES, f)));
    const text = z.records.map(recordToText).join('\n');
    const back = parseZoneText(text, { file: 'printed', origin: '.' });
    t.is(back.records.length, z.records.length);
    z.records.forEach((r, i) => {
      const b = back.records[i]!;
      t.deepEqual([b.owner, b.type, b.class, b.ttl, b.rdata], [r.owner, r.type, r.class, r.ttl, r.rdata], recordToText(r));
    });
  });
}

test('the signed fixture (every DNSSEC type, no valid chain) passes the zone checks; its chain is refused at build (dns-cli.test.ts)', (t) => {
  for (const f of zoneFiles.filter((f) => f.startsWith('signed/'))) t.notThrows(() => checkZone(parseZoneFile(join(ZONES, f))), f);
});

test('origin comes from the SOA owner when neither the option nor the file gives another', (t) => {
  for (const f of zoneFiles) {
    const z = parseZoneFile(join(ZONES, f));
    t.is(nameToText(z.origin), f.replace(/^signed\//, '').replace(/\.zone$/, '.'), f);
  }
});
