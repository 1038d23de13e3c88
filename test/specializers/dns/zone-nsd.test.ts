// Differential tests against NSD: the same zones through our parser and nsd-checkzone.
//
// 1. Every fixture zone: nsd-checkzone accepts it, and the records it prints (-p), parsed
//    back with our parser, equal ours as canonical sets (owner case, TTL, class, type,
//    wire RDATA with names lower-cased).
// 2. A corpus of small zones, good and bad: we reject exactly what nsd-checkzone rejects,
//    but for the differences listed in KNOWN_DIFFERENCES (each a deliberate choice).
// 3. The bad fixtures: both reject; the lines we name are the lines marked `;!`.
//
// Skipped, loudly, where nsd-checkzone is not installed.

import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  checkZone, parseZoneFile, parseZoneText, ZoneErrors, type ParsedZone,
} from '../../../specializers/dns/zone.js';
import { NSD_CHECKZONE, NSD_MISSING, canonicalSet, runNsd, setDifference } from './nsd.js';

const ZONES = resolve('fixtures/zones');
const nsdTest = NSD_CHECKZONE === undefined ? test.skip : test;
if (NSD_CHECKZONE === undefined) console.warn(`\n*** ${NSD_MISSING} ***\n`);

function ours(file: string, origin: string): { zone?: ParsedZone; error?: ZoneErrors } {
  try {
    return { zone: checkZone(parseZoneFile(file, { origin })) };
  } catch (e) {
    if (e instanceof ZoneErrors) return { error: e };
    throw e;
  }
}

function errorLines(e: ZoneErrors): number[] {
  return e.problems.map((p) => p.line ?? 0);
}

