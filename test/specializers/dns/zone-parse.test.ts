// The master-file syntax (RFC 1035 §5, RFC 2308 §4, RFC 3597 §5): every form the parser
// reads, and every parse error with the line it names.

import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildInputError } from '../../../basics/errors.js';
import {
  DEFAULT_TTL, nameToText, parseZoneFile, parseZoneText, recordToText, ZoneErrors, type ParsedZone,
} from '../../../specializers/dns/zone.js';

const SOA = '@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m\n';

/** Parses with the origin given, example.com by default; null for none. */
function parse(text: string, origin: string | null = 'example.com'): ParsedZone {
  return parseZoneText(text, origin === null ? { file: 't.zone' } : { file: 't.zone', origin });
}
const lines = (z: ParsedZone): string[] => z.records.map(recordToText);

function problems(text: string, origin: string | null = 'example.com'): string[] {
  try {
    parse(text, origin);
  } catch (e) {
    if (e instanceof ZoneErrors) return e.problems.map((p) => `${p.line}: ${p.message}`);
    throw e;
  }
  return [];
}

function withDir(files: Record<string, string>, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'zone-parse-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('$ORIGIN, @, relative and absolute names', (t) => {
  const z = parse('$TTL 60\n$ORIGIN example.com.\n@ A 198.18.0.1\nwww A 198.18.0.2\nabs.example.com. A 198.18.0.3\n' +
    '$ORIGIN sub.example.com.\nwww CNAME @\n');
  t.deepEqual(lines(z), [
    'example.com. 60 IN A 198.18.0.1',
    'www.example.com. 60 IN A 198.18.0.2',
    'abs.example.com. 60 IN A 198.18.0.3',
    'www.sub.example.com. 60 IN CNAME sub.example.com.',
  ]);
  t.deepEqual(problems('$ORIGIN sub\n'), ["1: $ORIGIN needs an absolute domain name ending in '.', got 'sub'"]);
  t.deepEqual(problems('$ORIGIN a.b. c.\n'), ['1: $ORIGIN takes one domain name, got 2 arguments']);
  t.is(nameToText(parse('$ORIGIN a\\.b.example.com.\nx A 198.18.0.1\n').records[0]!.owner), 'x.a\\.b.example.com.');
});

test('relative names before any origin are an error that says what to do', (t) => {
  const p = problems('www A 198.18.0.1\n', null);
  t.is(p.length, 1);
  t.regex(p[0]!, /^1: relative domain name 'www' but no origin is known; add a \$ORIGIN line/);
  t.regex(problems('@ A 198.18.0.1\n', null)[0]!, /'@' used but no origin is known/);
});

test('the origin: the option, else the SOA owner, else the first $ORIGIN', (t) => {
  t.is(nameToText(parse(SOA, 'example.com').origin), 'example.com.');
  t.is(nameToText(parse(SOA, 'example.com.').origin), 'example.com.');
  // nsd-checkzone -p prints "$ORIGIN com." before the apex: the SOA owner decides.
  t.is(nameToText(parse('$ORIGIN com.\nexample 300 IN SOA ns1 h 1 2 3 4 5\n', null).origin), 'example.com.');
  t.is(nameToText(parse('example.com. 300 IN SOA ns1 h 1 2 3 4 5\nwww A 198.18.0.1\n', null).origin), 'example.com.');
  t.is(nameToText(parse('example.com. 300 IN SOA ns1 h 1 2 3 4 5\nwww 1 A 198.18.0.1\n', null).records[1]!.owner), 'www.example.com.',
    'relative names after an absolute SOA owner resolve against it');
  t.is(nameToText(parse('$ORIGIN example.org.\nwww 1 A 198.18.0.1\n', null).origin), 'example.org.');
  t.deepEqual(problems('www.example.com. 1 A 198.18.0.1\n', null),
    ["undefined: cannot tell the zone's origin: the file has no SOA record and no $ORIGIN; give it as --zone ORIGIN=FILE"]);
  t.throws(() => parse(SOA, 'bad..origin'), { instanceOf: BuildInputError, message: /bad zone origin/ });
});

