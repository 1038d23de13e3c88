// Properties, with fast-check (fixed seeds, bounded runs):
//  - any record the parser accepts prints as text that parses back to the same octets;
//  - the parser never throws anything but ZoneErrors on arbitrary bytes, and what it
//    accepts passes through checkZone without a crash;
//  - rdataToText never throws on arbitrary RDATA of any type.

import test from 'ava';
import fc from 'fast-check';
import {
  checkZone, parseZoneText, rdataToText, recordToText, ZoneErrors,
} from '../../../specializers/dns/zone.js';

const SEED = 20240601;

const label = fc.stringMatching(/^[a-zA-Z0-9_*-]{1,12}$/);
const escaped = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 })
  .map((bs) => bs.map((b) => `\\${String(b).padStart(3, '0')}`).join(''));
const name = fc.array(fc.oneof(label, escaped), { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.') + '.');
const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 65535 });
const ipv4 = fc.tuple(u8, u8, u8, u8).map((a) => a.join('.'));
const ipv6 = fc.array(u16, { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const text = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 })
  .map((bs) => '"' + bs.map((b) => (b >= 0x30 && b <= 0x7a && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`)).join('') + '"');
const hex = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b).toString('hex'));
const b64 = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b).toString('base64'));

const rdata: fc.Arbitrary<[string, string]> = fc.oneof(
  ipv4.map((a): [string, string] => ['A', a]),
  ipv6.map((a): [string, string] => ['AAAA', a]),
  name.map((n): [string, string] => ['CNAME', n]),
  fc.tuple(u16, name).map(([p, n]): [string, string] => ['MX', `${p} ${n}`]),
  fc.array(text, { minLength: 1, maxLength: 4 }).map((ts): [string, string] => ['TXT', ts.join(' ')]),
  fc.tuple(u16, u16, u16, name).map(([a, b, c, n]): [string, string] => ['SRV', `${a} ${b} ${c} ${n}`]),
  fc.tuple(u8, text).map(([f, v]): [string, string] => ['CAA', `${f} issue ${v}`]),
  fc.tuple(u16, u8, u8, hex).map(([a, b, c, h]): [string, string] => ['DS', `${a} ${b} ${c} ${h}`]),
  fc.tuple(u16, u8, b64).map(([a, c, k]): [string, string] => ['DNSKEY', `${a} 3 ${c} ${k}`]),
  fc.tuple(u16, name, fc.option(u16), fc.option(ipv4)).map(([p, n, port, v4]): [string, string] =>
    ['HTTPS', `${p} ${n}${port === null ? '' : ` port=${port}`}${v4 === null ? '' : ` ipv4hint=${v4}`} alpn=h2,h3`]),
  fc.tuple(u8, u8, u16, fc.option(hex)).map(([a, f, i, s]): [string, string] => ['NSEC3PARAM', `${a} ${f} ${i} ${s ?? '-'}`]),
  fc.uint8Array({ maxLength: 30 }).map((b): [string, string] => ['TYPE65280', `\\# ${b.length} ${Buffer.from(b).toString('hex')}`]),
);

test('every accepted record prints as text that parses back to the same octets', (t) => {
  fc.assert(fc.property(name, fc.integer({ min: 0, max: 2147483647 }), rdata, (owner, ttl, [type, rd]) => {
    const z = parseZoneText(`${owner} ${ttl} IN ${type} ${rd}\n`, { file: 'p', origin: '.' });
    const r = z.records[0]!;
    const again = parseZoneText(recordToText(r) + '\n', { file: 'q', origin: '.' }).records[0]!;
    return Buffer.compare(again.owner, r.owner) === 0 && Buffer.compare(again.rdata, r.rdata) === 0 &&
      again.type === r.type && again.ttl === r.ttl;
  }), { seed: SEED, numRuns: 600 });
  t.pass();
});

const zoneChars = fc.constantFrom(
  ...'abcXYZ019.@$;()"\\ \t\n\r*-_#', 'A ', 'IN ', 'TXT ', 'MX ', 'SOA ', '$TTL ', '$ORIGIN ', '$INCLUDE ', '\\# ', 'TYPE65 ', '1h ',
  '198.18.0.1', '::1', '"x y"', ' ( ', ' ) ', '\n  ', 'alpn=h2', '\\255', '\\999',
);

test('arbitrary input: only ZoneErrors, never another exception; accepted zones pass checkZone without crashing', (t) => {
  fc.assert(fc.property(fc.array(zoneChars, { maxLength: 60 }), (parts) => {
    const src = '$ORIGIN example.com.\n' + parts.join('').replace(/\$INCLUDE/g, '$INCLUDE /nonexistent/');
    try {
      const z = parseZoneText(src, { file: 'fuzz', origin: 'example.com' });
      try {
        checkZone(z);
      } catch (e) {
        if (!(e instanceof ZoneErrors)) throw e;
      }
    } catch (e) {
      if (!(e instanceof ZoneErrors)) throw e;
    }
    return true;
  }), { seed: SEED, numRuns: 2000 });
  t.pass();
});

test('rdataToText never throws, whatever the type and octets', (t) => {
  const types = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(32768, 32769, 65535));
  fc.assert(fc.property(types, fc.uint8Array({ maxLength: 64 }), (type, b) => {
    const s = rdataToText(type, b);
    return typeof s === 'string' && s.length > 0;
  }), { seed: SEED, numRuns: 3000 });
  t.pass();
});
