// Signed answers compared with NSD's, every section (as sets), for the signed-zone
// differential tests (test/differential/nsd-dnssec.test.ts, the secondary's
// test/appliance/secondary/serve-signed.test.ts): the corpus of a set of signed zones, and
// the differences from NSD 4.6 that are expected and checked instead of counted:
//   - below a DNAME whose substituted name does not exist, NSD leaves out the NSEC that
//     covers that name; ours has it, and it must cover it in canonical order (RFC 4034 §6.1);
//   - below an NSEC3 owner name (HASH.zone), NSD takes that name for the closest encloser,
//     and below an empty non-terminal without an NSEC3 (opt-out, as BIND's dnssec-signzone
//     -A signs) the empty non-terminal, neither of which an NSEC3 proves to exist. Ours
//     must carry a proof that holds by RFC 5155 §8 (nsec3ProofProblems, which hashes with
//     node:crypto, apart from the server's code): the closest provable encloser, the next
//     closer name covered, the wildcard covered or the expansion's next closer covered.

import { createHash } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { buildModel, hasType, loadZones, rrsetOf, typesOf } from '../../specializers/dns/model.js';
import { canonicalOrder } from '../../specializers/dns/dnssec.js';
import { nameToText, nameToWire } from '../../specializers/dns/zone.js';
import { T, typeToText } from '../../specializers/dns/rr-types.js';
import { decode, parseCorpusLine, type CorpusQuery, type Decoded } from './dns.js';

export interface SignedCorpus {
  queries: CorpusQuery[];
  /** The DNAME owners (lower case) with their targets. */
  dnames: Array<{ owner: string; target: string }>;
  /** NSEC3 zones' names (lower case, no final dot) that NSD takes for a closest encloser without a proof: NSEC3 owners, and empty non-terminals without an NSEC3. */
  unprovable?: Set<string>;
  /** CNAME owners (lower case, no final dot) with their targets: a chain's end is proven for the target. */
  cnames?: Map<string, string>;
}

/** Every name with its types and the common ones, and names below each: missing, and under wildcards and DNAMEs. */
export function signedCorpus(files: string[]): SignedCorpus {
  const { parsed } = loadZones(files.map((file) => ({ origin: null, file })));
  const m = buildModel(parsed);
  const out: CorpusQuery[] = [];
  const dnames: SignedCorpus['dnames'] = [];
  const unprovable = new Set<string>();
  const cnames = new Map<string, string>();
  // Per NSEC3 zone (its apex has an NSEC3PARAM), the hashes its NSEC3 records are at.
  const owners = new Map<number, { salt: Buffer; iterations: number; hashes: Set<string> }>();
  for (const z of m.zones) {
    const param = rrsetOf(z.apex, T.NSEC3PARAM);
    if (!param) continue;
    const rd = param.records[0]!.rdata;
    owners.set(z.index, { salt: Buffer.from(rd.subarray(5, 5 + rd[4]!)), iterations: (rd[2]! << 8) | rd[3]!, hashes: new Set() });
  }
  for (const n of m.nodes.values()) {
    if (hasType(n, T.NSEC3)) owners.get(n.zone)?.hashes.add(nameToText(n.name).split('.')[0]!.toLowerCase());
  }
  for (const n of m.nodes.values()) {
    const o = owners.get(n.zone);
    if (!o || n.isApex || n.cutAbove) continue;
    const name = nameToText(n.name).toLowerCase().replace(/\.$/, '');
    const onlyNsec3 = hasType(n, T.NSEC3) && typesOf(n).every((t) => t === T.NSEC3 || t === T.RRSIG);
    if (onlyNsec3 || (n.recCount === 0 && !o.hashes.has(nsec3HashText(name, o.salt, o.iterations)))) unprovable.add(name);
  }
  const common = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'DS', 'ANY', 'DNSKEY', 'NSEC', 'NSEC3', 'RRSIG', 'NSEC3PARAM', 'SRV'];
  for (const n of m.nodes.values()) {
    const name = nameToText(n.name);
    for (const t of new Set([...common, ...typesOf(n).map((t) => `TYPE${t}`)])) out.push(parseCorpusLine(`${name} ${t}`)!);
    for (const p of ['0', 'z', 'zzz', 'x.y', '-']) for (const t of ['A', 'TXT', 'DS', 'NSEC']) out.push(parseCorpusLine(`${p}.${name} ${t}`)!);
    if (hasType(n, T.CNAME)) cnames.set(name.toLowerCase().replace(/\.$/, ''), nameToText(rrsetOf(n, T.CNAME)!.records[0]!.rdata).toLowerCase().replace(/\.$/, ''));
    if (hasType(n, T.DNAME)) dnames.push({ owner: name.toLowerCase(), target: nameToText(rrsetOf(n, T.DNAME)!.records[0]!.rdata).toLowerCase() });
  }
  return { queries: out, dnames, unprovable, cnames };
}