test('$TTL, TTL units, and NSD\'s default of 3600 (with a warning) when there is none', (t) => {
  const z = parse(`${SOA}a A 198.18.0.1\n$TTL 1h30m\nb A 198.18.0.2\nc 2w A 198.18.0.3\nd 1H30M A 198.18.0.4\n` +
    'e 1h30 A 198.18.0.5\nf 0 A 198.18.0.6\ng 2147483647 A 198.18.0.7\nh 1d2h3m4s A 198.18.0.8\n');
  t.deepEqual(z.records.map((r) => r.ttl), [DEFAULT_TTL, DEFAULT_TTL, 5400, 1209600, 5400, 3630, 0, 2147483647, 93784]);
  t.is(z.warnings.length, 1);
  t.regex(z.warnings[0]!, /^t\.zone:1: no \$TTL .* using 3600 as NSD does/);
  t.deepEqual(parse('$TTL 5m\n' + SOA).warnings, []);
  t.deepEqual(problems('$TTL 1x\n$TTL\n$TTL 2147483648\na 1h1 A 198.18.0.1\nb 99999999999 A 198.18.0.1\n'), [
    "1: $TTL '1x' is not a valid TTL (seconds, or units like 1h30m)",
    '2: $TTL takes one TTL, got 0 arguments',
    '3: $TTL 2147483648 is out of range: at most 2147483647 (RFC 2181 §8)',
    "5: '99999999999' is not a valid TTL (seconds, or units like 1h30m)",
  ], 'line 4 is fine: 1h1 is 3601 seconds');
});

test('TTL and class in either order; class omitted; the previous class carries over', (t) => {
  const z = parse('$TTL 60\na 10 IN A 198.18.0.1\nb IN 10 A 198.18.0.2\nc IN A 198.18.0.3\nd 10 A 198.18.0.4\n' +
    'e A 198.18.0.5\nf CLASS1 A 198.18.0.6\ng CH TXT "x"\nh TXT "y"\n');
  t.deepEqual(z.records.map((r) => [r.ttl, r.class]), [[10, 1], [10, 1], [60, 1], [10, 1], [60, 1], [60, 1], [60, 3], [60, 3]]);
  t.deepEqual(problems('a IN IN A 198.18.0.1\n'), ["1: unrecognized RR type 'IN'"]);
  t.deepEqual(problems('a 10 20 A 198.18.0.1\n'), ["1: unrecognized RR type '20'"]);
});

test('parentheses across lines, comments everywhere, a comment after ")"', (t) => {
  const z = parse('$TTL 60\n@ IN SOA ( ns1 ; primary\n  hostmaster ; mailbox\n ( 1 ) 2 ; nested\n 3 4\n 5 ) ; after\n' +
    'next ( A ) 198.18.0.1 ; parentheses around one token\n');
  t.deepEqual(lines(z), [
    'example.com. 60 IN SOA ns1.example.com. hostmaster.example.com. 1 2 3 4 5',
    'next.example.com. 60 IN A 198.18.0.1',
  ]);
  t.deepEqual(z.records.map((r) => r.line), [2, 7], 'a record is named by the line it starts on');
  t.deepEqual(problems('$TTL 60\nx MX ( 10\n\n  bad.\\300 )\n'), ['4: bad escape \'\\300\' in domain name (use \\DDD with DDD at most 255)'],
    'an error inside parentheses names the line of the bad token');
});

test('the blank owner is the previous owner; blank and comment-only lines do not change it', (t) => {
  const z = parse('$TTL 60\nwww A 198.18.0.1\n\n; comment\n   \n\tAAAA 2001:db8::1\n  IN TXT "x"\n');
  t.deepEqual(lines(z), [
    'www.example.com. 60 IN A 198.18.0.1', 'www.example.com. 60 IN AAAA 2001:db8::1', 'www.example.com. 60 IN TXT "x"',
  ]);
  t.is(z.records[0]!.owner, z.records[2]!.owner, 'one owner array, shared');
  t.deepEqual(problems('  A 198.18.0.1\n'), ['1: the first record has no owner name (the line starts with a blank, and no record comes before it)']);
});

