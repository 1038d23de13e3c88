// RDATA: presentation → wire for each type, with the expected octets written out by hand
// from the RFCs (several are the RFCs' own examples), wire → presentation, and the errors.

import test from 'ava';
import {
  parseZoneText, rdataToText, textToType, ZoneErrors, recordToText,
} from '../../../specializers/dns/zone.js';

const EX = '076578616d706c6503636f6d00'; // example.com.
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const name = (...labels: string[]): string =>
  labels.map((l) => l.length.toString(16).padStart(2, '0') + Buffer.from(l).toString('hex')).join('') + '00';

function parse1(type: string, rdata: string): { rdata: Uint8Array; type: number } {
  const z = parseZoneText(`$ORIGIN example.com.\nx 300 IN ${type} ${rdata}\n`, { file: 't.zone' });
  return z.records[0]!;
}
const wire = (type: string, rdata: string): string => hexOf(parse1(type, rdata).rdata);
const text = (type: string, rdata: string): string => {
  const r = parse1(type, rdata);
  return rdataToText(r.type, r.rdata);
};
function error(type: string, rdata: string): string {
  try {
    parse1(type, rdata);
  } catch (e) {
    if (e instanceof ZoneErrors) return e.problems[0]!.message;
    throw e;
  }
  throw new Error(`no error for ${type} ${rdata}`);
}

test('A (RFC 1035 §3.4.1)', (t) => {
  t.is(wire('A', '198.18.0.1'), 'c6120001');
  t.is(wire('A', '0.0.0.0'), '00000000');
  for (const bad of ['198.18.0.256', '198.18.0', '198.18.0.1.2', '198.018.0.1', '198.18.0.x', '198.18..1', '-1.0.0.0']) {
    t.regex(error('A', bad), /invalid IPv4 address/, bad);
  }
});