/** RFC 5155 §5: the NSEC3 hash of a name (text, any case), in base32hex lower case. */
export function nsec3HashText(name: string, salt: Buffer, iterations: number): string {
  const wire = Buffer.from(nameToWire(name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`));
  let h = createHash('sha1').update(wire).update(salt).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(h).update(salt).digest();
  return base32hex(h);
}

function base32hex(b: Buffer): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  let out = '', bits = 0, value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Is qname strictly below one of the names NSD takes for an unprovable closest encloser
 * (or, for DS, at one: NSD's DS NODATA at an empty non-terminal without an NSEC3 lacks the
 * next closer's cover)?
 */
function belowUnprovable(c: SignedCorpus, qname: string, qtype: number): string | null {
  const labels = qname.toLowerCase().replace(/\.$/, '').split('.');
  for (let i = qtype === T.DS ? 0 : 1; i < labels.length; i++) {
    const anc = labels.slice(i).join('.');
    if (c.unprovable?.has(anc)) return anc;
  }
  return null;
}

/**
 * What is wrong with the NSEC3 proof of a DO answer for `qname` (RFC 5155 §8.4–8.8),
 * checked with the NSEC3 records of its authority section alone: [] when it holds.
 * NXDOMAIN: a closest encloser that an NSEC3 matches, the next closer name and the
 * wildcard below the encloser covered. A wildcard expansion (an RRSIG whose labels field
 * is less than the owner's): the next closer name of the source of synthesis covered.
 * NODATA: an NSEC3 matching the name without the type, or the wildcard's NSEC3 with the
 * encloser's and the next closer covered, or (opt-out) the next closer covered by an
 * opt-out NSEC3 below a matched encloser.
 */
export function nsec3ProofProblems(m: Buffer, qname: string, qtype: string): string[] {
  const p = dnsPacket.decode(m) as unknown as { rcode: string; answers: Array<{ name: string; type: string; data: { labels?: number } }>; authorities: Array<{ name: string; type: string; data: { flags: number; iterations: number; salt: Buffer; nextDomain: Buffer; rrtypes: string[] } }> };
  const recs = p.authorities.filter((r) => r.type === 'NSEC3');
  if (recs.length === 0) return ['no NSEC3 records'];
  const zone = recs[0]!.name.toLowerCase().split('.').slice(1).join('.');
  const { salt, iterations } = recs[0]!.data;
  const nsec3 = recs.map((r) => ({ owner: r.name.toLowerCase().split('.')[0]!, next: base32hex(r.data.nextDomain), optOut: (r.data.flags & 1) !== 0, types: r.data.rrtypes }));
  const hash = (name: string): string => nsec3HashText(name, salt, iterations);
  const match = (name: string): (typeof nsec3)[number] | undefined => nsec3.find((r) => r.owner === hash(name));
  const cover = (name: string): (typeof nsec3)[number] | undefined => {
    const h = hash(name);
    return nsec3.find((r) => (r.owner < r.next ? r.owner < h && h < r.next : r.owner < h || h < r.next));
  };
  const q = qname.toLowerCase().replace(/\.$/, '');
  const labels = q.split('.');
  const zoneLabels = zone.split('.').length;
  // The closest provable encloser: the longest proper ancestor an NSEC3 matches (RFC 5155 §8.3).
  let ce = -1;
  for (let i = 1; i <= labels.length - zoneLabels; i++) if (match(labels.slice(i).join('.'))) { ce = i; break; }
  const sig = p.answers.find((r) => r.type === 'RRSIG' && r.name.toLowerCase().replace(/\.$/, '') === q);
  const problems: string[] = [];
  if (p.rcode === 'NXDOMAIN') {
    if (ce < 0) return [`no NSEC3 matches an ancestor of ${q}`];
    const enc = labels.slice(ce).join('.');
    if (!cover(labels.slice(ce - 1).join('.'))) problems.push(`the next closer name ${labels.slice(ce - 1).join('.')} is not covered`);
    if (!cover(`*.${enc}`)) problems.push(`the wildcard *.${enc} is not covered`);
    return problems;
  }
  if (sig && sig.data.labels !== undefined && sig.data.labels < labels.length) {
    const nc = labels.slice(labels.length - sig.data.labels - 1).join('.');
    return cover(nc) ? [] : [`the expansion's next closer name ${nc} is not covered`];
  }
  if (p.answers.length > 0) return [];
  const own = match(q);
  if (own) return own.types.includes(qtype) ? [`the NSEC3 matching ${q} lists ${qtype}`] : [];
  if (ce < 0) return [`no NSEC3 matches ${q} or an ancestor`];
  const enc = labels.slice(ce).join('.');
  const nc = cover(labels.slice(ce - 1).join('.'));
  if (!nc) return [`the next closer name ${labels.slice(ce - 1).join('.')} is not covered`];
  const wild = match(`*.${enc}`);
  if (wild) return wild.types.includes(qtype) ? [`the wildcard's NSEC3 lists ${qtype}`] : [];
  return nc.optOut ? [] : [`no NSEC3 matches ${q} nor *.${enc}, and the next closer's cover has no opt-out flag`];
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
  const d = differences(c, q, ref, ours, expected);
  let qname = nameToText(q.qname);
  let enc = d.length > 0 ? belowUnprovable(c, qname, q.qtype) : null;
  // A CNAME whose target is such a name: the chain's end is proven for the target.
  const target = d.length > 0 && enc === null ? c.cnames?.get(qname.toLowerCase().replace(/\.$/, '')) : undefined;
  if (target !== undefined && q.qtype !== T.CNAME) {
    enc = belowUnprovable(c, `${target}.`, q.qtype);
    if (enc !== null) qname = `${target}.`;
  }
  if (enc === null) return d;
  // NSD's encloser proves nothing there: ours must hold by itself (a truncated one is checked over TCP).
  if (decode(ours).tc) {
    expected.push(`${q.line}: below ${enc}, truncated (NSD's answer is no proof there)`);
    return [];
  }
  if (!decode(ref).opt.dnssecOk) {
    // Without DO: below an NSEC3 owner of a zone with a wildcard at its apex, ours is the wildcard's answer (NSD's an NXDOMAIN).
    const b = decode(ours);
    const owners = [qname.toLowerCase(), nameToText(q.qname).toLowerCase()];
    if (b.rcode === 0 && b.authorities.every((r) => / IN SOA /.test(r)) && b.answers.every((r) => owners.includes(`${r.split(' ')[0]}.`))) {
      expected.push(`${q.line}: below ${enc}, answered from the apex wildcard (NSD: NXDOMAIN)`);
      return [];
    }
    return d;
  }
  const problems = nsec3ProofProblems(ours, qname, typeToText(q.qtype));
  if (problems.length) return [...d, `below ${enc}, our proof fails: ${problems.join('; ')}`];
  expected.push(`${q.line}: below ${enc}, proven from the closest provable encloser (NSD's answer is no proof there)`);
  return [];
}

function differences(c: SignedCorpus, q: CorpusQuery, ref: Buffer, ours: Buffer, expected: string[]): string[] {
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
    // The sets below would hide a record sent twice (decode() sorts: twins are neighbours).
    const twice = y.filter((r, i) => i > 0 && y[i - 1] === r && !(i > 1 && y[i - 2] === r));
    if (twice.length > x.filter((r, i) => i > 0 && x[i - 1] === r).length) d.push(`${name}: sent twice ${JSON.stringify(twice)}`);
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

