// A zone file parsed in two threads (zone-split.ts) gives what the parse in one gives:
// the same records in the same order (owner, type, class, TTL, RDATA, file, line), the same
// warnings, the same errors. Each file is parsed both ways: splitAbove Infinity (one
// thread) and 0 (split wherever a split can be planned), and the counts say which way the
// split went: the worker's records taken, or the rest parsed again by the first part when
// its guess of the state at the second part's start was wrong.

import test from 'ava';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseZoneFile } from '../../../specializers/dns/zone.js';
import { splitCounts } from '../../../specializers/dns/zone-split.js';
import { FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('zonesplit');
test.after.always(tmp.cleanup);

type Outcome = { records: string[]; warnings: string[] } | { error: string };

function outcome(file: string, splitAbove: number, origin?: string): Outcome {
  try {
    const z = parseZoneFile(file, { splitAbove, ...(origin ? { origin } : {}) });
    const records = z.records.map((r) => `${Buffer.from(r.owner).toString('hex')} ${r.type} ${r.class} ${r.ttl} ${Buffer.from(r.rdata).toString('hex')} ${r.file}:${r.line}`);
    return { records, warnings: z.warnings };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Parses both ways; returns how the split went. */
function same(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, file: string, origin?: string): { taken: number; redone: number } {
  const serial = outcome(file, Infinity, origin);
  const before = { ...splitCounts };
  const split = outcome(file, 0, origin);
  t.deepEqual(split, serial, file);
  return { taken: splitCounts.taken - before.taken, redone: splitCounts.redone - before.redone };
}

function zoneFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? zoneFiles(p) : f.endsWith('.zone') ? [p] : [];
  });
}

const HEAD = '$ORIGIN split.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m\n@ IN NS ns1\nns1 IN A 198.18.0.1\n';

/** n names with a mix of record kinds, blank owners and comments. */
function body(n: number, from = 0): string {
  let s = '';
  for (let i = from; i < from + n; i++) {
    s += `h${i} IN A 198.18.${(i >> 8) & 255}.${i & 255}\n`;
    if (i % 3 === 0) s += `  IN AAAA 2001:db8::${i.toString(16)}\n`;
    if (i % 7 === 0) s += `; a comment\nm${i} 600 IN MX 10 h${i}\n`;
    if (i % 11 === 0) s += `t${i} IN TXT "v=${i}" "two words"\n`;
  }
  return s;
}

test('every fixture zone parses to the same records, warnings and errors split or not', (t) => {
  const files = zoneFiles(FIXTURE_ZONES);
  t.true(files.length > 20);
  let taken = 0;
  for (const f of files) taken += same(t, f).taken;
  t.true(taken > 0, 'some fixtures were split, their second parts taken');
});

test('a big zone: split, the second part\'s records taken, the same as one thread\'s', (t) => {
  const f = join(tmp.dir, 'big.zone');
  writeFileSync(f, HEAD + body(20_000));
  t.deepEqual(same(t, f), { taken: 1, redone: 0 });
});

test('$ORIGIN and $TTL changes before the split point: guessed from the directive lines', (t) => {
  const f = join(tmp.dir, 'directives.zone');
  writeFileSync(f, HEAD + body(5000) + '$TTL 77\n$ORIGIN sub.split.test.\n' + body(3000, 5000) + '$ORIGIN split.test.\n$TTL 1h\n' + body(5000, 8000) + '$ORIGIN other.split.test.\n' + body(5000, 13000));
  t.deepEqual(same(t, f), { taken: 1, redone: 0 });
});

test('a parenthesized entry across the split point, with lines in column 1: the first part parses the rest', (t) => {
  const f = join(tmp.dir, 'straddle.zone');
  // From before the middle to the end, one TXT record whose strings start in column 1.
  const strings = Array.from({ length: 20_000 }, (_, i) => `s${i}`).join('\n');
  writeFileSync(f, HEAD + body(2000) + `long IN TXT (\n${strings}\n)\n` + body(10, 3000));
  t.deepEqual(same(t, f), { taken: 0, redone: 1 });
});

test('a "$TTL" line inside a quoted string before the split point: the guess is wrong, the rest parsed again', (t) => {
  const f = join(tmp.dir, 'quoted.zone');
  writeFileSync(f, HEAD + body(5000) + 'q IN TXT "a\n$TTL 5\nb"\n' + body(5000, 5000));
  t.deepEqual(same(t, f), { taken: 0, redone: 1 });
});

test('a record without a class after a CH record at the split: the class carried over is not IN, the rest parsed again', (t) => {
  const f = join(tmp.dir, 'class.zone');
  // The split falls on the line after the middle; everything from the middle on carries class CH.
  const half = HEAD + body(5000);
  let tail = '';
  for (let i = 0; i < 20_000; i++) tail += `c${i} CH TXT "x"\n`;
  writeFileSync(f, half + tail);
  const r = same(t, f);
  t.is(r.taken + r.redone, 1);
});

test('errors and warnings in both parts: listed once each, in file order, as one thread lists them', (t) => {
  const f = join(tmp.dir, 'errors.zone');
  const bad = (i: number): string => `bad${i} IN A 300.1.1.1\nIN${i} IN A 198.18.0.1\n`;
  let s = HEAD;
  for (let k = 0; k < 8; k++) s += body(1000, k * 1000) + bad(k) + 'NS IN A 198.18.0.9\n';
  writeFileSync(f, s);
  const serial = outcome(f, Infinity);
  t.true('error' in serial && /300\.1\.1\.1|not a valid/.test(serial.error), JSON.stringify(serial).slice(0, 300));
  t.deepEqual(same(t, f), { taken: 1, redone: 0 });
});

test('over 200 warnings across the parts: the first 200 kept and the note that more were not shown, as one thread does', (t) => {
  const f = join(tmp.dir, 'warnings.zone');
  let s = HEAD;
  // A name in column 1 that looks like a class warns.
  for (let k = 0; k < 300; k++) s += body(40, k * 40) + 'IN IN A 198.18.0.7\n';
  writeFileSync(f, s);
  const serial = outcome(f, Infinity);
  t.true('warnings' in serial && serial.warnings.length === 201 && /further warnings not shown/.test(serial.warnings[200]!));
  t.deepEqual(same(t, f), { taken: 1, redone: 0 });
});

test('a file with an $INCLUDE is parsed in one thread', (t) => {
  const inc = join(tmp.dir, 'inc.zone');
  writeFileSync(inc, body(100, 90_000));
  const f = join(tmp.dir, 'includes.zone');
  writeFileSync(f, HEAD + body(5000) + `$INCLUDE ${inc}\n` + body(5000, 5000));
  t.deepEqual(same(t, f), { taken: 0, redone: 0 });
});

test('the second part\'s first entry fails and the next line has a blank owner: the first part parses the rest (the owner before the part is its own)', (t) => {
  const f = join(tmp.dir, 'blank-after-error.zone');
  // Only indented lines past the middle, so that the part starts at "b BOGUS x".
  let filler = 'a1 IN A 198.18.0.1\n';
  for (let i = 0; i < 15_000; i++) filler += `  IN TXT "x${i}"\n`;
  writeFileSync(f, HEAD + filler + 'b BOGUS x\n  IN A 198.18.0.2\n' + body(100));
  const serial = outcome(f, Infinity);
  t.true('error' in serial && /BOGUS/.test(serial.error) && !/no owner name/.test(serial.error), JSON.stringify(serial).slice(0, 300));
  t.deepEqual(same(t, f), { taken: 0, redone: 1 });
});
