// Domain names: text ⇄ wire, limits, comparison, interning (RFC 1035 §2.3.4, §3.1, §5.1; RFC 4343).

import test from 'ava';
import {
  NameTable, isSubdomain, labelCount, lowerName, nameToText, nameToWire, namesEqual, wireNameLength,
} from '../../../specializers/dns/dns-name.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('nameToWire: absolute, relative, @, the root', (t) => {
  const origin = nameToWire('example.com.');
  t.is(hex(origin), '076578616d706c6503636f6d00');
  t.is(hex(nameToWire('www', origin)), '03777777076578616d706c6503636f6d00');
  t.is(hex(nameToWire('@', origin)), hex(origin));
  t.is(hex(nameToWire('.')), '00');
  t.is(hex(nameToWire('a.b.')), '0161016200');
  t.throws(() => nameToWire('www'), { message: /relative domain name 'www' but no origin/ });
});

test('escapes: \\X and \\DDD; an escaped dot stays in its label', (t) => {
  t.is(hex(nameToWire('a\\.b.')), '03612e6200');
  t.is(hex(nameToWire('\\065\\000.')), '02410000');
  t.is(hex(nameToWire('a\\\\b.')), '03615c6200');
  t.throws(() => nameToWire('a\\256.'), { message: /bad escape/ });
  t.throws(() => nameToWire('a\\25.'), { message: /bad escape/ });
  t.throws(() => nameToWire('a\\'), { message: /lone backslash/ });
});

test('limits: 63-octet labels, 255-octet names (RFC 1035 §2.3.4)', (t) => {
  t.is(nameToWire(`${'a'.repeat(63)}.`).length, 65);
  t.throws(() => nameToWire(`${'a'.repeat(64)}.`), { message: /label exceeds 63 octets/ });
  const max = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.`;
  t.is(nameToWire(max).length, 255);
  t.throws(() => nameToWire(`x.${max}`), { message: /exceeds 255 octets/ });
  t.throws(() => nameToWire(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}`, nameToWire(`${'d'.repeat(62)}.`)),
    { message: /exceeds 255 octets once the origin is appended/ });
  t.throws(() => nameToWire('a..b.'), { message: /empty label/ });
  t.throws(() => nameToWire('.a.'), { message: /empty label/ });
  t.throws(() => nameToWire(''), { message: /empty domain name/ });
});

test('nameToText escapes what the lexer or names would read otherwise', (t) => {
  t.is(nameToText(nameToWire('a\\.b\\ c\\;d\\(e\\)f\\"g\\\\h\\@i\\$j.')), 'a\\.b\\032c\\;d\\(e\\)f\\"g\\\\h\\@i\\$j.');
  t.is(nameToText(nameToWire('\\000\\127\\255.')), '\\000\\127\\255.');
  t.is(nameToText(nameToWire('.')), '.');
  t.is(nameToText(nameToWire('*.Wild.Example.')), '*.Wild.Example.');
  t.throws(() => nameToText(Uint8Array.of(0xc0, 0x0c)), { instanceOf: RangeError });
  t.throws(() => nameToText(Uint8Array.of(3, 0x61)), { instanceOf: RangeError });
});

test('comparison, subdomains, labels', (t) => {
  const a = nameToWire('WWW.Example.COM.'), b = nameToWire('www.example.com.');
  t.true(namesEqual(a, b));
  t.false(namesEqual(a, nameToWire('www.example.net.')));
  t.is(hex(lowerName(a)), hex(b));
  t.is(nameToText(a), 'WWW.Example.COM.', 'lowerName copies');
  const apex = nameToWire('example.com.');
  t.true(isSubdomain(a, apex));
  t.true(isSubdomain(apex, apex));
  t.false(isSubdomain(nameToWire('badexample.com.'), apex));
  t.false(isSubdomain(nameToWire('com.'), apex));
  t.true(isSubdomain(apex, nameToWire('.')));
  t.is(labelCount(a), 3);
  t.is(labelCount(nameToWire('.')), 0);
  t.is(wireNameLength(a), a.length);
  t.is(wireNameLength(Uint8Array.of(3, 0x61)), -1);
  t.is(wireNameLength(Uint8Array.of(64, 0)), -1);
});

test('NameTable: ids by exact bytes, or case-folded', (t) => {
  const exact = new NameTable(false);
  const folded = new NameTable(true);
  const names = Array.from({ length: 5000 }, (_, i) => nameToWire(`h${i}.Example.com.`));
  for (const n of names) {
    exact.intern(n, 0, n.length);
    folded.internArray(n);
  }
  t.is(exact.size, 5000);
  t.is(folded.size, 5000);
  const upper = nameToWire('H42.EXAMPLE.COM.');
  t.is(exact.find(upper, 0, upper.length), -1);
  t.is(folded.find(upper, 0, upper.length), 42);
  t.is(folded.names[42], names[42], 'internArray keeps the array itself');
  t.not(exact.names[42], names[42], 'intern copies');
  t.is(exact.intern(names[7]!, 0, names[7]!.length), 7);
  const suffix = names[9]!;
  t.is(folded.find(suffix, 3, suffix.length), -1);
});