test('AAAA: every RFC 4291 §2.2 form; RFC 5952 output', (t) => {
  t.is(wire('AAAA', '2001:db8::1'), '20010db8000000000000000000000001');
  t.is(wire('AAAA', '::'), '0'.repeat(32));
  t.is(wire('AAAA', '::1'), '0'.repeat(31) + '1');
  t.is(wire('AAAA', '1::'), '0001' + '0'.repeat(28));
  t.is(wire('AAAA', '1:2:3:4:5:6:7:8'), '00010002000300040005000600070008');
  t.is(wire('AAAA', '2001:DB8:0:0:8:800:200C:417A'), '20010db80000000000080800200c417a');
  t.is(wire('AAAA', '::ffff:198.18.0.1'), '00000000000000000000ffffc6120001');
  t.is(wire('AAAA', '1:2:3:4:5:6:198.18.0.1'), '000100020003000400050006c6120001');
  t.is(text('AAAA', '2001:0db8:0000:0000:0000:0000:0002:0001'), '2001:db8::2:1');
  t.is(text('AAAA', '2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  t.is(text('AAAA', '2001:0:0:1:0:0:0:1'), '2001:0:0:1::1');
  for (const bad of ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', ':1::', '1:::2', '12345::', '::g', '1:2:3:4:5:6:7::8',
    '1:', ':', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4']) {
    t.regex(error('AAAA', bad), /invalid IPv6 address/, bad);
  }
});

test('names in RDATA: relative, absolute, @, escapes', (t) => {
  t.is(wire('NS', 'ns1'), name('ns1', 'example', 'com'));
  t.is(wire('NS', 'ns1.example.net.'), name('ns1', 'example', 'net'));
  t.is(wire('CNAME', '@'), EX);
  t.is(wire('PTR', '.'), '00');
  t.is(wire('DNAME', 'a\\.b.example.net.'), '03612e62076578616d706c65036e657400');
  t.is(wire('NS', 'NS1.Example.NET.'), name('NS1', 'Example', 'NET'), 'case preserved');
  t.is(text('NS', 'a\\.b\\032c\\\\d.'), 'a\\.b\\032c\\\\d.');
});

test('SOA, with timer units (RFC 1035 §3.3.13)', (t) => {
  t.is(wire('SOA', 'ns1 hostmaster 1 2h 30m 2w 5m'),
    name('ns1', 'example', 'com') + name('hostmaster', 'example', 'com') + '00000001' + '00001c20' + '00000708' + '00127500' + '0000012c');
  t.is(wire('SOA', '. . 4294967295 0 0 0 0'), '0000' + 'ffffffff' + '0'.repeat(32));
  t.regex(error('SOA', 'ns1 hostmaster 4294967296 1 1 1 1'), /not a number 0-4294967295/);
  t.regex(error('SOA', 'ns1 hostmaster 1 1x 1 1 1'), /time period/);
  t.regex(error('SOA', 'ns1 hostmaster 1 1 1 1'), /ends early/);
});

test('MX, SRV, RP, HINFO, NAPTR, AFSDB, MINFO', (t) => {
  t.is(wire('MX', '10 mail'), '000a' + name('mail', 'example', 'com'));
  t.is(wire('SRV', '10 60 5060 sip.example.com.'), '000a003c13c4' + name('sip', 'example', 'com'));
  t.is(wire('RP', 'hostmaster txt'), name('hostmaster', 'example', 'com') + name('txt', 'example', 'com'));
  t.is(wire('HINFO', '"PC" NetBSD'), '02504306' + Buffer.from('NetBSD').toString('hex'));
  t.is(wire('NAPTR', '100 10 "U" "E2U+sip" "!^.*$!sip:a@b!" .'),
    '0064000a' + '0155' + '07' + Buffer.from('E2U+sip').toString('hex') + '0e' + Buffer.from('!^.*$!sip:a@b!').toString('hex') + '00');
  t.is(wire('AFSDB', '1 afs'), '0001' + name('afs', 'example', 'com'));
  t.is(wire('MINFO', 'a b'), name('a', 'example', 'com') + name('b', 'example', 'com'));
  t.regex(error('MX', '65536 mail'), /not a number 0-65535/);
  t.regex(error('MX', '10'), /MX RDATA ends early: a domain name expected/);
  t.regex(error('HINFO', '"one"'), /ends early/);
  t.regex(error('MX', '10 mail extra'), /trailing data after the MX RDATA: 'extra'/);
});

test('TXT: several strings, quotes, escapes, the 255-octet limit (RFC 1035 §3.3.14)', (t) => {
  t.is(wire('TXT', '"a" "bc"'), '0161026263');
  t.is(wire('TXT', '""'), '00');
  t.is(wire('TXT', 'plain'), '05' + Buffer.from('plain').toString('hex'));
  t.is(wire('TXT', '"a;b (c)"'), '07' + Buffer.from('a;b (c)').toString('hex'));
  t.is(wire('TXT', '"q\\"q" "\\\\" "\\065\\000"'), '03712271' + '015c' + '024100');
  t.is(wire('TXT', `"${'x'.repeat(255)}"`), 'ff' + '78'.repeat(255));
  t.is(wire('TXT', `"${'\\120'.repeat(255)}"`), 'ff' + '78'.repeat(255), '255 octets written as \\DDD');
  t.is(text('TXT', '"tab\\009" "q\\"" "\\\\" "é"'), '"tab\\009" "q\\"" "\\\\" "\\195\\169"');
  t.regex(error('TXT', `"${'x'.repeat(256)}"`), /longer than 255; split it/);
  t.regex(error('TXT', `"${'\\120'.repeat(256)}"`), /longer than 255/);
  t.regex(error('TXT', '"\\256"'), /bad escape '\\256'/);
  t.regex(error('TXT', '"\\25"'), /bad escape/);
  t.regex(error('TXT', ''), /ends early/);
  t.is(wire('SPF', '"v=spf1 -all"'), '0b' + Buffer.from('v=spf1 -all').toString('hex'));
});

test('CAA (RFC 8659 §4.1.1)', (t) => {
  t.is(wire('CAA', '0 issue "ca.example.net"'), '0005' + Buffer.from('issue').toString('hex') + Buffer.from('ca.example.net').toString('hex'));
  t.is(wire('CAA', '128 tbs ""'), '8003' + Buffer.from('tbs').toString('hex'));
  t.is(text('CAA', '0 issue ca.example.net'), '0 issue "ca.example.net"');
  t.is(text('CAA', '\\# 5 0002612d62'), '\\# 5 0002612d62', 'a tag the text form cannot carry prints as \\#');
  t.regex(error('CAA', '0 "is sue" x'), /tag/);
  t.regex(error('CAA', '0 is-sue x'), /tag/);
  t.regex(error('CAA', '256 issue x'), /0-255/);
});

test('DS, DNSKEY, TLSA, SSHFP: hex and base64 with blanks, algorithm mnemonics (RFC 4034 §5.4 example)', (t) => {
  const digest = '2BB183AF5F22588179A53B0A98631FAD1A292118';
  t.is(wire('DS', `60485 5 1 ${digest}`), 'ec450501' + digest.toLowerCase());
  t.is(wire('DS', `60485 RSASHA1 1 ( ${digest.slice(0, 10)} ${digest.slice(10)} )`), 'ec450501' + digest.toLowerCase());
  t.is(text('DS', `60485 5 1 ${digest}`), `60485 5 1 ${digest.toLowerCase()}`);
  const key = 'AQPSKmynfzW4kyBv015MUG2DeIQ3Cbl+BBZH4b/0PY1kxkmvHjcZc8nokfzj31GajIQKY+5CptLr3buXA10hWqTkF7H6RfoRqXQeogmMHfpftf6zMv1LyBUgia7za6ZEzOJBOztyvhjL742iU/TpPSEDhm2SNKLijfUppn1UaNvv4w==';
  const k = parse1('DNSKEY', `256 3 RSASHA1 ${key.slice(0, 40)} ${key.slice(40, 100)}\n\t${key.slice(100)}`.replace('\n', ' '));
  t.is(hexOf(k.rdata), '01000305' + Buffer.from(key, 'base64').toString('hex'));
  t.is(rdataToText(k.type, k.rdata), `256 3 5 ${key}`);
  t.is(wire('TLSA', '3 1 1 ( 0102 0304 )'), '03010101020304');
  t.is(wire('SSHFP', '4 2 ABCDEF'), '0402abcdef');
  t.regex(error('DS', '1 13 2 abc'), /odd number of hex digits/);
  t.regex(error('DS', '1 13 2 abcx'), /bad hex digit 'x'/);
  t.regex(error('DS', '1 NOSUCHALG 2 ab'), /DNSSEC algorithm/);
  t.regex(error('DS', '1 13 2'), /ends early: hex data expected/);
  t.regex(error('DNSKEY', '256 3 13 AAA'), /multiple of 4/);
  t.regex(error('DNSKEY', '256 3 13 AA=A'), /after '=' padding/);
  t.regex(error('DNSKEY', '256 3 13 AB=='), /non-zero bits/);
  t.regex(error('DNSKEY', '256 3 13 A$=='), /unexpected character/);
});

test('RRSIG: type covered, both time forms (RFC 4034 §3.2)', (t) => {
  const sig = 'AAAA';
  const w = wire('RRSIG', `A 13 2 3600 20240701000000 20240601000000 2371 example.com. ${sig}`);
  t.is(w, '0001' + '0d' + '02' + '00000e10' + (1717200000 + 30 * 86400).toString(16) + (1717200000).toString(16) + '0943' + EX + '000000');
  t.is(wire('RRSIG', `A 13 2 3600 1719792000 1717200000 2371 example.com. ${sig}`), w, 'seconds since the epoch');
  t.is(text('RRSIG', `TYPE1 13 2 1h 1719792000 1717200000 2371 @ ${sig}`), `A 13 2 3600 20240701000000 20240601000000 2371 example.com. ${sig}`);
  t.is(text('RRSIG', `A 13 2 1 21060207062815 19700101000000 1 . ${sig}`), `A 13 2 1 21060207062815 19700101000000 1 . ${sig}`);
  t.regex(error('RRSIG', `A 13 2 3600 20241301000000 20240601000000 2371 . ${sig}`), /not a time/);
  t.regex(error('RRSIG', `A 13 2 3600 20240231000000 20240601000000 2371 . ${sig}`), /not a time/);
  t.regex(error('RRSIG', `BOGUS 13 2 3600 20240701000000 20240601000000 2371 . ${sig}`), /not an RR type/);
});

test('NSEC type bitmap: the RFC 4034 §4.3 example', (t) => {
  const w = wire('NSEC', 'host.example.com. A MX RRSIG NSEC TYPE1234');
  t.is(w, name('host', 'example', 'com') + '0006400100000003' + '041b' + '00'.repeat(26) + '20');
  t.is(text('NSEC', 'host.example.com. TYPE1234 NSEC RRSIG MX A A'), 'host.example.com. A MX RRSIG NSEC TYPE1234');
  t.is(wire('NSEC', 'host.example.com.'), name('host', 'example', 'com'), 'an empty bitmap');
  t.regex(error('NSEC', 'host.example.com. A BOGUS'), /'BOGUS' in the type bitmap/);
});

test('NSEC3 and NSEC3PARAM: salt, base32hex hash (RFC 5155 Appendix A)', (t) => {
  t.is(wire('NSEC3', '1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG'),
    '01' + '01' + '000c' + '04aabbccdd' + '14' + '17f3df17b2b2adaef615257de4d2020b80ac6c7c' + '0006400000000002');
  t.is(text('NSEC3', '1 1 12 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG'), '1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG');
  t.is(wire('NSEC3', '1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s'), '010000000014' + '17f3df17b2b2adaef615257de4d2020b80ac6c7c');
  t.is(wire('NSEC3PARAM', '1 0 0 -'), '0100000000');
  t.is(text('NSEC3PARAM', '1 0 10 aabb'), '1 0 10 aabb');
  t.regex(error('NSEC3', '1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3w'), /base32hex/);
  t.regex(error('NSEC3PARAM', '1 0 0 abc'), /odd number/);
});

test('SVCB/HTTPS: keys sorted, every registered key, value lists (RFC 9460 §2, Appendix A)', (t) => {
  t.is(wire('SVCB', '1 . port=443 alpn=h2,h3'), '0001' + '00' + '00010006' + '026832' + '026833' + '00030002' + '01bb');
  t.is(wire('HTTPS', '0 svc'), '0000' + name('svc', 'example', 'com'));
  t.is(wire('SVCB', '1 . mandatory=port,alpn alpn=h2 port=53'),
    '000100' + '000000040001' + '0003' + '00010003026832' + '000300020035');
  t.is(wire('SVCB', '1 . no-default-alpn alpn=h2'), '000100' + '00010003026832' + '00020000');
  t.is(wire('SVCB', '1 . ipv4hint=198.18.0.1,198.18.0.2'), '000100' + '00040008c6120001c6120002');
  t.is(wire('SVCB', '1 . ipv6hint=2001:db8::1'), '000100' + '00060010' + '20010db8000000000000000000000001');
  t.is(wire('SVCB', '1 . ech=AAEC'), '000100' + '00050003000102');
  t.is(wire('SVCB', '1 . dohpath=/q{?dns}'), '000100' + '00070008' + Buffer.from('/q{?dns}').toString('hex'));
  t.is(wire('SVCB', '1 . ohttp'), '000100' + '00080000');
  t.is(wire('SVCB', '1 . key65000=abc key9'), '000100' + '00090000' + 'fde80003616263');
  t.is(wire('SVCB', '1 . "key9=a b"'), '000100' + '00090003612062', 'a whole parameter in quotes');
  t.is(wire('SVCB', '1 . key9=""'), '000100' + '00090000');
  // RFC 9460 Appendix A.1: these two spellings give the same three items.
  const a = wire('SVCB', '1 . alpn="part1,part2,part3\\\\,part4\\\\\\\\"');
  const b = wire('SVCB', '1 . alpn=part1\\,\\p\\a\\r\\t2\\044part3\\092,part4\\092\\\\');
  t.is(a, b);
  t.is(a, '000100' + '00010019' + '057061727431' + '057061727432' + '0c' + Buffer.from('part3,part4\\').toString('hex'));
  t.is(text('SVCB', '1 . alpn="part1,part2,part3\\\\,part4\\\\\\\\"'), '1 . alpn="part1,part2,part3\\\\,part4\\\\\\\\"');
  t.is(text('HTTPS', '1 . port=443 alpn=h2 mandatory=alpn ech=AAEC'), '1 . mandatory=alpn alpn="h2" port=443 ech=AAEC');
  t.regex(error('SVCB', '1 . port=1 port=2'), /'port' appears more than once/);
  t.regex(error('SVCB', '1 . mandatory=alpn'), /mandatory SvcParamKey 'alpn' is missing/);
  t.regex(error('SVCB', '1 . mandatory=mandatory'), /must not list itself/);
  t.regex(error('SVCB', '1 . mandatory=port,port port=1'), /more than once in mandatory/);
  t.regex(error('SVCB', '1 . alpn='), /value expected/);
  t.regex(error('SVCB', '1 . alpn=h2,,h3'), /empty item/);
  t.regex(error('SVCB', '1 . port=70000'), /port '70000'/);
  t.regex(error('SVCB', '1 . no-default-alpn=x'), /takes no value/);
  t.regex(error('SVCB', '1 . ipv4hint=198.18.0.1,::1'), /bad IPv4 address '::1'/);
  t.regex(error('SVCB', '1 . ipv6hint=198.18.0.1'), /bad IPv6 address/);
  t.regex(error('SVCB', '1 . key65535=x'), /reserved/);
  t.regex(error('SVCB', '1 . key012=x'), /unknown SvcParamKey/);
  t.regex(error('SVCB', '1 . foo=bar'), /unknown SvcParamKey 'foo'/);
  t.regex(error('SVCB', '1 . ech=A'), /base64/);
});

test('LOC (RFC 1876): the defaults and the printed form', (t) => {
  t.is(wire('LOC', '42 21 54 N 71 06 18 W -24m 30m'), '0033161389172dd070be15f000988d20');
  t.is(text('LOC', '42 21 54 N 71 06 18 W -24m 30m'), '42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m');
  t.is(text('LOC', '52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m'), '52 22 23.000 N 4 53 32.000 E -2.00m 0m 10000m 10m');
  t.is(text('LOC', '0 N 0 E 0'), '0 0 0.000 N 0 0 0.000 E 0.00m 1m 10000m 10m');
  t.regex(error('LOC', '91 N 0 E 0'), /out of range/);
  t.regex(error('LOC', '42 21 54 X 71 06 18 W 0'), /expected N or S/);
  t.regex(error('LOC', '42 21 54 N 71 06 18 W'), /ends early/);
});

test('URI, EUI48, EUI64, NID, L32, L64, LP, CSYNC, ZONEMD, OPENPGPKEY, DHCID', (t) => {
  t.is(wire('URI', '10 1 "https://x/"'), '000a0001' + Buffer.from('https://x/').toString('hex'));
  t.is(wire('EUI48', '00-00-5e-00-53-2a'), '00005e00532a');
  t.is(wire('EUI64', '00-00-5e-ef-10-00-00-2a'), '00005eef1000002a');
  t.is(wire('NID', '10 0014:4fff:ff20:ee64'), '000a00144fffff20ee64');
  t.is(wire('L32', '10 198.18.0.1'), '000ac6120001');
  t.is(wire('L64', '10 2001:db8:1140:1000'), '000a20010db811401000');
  t.is(wire('LP', '10 l64'), '000a' + name('l64', 'example', 'com'));
  t.is(wire('CSYNC', '66 3 A NS AAAA'), '00000042' + '0003' + '000460000008');
  t.is(wire('ZONEMD', '2024 1 1 00112233445566778899aabbccddeeff'), '000007e8' + '0101' + '00112233445566778899aabbccddeeff');
  t.is(wire('OPENPGPKEY', 'AAEC'), '000102');
  t.is(wire('DHCID', 'AAEC'), '000102');
  t.regex(error('EUI48', '00-00-5e-00-53'), /EUI-48/);
});

test('RFC 3597: \\# for unknown and known types, TYPEnnn for known types', (t) => {
  t.is(wire('TYPE65534', '\\# 3 010203'), '010203');
  t.is(wire('TYPE65534', '\\# 3 01 02 03'), '010203');
  t.is(wire('TYPE65534', '\\# 0'), '');
  t.is(text('TYPE65534', '\\# 3 ABCDEF'), '\\# 3 abcdef');
  t.is(text('TYPE65534', '\\# 0'), '\\# 0');
  t.is(wire('A', '\\# 4 c6120001'), 'c6120001');
  t.is(wire('TYPE1', '198.18.0.1'), 'c6120001');
  t.is(wire('MX', '\\# 16 000a 046d61696c 076578616d706c65 00'), '000a046d61696c076578616d706c6500');
  t.is(text('TXT', '\\# 0'), '\\# 0', 'TXT without a string has no other text form');
  t.is(textToType('TYPE65'), 65);
  t.is(textToType('https'), 65);
  t.is(textToType('TYPE65536'), undefined);
  t.regex(error('A', '\\# 3 010203'), /not a valid A RDATA/);
  t.regex(error('TYPE65534', '\\# 3 0102'), /has 2 octets but announces 3/);
  t.regex(error('TYPE65534', '\\# 1 0102'), /longer than the 1 octets announced/);
  t.regex(error('TYPE65534', '\\# x'), /length 'x'/);
  t.regex(error('TYPE65534', '\\#'), /followed by the RDATA length/);
  t.regex(error('IPSECKEY', '10 1 2 198.18.0.1 AQID'), /no presentation format is known for type IPSECKEY; write its RDATA in the RFC 3597 form/);
  t.is(wire('IPSECKEY', '\\# 4 0a010200'), '0a010200');
});

test('meta and query types are refused in a zone (RFC 6895 §3.1)', (t) => {
  for (const ty of ['ANY', 'AXFR', 'OPT', 'TYPE0', 'TSIG']) t.regex(error(ty, '\\# 0'), /query or meta type/, ty);
});

test('the printed form of every known layout parses back to the same octets', (t) => {
  const samples: [string, string][] = [
    ['SOA', 'ns1 h 1 2 3 4 5'], ['WKS', '\\# 5 c612000106'], ['NAPTR', '1 2 "a" "b" "c" d'],
    ['SVCB', '1 x alpn="a\\\\,b,c" key7=/x key9 mandatory=alpn'], ['HTTPS', '0 .'], ['LOC', '1 2 3.5 S 4 5 6.25 W 100.5m 2m 3m 4m'],
    ['CAA', '0 issue "a\\"b"'], ['URI', '1 2 ""'], ['TXT', '"\\000\\255" ";"'], ['NSEC', 'x TYPE65535'],
  ];
  for (const [ty, rd] of samples) {
    const r = parse1(ty, rd);
    const again = parse1(ty, rdataToText(r.type, r.rdata));
    t.deepEqual(again.rdata, r.rdata, `${ty} ${rd} → ${rdataToText(r.type, r.rdata)}`);
  }
  const z = parseZoneText('$ORIGIN example.com.\nx 1 IN A 198.18.0.1\n', { file: 't' });
  t.is(recordToText(z.records[0]!), 'x.example.com. 1 IN A 198.18.0.1');
});
