// checkZone (nsd-checkzone's checks plus apex NS).

import test from 'ava';
import {
  checkZone, parseZoneText, recordToText, ZoneErrors, type ParsedZone,
} from '../../../specializers/dns/zone.js';

const HEAD = '$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 2h 30m 2w 5m\n  NS ns1\nns1 A 198.18.0.1\n';

const parse = (body: string, head = HEAD): ParsedZone => parseZoneText(head + body, { file: 'z.zone', origin: 'example.com' });
const check = (body: string, head = HEAD): ParsedZone => checkZone(parse(body, head));

function problems(body: string, head = HEAD): string[] {
  try {
    check(body, head);
  } catch (e) {
    if (e instanceof ZoneErrors) {
      for (const p of e.problems) if (p.code !== 'APPL_ERR_ZONE_CHECK') throw new Error(`unexpected code ${p.code}`);
      return e.problems.map((p) => `${p.line}: ${p.message}`);
    }
    throw e;
  }
  return [];
}

test('a good zone passes unchanged: same records array, no new warnings', (t) => {
  const z = parse('www A 198.18.0.2\n*.wild A 198.18.0.3\nsub NS ns.sub\nns.sub A 198.18.0.4\nhost.deep.ent A 198.18.0.5\n' +
    'ext CNAME www.example.net.\n');
  const c = checkZone(z);
  t.is(c.records, z.records);
  t.deepEqual(c.warnings, []);
  t.is(c.origin, z.origin);
});

test('exactly one SOA, at the apex', (t) => {
  t.deepEqual(problems('', '$ORIGIN example.com.\n$TTL 1\n@ NS ns1\n'),
    ["3: zone example.com. has no SOA record at its apex; add one ('@ SOA primary-ns hostmaster serial refresh retry expire minimum')"]);
  t.deepEqual(problems('@ SOA ns2 hostmaster 2 1 1 1 1\n'),
    ['6: a second SOA record at the apex (the first is at z.zone:3); a zone has exactly one']);
  t.deepEqual(problems('sub SOA ns1 hostmaster 1 1 1 1 1\n'), ['6: SOA record at sub.example.com., which is not the zone apex example.com.']);
  t.deepEqual(problems('', '$ORIGIN example.com.\n$TTL 1\nsub SOA ns1 hostmaster 1 1 1 1 1\n@ NS ns1\n'), [
    '3: SOA record at sub.example.com., which is not the zone apex example.com.',
    "3: zone example.com. has no SOA record at its apex; add one ('@ SOA primary-ns hostmaster serial refresh retry expire minimum')",
  ]);
});

test('NS at the apex (kzonecheck checks it; nsd-checkzone 4.6 does not)', (t) => {
  t.deepEqual(problems('', '$ORIGIN example.com.\n$TTL 1\n@ SOA ns1 h 1 1 1 1 1\nsub NS ns1\n'),
    ["3: zone example.com. has no NS records at its apex; add at least one ('@ NS ns1.example.com.')"]);
});

test('CNAME and other data (RFC 1034 §3.6.2, RFC 2181 §10.1); RRSIG and NSEC allowed beside it (RFC 4035 §2.5)', (t) => {
  t.deepEqual(problems('c CNAME www\nc A 198.18.0.2\n'), [
    '7: CNAME and other data at the same name c.example.com. (the CNAME is at z.zone:6; RFC 1034 §3.6.2 allows nothing else there but RRSIG and NSEC)',
  ]);
  t.deepEqual(problems('c A 198.18.0.2\nC CNAME www\n'), [
    '7: CNAME and other data at the same name C.example.com. (the CNAME is at z.zone:7; RFC 1034 §3.6.2 allows nothing else there but RRSIG and NSEC)',
  ], 'the later of the two is named; names compare case-insensitively');
  t.deepEqual(problems('c CNAME x\nc CNAME y\n'), ['7: multiple CNAME records at c.example.com. (a name has at most one, RFC 1034 §3.6.2)']);
  t.regex(problems('@ CNAME www\n')[0]!, /^6: CNAME and other data at the same name example\.com\./);
  t.deepEqual(problems('c CNAME x\nc RRSIG A 13 2 300 20240701000000 20240601000000 1 example.com. AAAA\nc NSEC d CNAME RRSIG NSEC\n'), []);
  t.deepEqual(problems('c CNAME x\nc CNAME x\n'), [], 'an identical second CNAME is a duplicate, dropped');
});