test('owner names are interned: the same spelling shares one array, another case does not', (t) => {
  const z = parse('$TTL 1\na A 198.18.0.1\nb A 198.18.0.2\na AAAA ::1\nA TXT "x"\n');
  t.is(z.records[0]!.owner, z.records[2]!.owner);
  t.not(z.records[0]!.owner, z.records[3]!.owner);
  t.is(nameToText(z.records[3]!.owner), 'A.example.com.');
});

test('a name in column 1 is the owner, even IN (with a warning); indented, IN is the class', (t) => {
  const z = parse('$TTL 1\nwww A 198.18.0.1\nIN A 198.18.0.2\n IN A 198.18.0.3\n');
  t.deepEqual(lines(z), ['www.example.com. 1 IN A 198.18.0.1', 'IN.example.com. 1 IN A 198.18.0.2', 'IN.example.com. 1 IN A 198.18.0.3']);
  t.is(z.warnings.length, 1);
  t.regex(z.warnings[0]!, /^t\.zone:3: the owner name is 'IN', which looks like a class/);
  t.deepEqual(parse('$TTL 1\nin A 198.18.0.1\n').warnings, [], 'a lower-case in is an ordinary name');
  t.regex(problems('$TTL 1\nwww A 198.18.0.1\nA 198.18.0.2\n')[0]!, /'198\.18\.0\.2' is not a valid TTL .* \(the line starts with 'A' in column 1, which makes it the owner name; indent/);
  t.regex(problems('$TTL 1\nwww A 198.18.0.1\nTXT "x"\n')[0]!, /unrecognized RR type 'x' \(the line starts with 'TXT' in column 1/);
});

test('quoted strings and escapes in names and strings (RFC 1035 §5.1)', (t) => {
  const z = parse('$TTL 1\n"quoted owner" TXT "with ; semicolon" "and (parens)" "esc\\"aped"\n' +
    'a\\.b TXT x\\ y\n\\097\\098 TXT "\\104\\105"\nx\\;y TXT a\\;b\n');
  t.deepEqual(lines(z), [
    'quoted\\032owner.example.com. 1 IN TXT "with ; semicolon" "and (parens)" "esc\\"aped"',
    'a\\.b.example.com. 1 IN TXT "x y"',
    'ab.example.com. 1 IN TXT "hi"',
    'x\\;y.example.com. 1 IN TXT "a;b"',
  ]);
  t.deepEqual([...z.records[1]!.owner.subarray(0, 4)], [3, 0x61, 0x2e, 0x62], 'an escaped dot stays inside its label');
  t.deepEqual(problems('$TTL 1\na TXT "x\\"\n'), ['2: unterminated quoted string (it opens on line 2)']);
});

test('a quoted string may span lines; the line count stays right', (t) => {
  const z = parse('$TTL 1\na TXT "one\ntwo"\nb A 198.18.0.1\n');
  t.deepEqual(lines(z), ['a.example.com. 1 IN TXT "one\\010two"', 'b.example.com. 1 IN A 198.18.0.1']);
  t.deepEqual(z.records.map((r) => r.line), [2, 4]);
});

test('CRLF line ends and tabs read as LF and blanks', (t) => {
  const lf = `$TTL 60\n${SOA}\tIN\tNS\tns1\nwww\t300\tIN\tA\t198.18.0.1 ; c\n\tTXT ( "a"\n "b" )\n`;
  const crlf = lf.replace(/\n/g, '\r\n');
  t.deepEqual(lines(parse(crlf)), lines(parse(lf)));
  t.deepEqual(parse(crlf).records.map((r) => r.line), parse(lf).records.map((r) => r.line));
  t.is(parse(crlf).records.length, 4);
});

test('RFC 3597: TYPEnnn, CLASSnnn and \\# in records', (t) => {
  const z = parse('$TTL 1\ng CLASS1 TYPE1 198.18.0.1\ng TYPE65 1 . alpn=h2\ng TYPE65534 \\# 2 abcd\ng CLASS255 TYPE65534 \\# 0\n');
  t.deepEqual(lines(z), [
    'g.example.com. 1 IN A 198.18.0.1',
    'g.example.com. 1 IN HTTPS 1 . alpn="h2"',
    'g.example.com. 1 IN TYPE65534 \\# 2 abcd',
    'g.example.com. 1 CLASS255 TYPE65534 \\# 0',
  ]);
});

test('$INCLUDE: relative to the including file, optional origin, $ORIGIN restored, $TTL and owner carried', (t) => {
  withDir({
    'zones/main.zone': '$ORIGIN example.com.\n$TTL 100\n@ SOA ns1 h 1 2 3 4 5\n$INCLUDE inc/a.inc\n  A 198.18.0.9\nafter A 198.18.0.10\n' +
      '$INCLUDE inc/b.inc lab.example.com.\n',
    'zones/inc/a.inc': '$TTL 77\nfrom-a A 198.18.0.1\n$ORIGIN elsewhere.example.com.\nx A 198.18.0.2\n',
    'zones/inc/b.inc': '@ A 198.18.0.3\nhost A 198.18.0.4\n$INCLUDE c.inc\n',
    'zones/inc/c.inc': 'nested A 198.18.0.5\n',
  }, (dir) => {
    const z = parseZoneFile(join(dir, 'zones/main.zone'));
    t.deepEqual(lines(z), [
      'example.com. 100 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5',
      'from-a.example.com. 77 IN A 198.18.0.1',
      'x.elsewhere.example.com. 77 IN A 198.18.0.2',
      'x.elsewhere.example.com. 77 IN A 198.18.0.9',
      'after.example.com. 77 IN A 198.18.0.10',
      'lab.example.com. 77 IN A 198.18.0.3',
      'host.lab.example.com. 77 IN A 198.18.0.4',
      'nested.lab.example.com. 77 IN A 198.18.0.5',
    ]);
    t.deepEqual(z.records.map((r) => `${r.file.slice(dir.length + 1)}:${r.line}`), [
      'zones/main.zone:3', 'zones/inc/a.inc:2', 'zones/inc/a.inc:4', 'zones/main.zone:5', 'zones/main.zone:6',
      'zones/inc/b.inc:1', 'zones/inc/b.inc:2', 'zones/inc/c.inc:1',
    ]);
  });
});

test('$INCLUDE errors: a missing file (APPL_ERR_ZONE_READ), a loop, too deep, bad arguments', (t) => {
  withDir({
    'm.zone': '$ORIGIN example.com.\n@ SOA ns1 h 1 2 3 4 5\n$INCLUDE missing.inc\n$INCLUDE\n$INCLUDE a b c\nok A 198.18.0.1\n',
    'loop.zone': '$ORIGIN example.com.\n$INCLUDE loop2.inc\n',
    'loop2.inc': 'x A 198.18.0.1\n$INCLUDE loop.zone\n',
    'self.zone': '$ORIGIN example.com.\n$INCLUDE self.zone\n',
    'deep.zone': '$ORIGIN example.com.\n$INCLUDE d1.inc\n',
    ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`d${i + 1}.inc`, `$INCLUDE d${i + 2}.inc\n`])),
    'd13.inc': 'x A 198.18.0.1\n',
  }, (dir) => {
    const e = t.throws(() => parseZoneFile(join(dir, 'm.zone')), { instanceOf: ZoneErrors }) as ZoneErrors;
    t.is(e.code, 'APPL_ERR_ZONE_READ', 'the first problem decides the code');
    t.deepEqual(e.problems.map((p) => `${p.code} ${p.line}`), ['APPL_ERR_ZONE_READ 3', 'APPL_ERR_ZONE_PARSE 4', 'APPL_ERR_ZONE_PARSE 5']);
    t.regex(e.problems[0]!.message, /cannot read \$INCLUDE file 'missing\.inc' \(.*missing\.inc\): ENOENT/);
    const loop = t.throws(() => parseZoneFile(join(dir, 'loop.zone')), { instanceOf: ZoneErrors }) as ZoneErrors;
    t.is(loop.file, join(dir, 'loop2.inc'));
    t.is(loop.line, 2);
    t.regex(loop.message, /\$INCLUDE loop: 'loop\.zone' is already being read \(.*loop\.zone includes .*loop2\.inc includes .*loop\.zone\)/);
    t.regex((t.throws(() => parseZoneFile(join(dir, 'self.zone'))) as Error).message, /\$INCLUDE loop/);
    t.regex((t.throws(() => parseZoneFile(join(dir, 'deep.zone'))) as Error).message, /nested deeper than 10/);
  });
});

