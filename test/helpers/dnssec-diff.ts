// Signed answers compared with NSD's, every section (as sets), for the signed-zone
// differential tests (test/differential/nsd-dnssec.test.ts, the secondary's
// test/appliance/secondary/serve-signed.test.ts): the corpus of a set of signed zones, and
// the one difference from NSD 4.6 that is expected and checked instead of counted (below a
// DNAME whose substituted name does not exist, NSD leaves out the NSEC that covers that
// name; ours has it, and it must cover it in canonical order, RFC 4034 §6.1).

import { buildModel, hasType, loadZones, rrsetOf, typesOf } from '../../specializers/dns/model.js';
import { canonicalOrder } from '../../specializers/dns/dnssec.js';
import { nameToText, nameToWire } from '../../specializers/dns/zone.js';
import { T } from '../../specializers/dns/rr-types.js';
import { decode, parseCorpusLine, type CorpusQuery, type Decoded } from './dns.js';

export interface SignedCorpus {
  queries: CorpusQuery[];
  /** The DNAME owners (lower case) with their targets. */
  dnames: Array<{ owner: string; target: string }>;
}

/** Every name with its types and the common ones, and names below each: missing, and under wildcards and DNAMEs. */
export function signedCorpus(files: string[]): SignedCorpus {
  const { parsed } = loadZones(files.map((file) => ({ origin: null, file })));
  const m = buildModel(parsed);
  const out: CorpusQuery[] = [];
  const dnames: SignedCorpus['dnames'] = [];
  const common = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'DS', 'ANY', 'DNSKEY', 'NSEC', 'NSEC3', 'RRSIG', 'NSEC3PARAM', 'SRV'];
  for (const n of m.nodes.values()) {
    const name = nameToText(n.name);
    for (const t of new Set([...common, ...typesOf(n).map((t) => `TYPE${t}`)])) out.push(parseCorpusLine(`${name} ${t}`)!);
    for (const p of ['0', 'z', 'zzz', 'x.y', '-']) for (const t of ['A', 'TXT', 'DS', 'NSEC']) out.push(parseCorpusLine(`${p}.${name} ${t}`)!);
    if (hasType(n, T.DNAME)) dnames.push({ owner: name.toLowerCase(), target: nameToText(rrsetOf(n, T.DNAME)!.records[0]!.rdata).toLowerCase() });
  }
  return { queries: out, dnames };
}

/** The substituted name of a query below a DNAME owner, or null. */
function substituted(c: SignedCorpus, qname: string): string | null {
  const q = qname.toLowerCase();
  for (const d of c.dnames) if (q.endsWith(`.${d.owner}`)) return q.slice(0, q.length - d.owner.length) + d.target;
  return null;
}

/** Does an NSEC (owner, next) cover `name` (owner < name < next in canonical order, the last one wrapping)? */
function covers(owner: string, next: string, name: string): boolean {
  const wire = (s: string): Uint8Array => nameToWire(s.endsWith('.') ? s : `${s}.`);
  const o = wire(owner), x = wire(next), n = wire(name);
  const after = canonicalOrder(o, n) < 0;
  const before = canonicalOrder(n, x) < 0;
  return canonicalOrder(o, x) < 0 ? after && before : after || before;
}

/**
 * Differences in header and every section (sets); none in the sections of a truncated
 * answer. The expected difference goes into `expected` instead.
 */
export function signedDifferences(c: SignedCorpus, q: CorpusQuery, ref: Buffer | null, ours: Buffer | null, expected: string[]): string[] {
  if (ref === null || ours === null) return ref === ours ? [] : [`${ref === null ? 'NSD' : 'the appliance'} did not answer`];
  const a: Decoded = decode(ref), b: Decoded = decode(ours);
  const d: string[] = [];
  if (a.rcode !== b.rcode) d.push(`rcode ${a.rcode} vs ${b.rcode}`);
  if (a.aa !== b.aa) d.push(`AA ${a.aa} vs ${b.aa}`);
  if (a.tc !== b.tc) {
    // The same difference, at a size that holds NSD's answer but not ours with the cover it lacks (checked whole over TCP).
    const sub = !a.tc && a.rcode === 3 && b.rcode === 3 ? substituted(c, nameToText(q.qname)) : null;
    if (sub !== null) expected.push(`${q.line}: truncated, one NSEC longer than NSD's (the cover of ${sub})`);
    else d.push(`TC ${a.tc} vs ${b.tc}`);
  }
  if (!a.question.equals(b.question)) d.push('question differs');
  if (a.opt.present !== b.opt.present || a.opt.dnssecOk !== b.opt.dnssecOk) d.push('OPT or DO echo differs');
  if (a.tc || b.tc) return d;
  const sections: Array<[string, string[], string[]]> = [['answer', a.answers, b.answers], ['authority', a.authorities, b.authorities], ['additional', a.additionals, b.additionals]];
  for (const [name, x, y] of sections) {
    const lost = x.filter((r) => !y.includes(r));
    let extra = y.filter((r) => !x.includes(r));
    const sub = name === 'authority' && lost.length === 0 ? substituted(c, nameToText(q.qname)) : null;
    if (sub !== null && extra.length > 0) {
      // NSD's DNAME NXDOMAIN without the cover of the substituted name: ours may add it (and its RRSIG), if it covers that name.
      const nsec = extra.filter((r) => / IN NSEC /.test(r));
      const ok = nsec.length === 1 && extra.length === 2 && extra.some((r) => / IN RRSIG .*typeCovered:nsec\b/.test(r)) &&
        covers(nsec[0]!.split(' ')[0]!, /nextDomain:([^,}]+)/.exec(nsec[0]!)![1]!, sub);
      if (ok) {
        expected.push(`${q.line}: the NSEC covering ${sub} (NSD leaves it out)`);
        extra = [];
      }
    }
    if (lost.length) d.push(`${name}: missing ${JSON.stringify(lost)}`);
    if (extra.length) d.push(`${name}: extra ${JSON.stringify(extra)}`);
  }
  return d;
}