test('DNAME rules (RFC 6672 §2.3, §2.4)', (t) => {
  t.deepEqual(problems('d DNAME example.net.\nd A 198.18.0.2\nd TXT "fine"\n'), []);
  t.deepEqual(problems('d DNAME x.\nd DNAME y.\n'), ['7: multiple DNAME records at d.example.com. (a name has at most one, RFC 6672 §2.4)']);
  t.deepEqual(problems('d DNAME x.\nd CNAME y.\n'), [
    '7: CNAME and DNAME at the same name d.example.com. (the CNAME is at z.zone:7; RFC 1034 §3.6.2 allows nothing else there but RRSIG and NSEC)',
  ]);
  t.deepEqual(problems('a.b.d A 198.18.0.2\nd DNAME x.\nb.d TXT "x"\n'), [
    '6: a.b.d.example.com. is below the DNAME at d.example.com.; no data may exist below a DNAME (RFC 6672 §2.4)',
    '8: b.d.example.com. is below the DNAME at d.example.com.; no data may exist below a DNAME (RFC 6672 §2.4)',
  ]);
});

test('data outside the zone; names outside in RDATA are fine', (t) => {
  t.deepEqual(problems('www.example.net. A 198.18.0.2\nexample.com.example.net. A 198.18.0.3\nbadexample.com. A 198.18.0.4\n. NS x.\n'), [
    '6: out of zone data: www.example.net. is outside the zone example.com.',
    '7: out of zone data: example.com.example.net. is outside the zone example.com.',
    '8: out of zone data: badexample.com. is outside the zone example.com.',
    '9: out of zone data: . is outside the zone example.com.',
  ]);
  t.deepEqual(problems('x CNAME www.example.net.\ny MX 10 mail.example.org.\nWWW.EXAMPLE.COM. A 198.18.0.5\n'), []);
});

test('only class IN is served', (t) => {
  t.deepEqual(problems('c CH TXT "x"\nh CLASS4 TXT "y"\n'), [
    '6: class CH: only class IN is supported', '7: class HS: only class IN is supported',
  ]);
});

test('duplicates are dropped with a warning naming both lines; owners and names in RDATA compare case-insensitively', (t) => {
  const z = check('a A 198.18.0.2\nA A 198.18.0.2\nsub NS ns.example.net.\nsub NS NS.Example.NET.\n' +
    't TXT "Case"\nt TXT "case"\nt TXT "Case"\n');
  t.deepEqual(z.records.slice(3).map(recordToText), [
    'a.example.com. 300 IN A 198.18.0.2',
    'sub.example.com. 300 IN NS ns.example.net.',
    't.example.com. 300 IN TXT "Case"',
    't.example.com. 300 IN TXT "case"',
  ]);
  t.deepEqual(z.warnings, [
    'z.zone:7: duplicate record dropped: A.example.com. 300 IN A 198.18.0.2 (same as z.zone:6)',
    'z.zone:9: duplicate record dropped: sub.example.com. 300 IN NS NS.Example.NET. (same as z.zone:8)',
    'z.zone:12: duplicate record dropped: t.example.com. 300 IN TXT "Case" (same as z.zone:10)',
  ]);
});

test('TTLs that differ within an RRset are a warning, as in NSD (RFC 2181 §5.2)', (t) => {
  const z = check('w 60 A 198.18.0.2\nw 120 A 198.18.0.3\nw 120 AAAA 2001:db8::1\nw 30 A 198.18.0.2\n');
  t.deepEqual(z.warnings, [
    'z.zone:9: duplicate record dropped: w.example.com. 30 IN A 198.18.0.2 (same as z.zone:6)',
    'z.zone:9: w.example.com. TTL 30 does not match the TTL 60 of the A RRset (RFC 2181 §5.2)',
    'z.zone:7: w.example.com. TTL 120 does not match the TTL 60 of the A RRset (RFC 2181 §5.2)',
  ]);
  t.is(z.records.length, 3 + 3);
});

test('many duplicates: the first 100 warned one by one, the rest counted', (t) => {
  const z = check('d A 198.18.0.2\n'.repeat(151));
  t.is(z.records.length, 4);
  t.is(z.warnings.length, 101);
  t.is(z.warnings[100], 'z.zone: 50 more duplicate records dropped');
});