test('parseZoneFile: an unreadable file is APPL_ERR_ZONE_READ naming it', (t) => {
  const e = t.throws(() => parseZoneFile('/nonexistent/example.com.zone'), { instanceOf: BuildInputError });
  t.is(e.code, 'APPL_ERR_ZONE_READ');
  t.regex(e.message, /^\/nonexistent\/example\.com\.zone: cannot read the zone file: ENOENT/);
});

test('several errors are reported at once, each with its line; the message lists them', (t) => {
  const text = '$TTL 1\na A 1.2.3\nb MX x y\nc FOO\nd A 198.18.0.1\ne TXT "\\999"\n';
  const e = t.throws(() => parse(text), { instanceOf: ZoneErrors }) as ZoneErrors;
  t.true(e instanceof BuildInputError);
  t.is(e.code, 'APPL_ERR_ZONE_PARSE');
  t.is(e.file, 't.zone');
  t.is(e.line, 2);
  t.is(e.total, 4);
  t.deepEqual(e.problems.map((p) => p.line), [2, 3, 4, 6]);
  t.is(e.message, [
    "t.zone:2: invalid IPv4 address '1.2.3'",
    "t.zone:3: MX: 'x' is not a number 0-65535",
    "t.zone:4: unrecognized RR type 'FOO'",
    "t.zone:6: bad escape '\\999' in text (use \\DDD with DDD at most 255)",
    '4 errors in zone example.com.; no image was written',
  ].join('\n'));
});