const served = readdirSync(ZONES).filter((f) => f.endsWith('.zone')).map((f) => join(ZONES, f));
const signed = readdirSync(join(ZONES, 'signed')).filter((f) => f.endsWith('.zone')).map((f) => join(ZONES, 'signed', f));
const originOf = (file: string): string => file.replace(/^.*\//, '').replace(/\.zone$/, '');

for (const file of [...served, ...signed]) {
  nsdTest(`nsd-checkzone -p prints the same records as we parse: ${file.slice(ZONES.length + 1)}`, (t) => {
    const origin = originOf(file);
    const mine = ours(file, origin);
    t.is(mine.error, undefined, mine.error?.message);
    const nsd = runNsd(origin, file);
    t.true(nsd.ok, nsd.errors.join('\n'));
    const theirs = parseZoneText(nsd.printed, { file: 'nsd-checkzone -p', origin });
    const a = canonicalSet(mine.zone!);
    const b = canonicalSet(theirs);
    t.deepEqual(setDifference(a, b), [], 'records we have that NSD does not');
    t.deepEqual(setDifference(b, a), [], 'records NSD has that we do not');
    t.is(a.size, mine.zone!.records.length, 'no duplicates left after checkZone');
  });
}

nsdTest('a generated zone of 3,000 names: same records as nsd-checkzone -p', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zone-gen-'));
  try {
    const file = join(dir, 'gen.zone');
    execFileSync(process.execPath, ['scripts/gen-zone.mjs', '--names', '3000', '--seed', '7', '--out', file]);
    const mine = ours(file, 'example.com');
    t.is(mine.error, undefined, mine.error?.message);
    const nsd = runNsd('example.com', file);
    t.true(nsd.ok, nsd.errors.join('\n'));
    const theirs = parseZoneText(nsd.printed, { file: 'nsd-checkzone -p', origin: 'example.com' });
    const a = canonicalSet(mine.zone!);
    const b = canonicalSet(theirs);
    t.deepEqual(setDifference(a, b), []);
    t.deepEqual(setDifference(b, a), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------
// The corpus: small zones, each with at most one problem.

const HEAD = '$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m\n  IN NS ns1\nns1 IN A 198.18.0.1\n';

/** Where we reject and nsd-checkzone 4.6 accepts (or the reverse), on purpose. */
const KNOWN_DIFFERENCES: Record<string, string> = {
  'no NS at the apex': 'we require apex NS (as kzonecheck does); nsd 4.6 does not check',
  'TTL 2^31': 'RFC 2181 §8 limits TTLs to 2^31-1; nsd silently maps larger values to 0 or 3600',
  '$TTL 2^32': 'same; nsd accepts it',
  'text \\DDD over 255': 'nsd only warns and stores a wrong octet; RFC 1035 §5.1 makes DDD an octet',
  'name \\DDD over 255': 'same, in a name',
  '\\# length mismatch': 'RFC 3597 §5: the length must match the data; nsd stores what it got',
  'unclosed ( at EOF': 'nsd accepts a missing ")" at the end of the file; we name the line of "("',
  'RRSIG times in seconds': 'RFC 4034 §3.2 allows seconds; nsd 4.6 requires YYYYMMDDHHmmSS',
  'OPT in a zone': 'OPT is a meta type (RFC 6891 §6.1.1); nsd accepts it in a zone',
  'ohttp SvcParam': 'RFC 9540 key 8; nsd 4.6 does not know it',
};

const CORPUS: [string, string][] = [
  ['minimal', HEAD],
  ['no $TTL', HEAD.replace('$TTL 300\n', '')],
  ['relative $ORIGIN', HEAD + '$ORIGIN sub\nwww A 198.18.0.2\n'],
  ['absolute $ORIGIN below', HEAD + '$ORIGIN sub.example.com.\nwww A 198.18.0.2\n'],
  ['blank owner after $INCLUDE-less $ORIGIN', HEAD + 'a A 198.18.0.2\n  AAAA 2001:db8::2\n'],
  ['TTL and class either order', HEAD + 'a 60 IN A 198.18.0.2\nb IN 60 A 198.18.0.3\n'],
  ['TTL units', HEAD + 'a 1h30m A 198.18.0.2\nb 2W A 198.18.0.3\nc 1h30 A 198.18.0.4\n'],
  ['CRLF line ends', HEAD.replace(/\n/g, '\r\n') + 'a\tIN\tA\t198.18.0.2\r\n'],
  ['tabs and comments', HEAD + 'a\t\tA\t198.18.0.2\t; comment\n; only a comment\n\n'],
  ['parens with comment after', HEAD + 'a TXT ( "x" ; c\n "y" ) ; after\n'],
  ['quoted newline', HEAD + 'a TXT "line1\nline2"\n'],
  ['escaped names', HEAD + 'a\\.b A 198.18.0.2\n\\065 A 198.18.0.3\nx\\ y A 198.18.0.4\n'],
  ['generic forms', HEAD + 'g CLASS1 TYPE1 \\# 4 c6120002\nh TYPE65534 \\# 0\n'],
  ['CNAME with RRSIG and NSEC', HEAD + 'c CNAME x\nc RRSIG A 8 3 300 20250101000000 20240101000000 1 example.com. AAAA\nc NSEC d A\n'],
  ['duplicates', HEAD + 'a A 198.18.0.2\nA A 198.18.0.2\na 60 A 198.18.0.2\n'],
  ['NS RDATA case duplicates', HEAD + 'sub NS ns.example.net.\nsub NS NS.Example.NET.\n'],
  ['delegation with glue', HEAD + 'sub NS ns.sub\nns.sub A 198.18.0.9\nsub DS 1 13 2 00ff\n'],
  ['wildcard', HEAD + '*.w A 198.18.0.2\n*.w MX 10 mail\n'],
  ['DNAME at apex', HEAD + '@ DNAME example.net.\n'],
  ['SVCB every key', HEAD + 's SVCB 1 . mandatory=alpn alpn=h2 no-default-alpn port=1 ipv4hint=198.18.0.1 ech=AAEC ipv6hint=2001:db8::1 key7=/q key9\n'],
  ['TXT 255 octets', HEAD + `t TXT "${'x'.repeat(255)}"\n`],
  ['label 63', HEAD + `${'x'.repeat(63)} A 198.18.0.2\n`],
  ['TTL 2^31-1', HEAD + 'a 2147483647 A 198.18.0.2\n'],
  ['IN as owner', HEAD + 'IN A 198.18.0.2\n'],
  ['NSEC3 empty bitmap', HEAD + 'h NSEC3 1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s\n'],
  ['empty TXT via generic', HEAD + 't TXT \\# 0\n'],
  ['LOC defaults', HEAD + 'l LOC 52 N 4 E 0m\n'],
  // Problems.
  ['no SOA', '$ORIGIN example.com.\n@ NS ns1\n'],
  ['no NS at the apex', '$ORIGIN example.com.\n@ SOA ns1 h 1 2 3 4 5\n'],
  ['two SOAs', HEAD + '@ SOA ns2 h 2 2 3 4 5\n'],
  ['SOA below the apex', HEAD + 'x SOA ns2 h 2 2 3 4 5\n'],
  ['CNAME and A', HEAD + 'c CNAME x\nc A 198.18.0.2\n'],
  ['CNAME at apex', HEAD + '@ CNAME x\n'],
  ['two CNAMEs', HEAD + 'c CNAME x\nc CNAME y\n'],
  ['two DNAMEs', HEAD + 'd DNAME x\nd DNAME y\n'],
  ['data below DNAME', HEAD + 'd DNAME x\na.d A 198.18.0.2\n'],
  ['outside the zone', HEAD + 'www.example.net. A 198.18.0.2\n'],
  ['label 64', HEAD + `${'x'.repeat(64)} A 198.18.0.2\n`],
  ['name over 255', HEAD + `${('a'.repeat(63) + '.').repeat(4)} A 198.18.0.2\n`],
  ['empty label', HEAD + 'a..b A 198.18.0.2\n'],
  ['TTL 2^31', HEAD + 'a 2147483648 A 198.18.0.2\n'],
  ['$TTL 2^32', HEAD + '$TTL 4294967296\n'],
  ['bad TTL', HEAD + 'a 1x A 198.18.0.2\n'],
  ['TXT 256 octets', HEAD + `t TXT "${'x'.repeat(256)}"\n`],
  ['text \\DDD over 255', HEAD + 't TXT "\\256"\n'],
  ['name \\DDD over 255', HEAD + 'a\\256 A 198.18.0.2\n'],
  ['bad IPv4', HEAD + 'a A 198.18.0.256\n'],
  ['bad IPv6', HEAD + 'a AAAA 2001:db8:::1\n'],
  ['unknown type', HEAD + 'a FOO 1\n'],
  ['trailing data', HEAD + 'a A 198.18.0.2 x\n'],
  ['missing field', HEAD + 'a MX 10\n'],
  ['bad base64', HEAD + 'k DNSKEY 257 3 13 abc$\n'],
  ['odd hex', HEAD + 'd DS 1 13 2 abc\n'],
  ['\\# length mismatch', HEAD + 'g TYPE65534 \\# 3 0102\n'],
  ['\\# invalid A', HEAD + 'g A \\# 3 010203\n'],
  ['unclosed ( at EOF', HEAD + 'a TXT ( "x"\n'],
  ['unmatched )', HEAD + 'a A 198.18.0.2 )\n'],
  ['unterminated quote', HEAD + 'a TXT "x\n'],
  ['class CH', HEAD + 'a CH TXT "x"\n'],
  ['unknown directive', HEAD + '$FOO bar\n'],
  ['include missing', HEAD + '$INCLUDE /nonexistent/zone.inc\n'],
  ['duplicate SvcParamKey', HEAD + 's SVCB 1 . port=1 port=2\n'],
  ['mandatory key missing', HEAD + 's SVCB 1 . mandatory=alpn\n'],
  ['SvcParam value missing', HEAD + 's SVCB 1 . alpn=\n'],
  ['RRSIG times in seconds', HEAD + 'a RRSIG A 13 2 300 1719792000 1717200000 1 example.com. AAAA\n'],
  ['OPT in a zone', HEAD + 'o OPT \\# 0\n'],
  ['ohttp SvcParam', HEAD + 's SVCB 1 . ohttp\n'],
  ['ANY in a zone', HEAD + 'o ANY \\# 0\n'],
  ['HINFO one string', HEAD + 'h HINFO "x"\n'],
  ['bad CAA tag', HEAD + 'c CAA 0 "is sue" "x"\n'],
];

nsdTest(`we reject what nsd-checkzone rejects, over a corpus of ${CORPUS.length} zones`, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zone-corpus-'));
  const table: string[] = [];
  const mismatches: string[] = [];
  try {
    for (const [name, text] of CORPUS) {
      const file = join(dir, 'z.zone');
      writeFileSync(file, text);
      const mine = ours(file, 'example.com');
      const nsd = runNsd('example.com', file);
      const weOk = mine.error === undefined;
      table.push(`${weOk ? 'ok ' : 'ERR'} ${nsd.ok ? 'ok ' : 'ERR'}  ${name}: ours ${weOk ? '-' : errorLines(mine.error!).join(',')}` +
        ` nsd ${nsd.ok ? '-' : nsd.errorLines.join(',')}`);
      if (name in KNOWN_DIFFERENCES) {
        if (weOk === nsd.ok) mismatches.push(`${name}: listed as a known difference, but both ${weOk ? 'accept' : 'reject'} it now`);
      } else if (weOk !== nsd.ok) {
        mismatches.push(`${name}: we ${weOk ? 'accept' : 'reject'} it, nsd-checkzone ${nsd.ok ? 'accepts' : 'rejects'} it` +
          (weOk ? '' : `\n  ours: ${mine.error!.message}`) + (nsd.ok ? '' : `\n  nsd: ${nsd.errors.join('\n  nsd: ')}`));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.log(`verdicts (ours, nsd) and error lines:\n${table.join('\n')}`);
  t.deepEqual(mismatches, []);
});

// ---------------------------------------------------------------------------------------
// The bad fixtures: every marked line (";!") is named, and nothing else.

const BAD = join(ZONES, 'bad');
const badFiles = readdirSync(BAD).filter((f) => f.endsWith('.zone'));

function markedLines(dir: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const f of readdirSync(dir)) {
    const lines = readFileSync(join(dir, f), 'latin1').split('\n');
    const marked = lines.flatMap((l, i) => (/;!/.test(l) ? [i + 1] : []));
    if (marked.length > 0) m.set(f, marked);
  }
  return m;
}

for (const f of badFiles) {
  test(`bad/${f}: every problem is reported, each with its file and line`, (t) => {
    const marks = markedLines(BAD);
    const e = t.throws(() => checkZone(parseZoneFile(join(BAD, f), { origin: 'example.com' })), { instanceOf: ZoneErrors }) as ZoneErrors;
    const got = e.problems.map((p) => `${p.file.replace(/^.*\//, '')}:${p.line}`).sort();
    const want = [...marks].flatMap(([file, lines]) => {
      if (file !== f && !(f === 'include-loop.zone' && file === 'include-loop.inc')) return [];
      return lines.map((l) => `${file}:${l}`);
    }).sort();
    t.deepEqual(got, want, e.message);
    for (const p of e.problems) t.true(p.message.length > 10);
  });
}

nsdTest('nsd-checkzone rejects every bad fixture too, but the documented exceptions', (t) => {
  const exceptions = new Set(['no-ns.zone', 'ttl.zone']);
  for (const f of badFiles) {
    const nsd = runNsd('example.com', join(BAD, f));
    if (exceptions.has(f)) t.true(nsd.ok, `${f}: nsd-checkzone now rejects it; update the list`);
    else t.false(nsd.ok, `${f}: nsd-checkzone accepts it`);
    t.log(`${f}: nsd lines ${nsd.errorLines.join(',') || '-'}`);
  }
});

// ---------------------------------------------------------------------------------------
// Random zones: records of many types with escapes in names and strings, through both.


const lbl = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/),
  fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 6 })
    .map((bs) => bs.map((b) => (/[a-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`)).join('')),
);
const rel = fc.array(lbl, { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
const str = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 30 })
  .map((bs) => '"' + bs.map((b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`)).join('') + '"');
const byte = fc.integer({ min: 0, max: 255 });
const port = fc.integer({ min: 0, max: 65535 });
const v4 = fc.tuple(byte, byte, byte, byte).map((a) => a.join('.'));
const v6 = fc.array(port, { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const hexs = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => Buffer.from(b).toString('hex'));
const b64s = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => Buffer.from(b).toString('base64'));
const rr: fc.Arbitrary<string> = fc.oneof(
  v4.map((a) => `A ${a}`), v6.map((a) => `AAAA ${a}`), rel.map((n) => `NS ${n}`), rel.map((n) => `PTR ${n}.example.net.`),
  fc.tuple(port, rel).map(([p, n]) => `MX ${p} ${n}`), fc.array(str, { minLength: 1, maxLength: 3 }).map((s) => `TXT ${s.join(' ')}`),
  fc.tuple(port, port, port, rel).map(([a, b, c, n]) => `SRV ${a} ${b} ${c} ${n}`), fc.tuple(str, str).map(([a, b]) => `HINFO ${a} ${b}`),
  fc.tuple(byte, fc.constantFrom('issue', 'issuewild', 'iodef', 'tbs'), str).map(([f, tag, v]) => `CAA ${f} ${tag} ${v}`),
  fc.tuple(port, byte, byte, hexs).map(([a, b, c, h]) => `DS ${a} ${b} ${c} ${h}`),
  fc.tuple(byte, byte, byte, hexs).map(([a, b, c, h]) => `TLSA ${a} ${b} ${c} ${h}`),
  fc.tuple(byte, byte, hexs).map(([a, b, h]) => `SSHFP ${a} ${b} ${h}`),
  fc.tuple(port, byte, b64s).map(([f, a, k]) => `DNSKEY ${f} 3 ${a} ${k}`),
  fc.tuple(port, port, str, str, str, rel).map(([a, b, c, d, e, n]) => `NAPTR ${a} ${b} ${c} ${d} ${e} ${n}`),
  fc.tuple(rel, rel).map(([a, b]) => `RP ${a} ${b}`),
  fc.tuple(port, rel, fc.option(port), fc.option(v4), fc.option(v6), fc.boolean()).map(([p, n, pt, a, b, nd]) =>
    `HTTPS ${p} ${n} alpn=h2,h3${nd ? ' no-default-alpn' : ''}${pt === null ? '' : ` port=${pt}`}${a === null ? '' : ` ipv4hint=${a}`}${b === null ? '' : ` ipv6hint=${b}`}`),
  fc.tuple(byte, byte, port, fc.option(hexs)).map(([a, f, it, s]) => `NSEC3PARAM ${a} ${f} ${it} ${s ?? '-'}`),
  fc.uint8Array({ maxLength: 20 }).map((b) => `TYPE${65280 + (b[0] ?? 0)} \\# ${b.length} ${Buffer.from(b).toString('hex')}`),
);

nsdTest('random zones: nsd-checkzone accepts them and prints the same records', (t) => {
  const zones = fc.sample(fc.array(fc.tuple(rel, fc.integer({ min: 0, max: 2147483647 }), rr), { minLength: 5, maxLength: 40 }),
    { seed: Number(process.env.ZONE_SEED ?? 4242), numRuns: Number(process.env.ZONE_RUNS ?? 25) });
  const dir = mkdtempSync(join(tmpdir(), 'zone-random-'));
  try {
    zones.forEach((records, k) => {
      const text = HEAD + records.map(([owner, ttl, data]) => `${owner}.w 		${ttl} IN ${data}`).join('\n') + '\n';
      const file = join(dir, `r${k}.zone`);
      writeFileSync(file, text);
      const mine = ours(file, 'example.com');
      const nsd = runNsd('example.com', file);
      t.is(mine.error === undefined, nsd.ok, `zone ${k}: ours ${mine.error?.message ?? 'ok'}; nsd ${nsd.errors.join('; ') || 'ok'}\n${text}`);
      if (mine.zone === undefined || !nsd.ok) return;
      const theirs = parseZoneText(nsd.printed, { file: 'nsd-checkzone -p', origin: 'example.com' });
      const a = canonicalSet(mine.zone), b = canonicalSet(theirs);
      t.deepEqual(setDifference(a, b), [], `zone ${k}\n${text}`);
      t.deepEqual(setDifference(b, a), [], `zone ${k}\n${text}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