test('every check error at once, APPL_ERR_ZONE_CHECK, file and line of the first', (t) => {
  const e = t.throws(() => check('c CNAME x\nc A 198.18.0.2\nwww.example.net. A 198.18.0.3\n'), { instanceOf: ZoneErrors }) as ZoneErrors;
  t.is(e.code, 'APPL_ERR_ZONE_CHECK');
  t.is(e.file, 'z.zone');
  t.is(e.total, 2);
  t.deepEqual(e.problems.map((p) => p.line).sort(), [7, 8]);
  t.regex(e.message, /\n2 errors in zone example\.com\.; no image was written$/);
});

test('RRSIGs at one name may differ in TTL (each has its RRset\'s, RFC 4034 §3): no RFC 2181 warning', (t) => {
  const z = check('@ RRSIG SOA 13 2 3600 20240701000000 20240601000000 1 example.com. AAAA\n@ 300 RRSIG NSEC 13 2 300 20240701000000 20240601000000 1 example.com. AAAA\n');
  t.deepEqual(z.warnings.filter((w) => w.includes('RFC 2181')), []);
});

test('delegations: glue is fine, other data below or at a cut is warned about, missing glue too', (t) => {
  t.deepEqual(check('sub NS ns.sub\nsub DS 1 13 2 00\nns.sub A 198.18.0.2\nsub2 NS sub2\nsub2 AAAA 2001:db8::2\n' +
    'far NS ns.example.net.\n').warnings, []);
  t.deepEqual(check('sub NS ns.sub\nsub NS ns2.sub\nns.sub A 198.18.0.2\nwww.sub TXT "x"\nsub MX 10 mail\nx.y.sub AAAA ::1\n' +
    'deeper.sub NS ns.deeper.sub\n').warnings, [
    'z.zone:10: sub.example.com. MX is at the delegation sub.example.com. and will never be served (only the child zone\'s servers answer for it)',
    'z.zone:9: www.sub.example.com. TXT is below the delegation sub.example.com. and will never be served (only the child zone\'s servers answer for it)',
    'z.zone:12: deeper.sub.example.com. NS is below the delegation sub.example.com. and will never be served (only the child zone\'s servers answer for it)',
    'z.zone:7: the delegation sub.example.com. names ns2.sub.example.com., which is inside it, but the zone has no A or AAAA glue for it: resolvers cannot reach that server',
  ]);
});

// The model takes the checker's owner table over (ids as its nodes' positions) when the apex
// is the table's first name; otherwise it interns the owners itself. Both give one model.
test('the model built from the checker\'s owner table equals the one that interns the owners itself', async (t) => {
  const { buildModel } = await import('../../../specializers/dns/model.js');
  const { nameToText } = await import('../../../specializers/dns/dns-name.js');
  const describe = (z: ParsedZone): string[] => buildModel([z]).nodes.list.map((n) => {
    const recs: string[] = [];
    for (let i = n.recStart; i < n.recStart + n.recCount; i++) {
      const k = n.recs.order[i]!;
      recs.push(`${n.recs.store.type[k]}/${n.recs.store.ttl[k]}/${n.recs.store.line[k]}`);
    }
    return `${nameToText(n.name)} apex=${n.isApex} cut=${n.isCut} parent=${n.parent ? nameToText(n.parent.name) : '-'} ` +
      `wild=${n.wildcard ? nameToText(n.wildcard.name) : '-'} above=${n.cutAbove ? nameToText(n.cutAbove.name) : '-'} ${recs.join(',')}`;
  });
  const bodies: Array<[string, string?]> = [
    ['www A 198.18.0.2\n*.wild A 198.18.0.3\nsub NS ns.sub\nns.sub A 198.18.0.4\nhost.deep.ent A 198.18.0.5\next CNAME www.example.net.\n'],
    // Owners in several spellings, records of one name apart, duplicates dropped (the ids filtered with the records).
    ['WWW A 198.18.0.2\nmail A 198.18.0.9\nwww AAAA 2001:db8::2\nWww A 198.18.0.2\na.b.C A 198.18.0.7\nA.B.c TXT "x"\nwww A 198.18.0.2\n'],
    // The apex is not the first owner: the model interns the owners itself.
    ['@ SOA ns1 hostmaster 1 2h 30m 2w 5m\n@ NS ns1\nns1 A 198.18.0.1\nwww A 198.18.0.2\n', '$ORIGIN example.com.\n$TTL 300\nfirst A 198.18.0.8\n'],
  ];
  for (const [body, head] of bodies) {
    const taken = check(body, head);
    t.truthy(taken.owners, 'the checker hands its owner table over');
    const own = check(body, head);
    own.owners = undefined;
    t.deepEqual(describe(taken), describe(own));
  }
});