test('a flood of errors: all counted, 50 listed, 1,000 kept', (t) => {
  const text = '$TTL 1\n' + 'x A bad\n'.repeat(1200);
  const e = t.throws(() => parse(text), { instanceOf: ZoneErrors }) as ZoneErrors;
  t.is(e.total, 1200);
  t.is(e.problems.length, 1000);
  t.is(e.message.split('\n').length, 52);
  t.regex(e.message, /\.\.\. and 1150 more\n1200 errors in zone example\.com\.; no image was written$/);
});

test('lexical errors: unmatched ")", "(" left open at the end, an unknown directive', (t) => {
  t.deepEqual(problems('$TTL 1\na A 198.18.0.1 )\nb A 198.18.0.2\n$GENERATE 1-2 h$ A 198.18.0.$\nc TXT ( "x"\n\n'), [
    "2: ')' without a matching '('",
    "4: unknown directive '$GENERATE' (known: $ORIGIN, $TTL, $INCLUDE)",
    "5: end of file inside parentheses: the '(' on line 5 has no ')'",
  ]);
});

test('an entry with no type, and a quoted $ is an owner, not a directive', (t) => {
  t.deepEqual(problems('$TTL 1\na 300 IN\n'), ['2: the record has no type']);
  t.deepEqual(lines(parse('$TTL 1\n"$x" A 198.18.0.1\n')), ['\\$x.example.com. 1 IN A 198.18.0.1']);
});

test('zone text is bytes: UTF-8 in names and strings is kept as octets', (t) => {
  const z = parse('$TTL 1\nbücher TXT "café"\n');
  t.is(recordToText(z.records[0]!), 'b\\195\\188cher.example.com. 1 IN TXT "caf\\195\\169"');
});

test('a UTF-8 byte-order mark at the start is skipped, with a warning', (t) => {
  const z = parse('\ufeff$TTL 1\nwww A 198.18.0.1\n');
  t.deepEqual(lines(z), ['www.example.com. 1 IN A 198.18.0.1']);
  t.deepEqual(z.warnings, ['t.zone:1: the file starts with a UTF-8 byte-order mark; it was skipped']);
});
