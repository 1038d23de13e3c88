// Signed answers compared with NSD's, every section (as sets), for the signed-zone
// differential tests (test/differential/nsd-dnssec.test.ts, the secondary's
// test/appliance/secondary/serve-signed.test.ts): the corpus of a set of signed zones, and
// the differences from NSD 4.6 that are expected and checked instead of counted:
//   - below a DNAME whose substituted name does not exist, NSD leaves out the NSEC that
//     covers that name; ours has it, and it must cover it in canonical order (RFC 4034 §6.1);
//   - for a name that does not exist below an empty non-terminal without an NSEC3
//     (opt-out, as BIND's dnssec-signzone -A signs; and DS at one), NSD takes that name
//     for the closest encloser, which no NSEC3 proves to exist: ours must equal NSD's
//     answer but for the NSEC3 records, and carry a proof that holds;
//   - below an NSEC3 owner name (HASH.zone), which is not a name for queries, NSD does the
//     same: ours must equal NSD's answer for the same name with the hash label replaced
//     by one no owner has (STAND_IN), but for the NSEC3 records, and carry a proof that
//     holds; a CNAME to such a name must be the CNAME and our answer for the target.
//   A proof holds when a validator would accept it, by RFC 5155 §8 (nsec3ProofProblems,
//   which hashes with node:crypto, apart from the server's code), insecure only in an
//   opt-out zone.

import { createHash } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { buildModel, hasType, loadZones, rrsetOf, typesOf } from '../../specializers/dns/model.js';
import { canonicalOrder } from '../../specializers/dns/dnssec.js';
import { nameToText, nameToWire } from '../../specializers/dns/zone.js';
import { T, typeToText } from '../../specializers/dns/rr-types.js';
import { encodeBase32Hex } from '../../specializers/dns/text-codec.js';
import { decode, encodeQuery, parseCorpusLine, type CorpusQuery, type Decoded, type QueryOptions } from './dns.js';

export interface SignedCorpus {
  queries: CorpusQuery[];
  /** The DNAME owners (lower case) with their targets. */
  dnames: Array<{ owner: string; target: string }>;
  /** Every name of the zones (lower case, no final dot; so are the names below). */
  exists?: Set<string>;
  /** NSEC3 owner names that hold nothing else and have nothing below (not names for queries, RFC 5155 §7.2.8). */
  hashed?: Set<string>;
  /** Empty non-terminals of NSEC3 zones that have no NSEC3 (opt-out as dnssec-signzone -A signs). */
  bareEnts?: Set<string>;
  /** The NSEC3 zones: origin, the chain's parameters (NSD's choice of NSEC3PARAM), opt-out. */
  nsec3Zones?: Array<{ origin: string; salt: Buffer; iterations: number; optOut: boolean }>;
  /** CNAME owners with their targets. */
  cnames?: Map<string, string>;
}

const low = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** Every name with its types and the common ones, and names below each: missing, and under wildcards and DNAMEs. */
export function signedCorpus(files: string[]): SignedCorpus {
  const { parsed } = loadZones(files.map((file) => ({ origin: null, file })));
  const m = buildModel(parsed);
  const out: CorpusQuery[] = [];
  const dnames: SignedCorpus['dnames'] = [];
  const exists = new Set<string>(), hashed = new Set<string>(), bareEnts = new Set<string>();
  const cnames = new Map<string, string>();
  const parents = new Set<unknown>();
  for (const n of m.nodes.values()) {
    exists.add(low(nameToText(n.name)));
    if (n.parent) parents.add(n.parent);
  }
  // Per NSEC3 zone: NSD's NSEC3PARAM (the first SHA-1, flags 0 one whose chain has the apex) and the hashes of that chain.
  const chains = new Map<number, { salt: Buffer; iterations: number; optOut: boolean; hashes: Set<string> }>();
  const nsec3Zones: NonNullable<SignedCorpus['nsec3Zones']> = [];
  for (const z of m.zones) {
    const param = rrsetOf(z.apex, T.NSEC3PARAM);
    if (!param || !rrsetOf(z.apex, T.RRSIG)) continue;
    const origin = low(nameToText(z.origin));
    const owned = [...m.nodes.values()].filter((n) => n.zone === z.index && hasType(n, T.NSEC3));
    for (const r of param.records) {
      const rd = r.rdata;
      if (rd[0] !== 1 || rd[1] !== 0) continue;
      const salt = Buffer.from(rd.subarray(5, 5 + rd[4]!)), iterations = (rd[2]! << 8) | rd[3]!;
      const mine = owned.flatMap((n) => rrsetOf(n, T.NSEC3)!.records.filter((x) => x.rdata[0] === 1 && ((x.rdata[2]! << 8) | x.rdata[3]!) === iterations &&
        Buffer.from(x.rdata.subarray(5, 5 + x.rdata[4]!)).equals(salt)).map((x) => ({ n, x })));
      const hashes = new Set(mine.map(({ n }) => nameToText(n.name).split('.')[0]!.toLowerCase()));
      if (!hashes.has(nsec3HashText(origin, salt, iterations))) continue;
      const optOut = mine.some(({ x }) => (x.rdata[1]! & 1) !== 0);
      chains.set(z.index, { salt, iterations, optOut, hashes });
      nsec3Zones.push({ origin, salt, iterations, optOut });
      break;
    }
  }
  for (const n of m.nodes.values()) {
    const o = chains.get(n.zone);
    if (!o || n.isApex || n.cutAbove) continue;
    const name = low(nameToText(n.name));
    const onlyNsec3 = hasType(n, T.NSEC3) && typesOf(n).every((t) => t === T.NSEC3 || t === T.RRSIG);
    if (onlyNsec3 && !parents.has(n)) hashed.add(name);
    else if (n.recCount === 0 && !o.hashes.has(nsec3HashText(name, o.salt, o.iterations))) bareEnts.add(name);
  }
  const common = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'DS', 'ANY', 'DNSKEY', 'NSEC', 'NSEC3', 'RRSIG', 'NSEC3PARAM', 'SRV'];
  for (const n of m.nodes.values()) {
    const name = nameToText(n.name);
    for (const t of new Set([...common, ...typesOf(n).map((t) => `TYPE${t}`)])) out.push(parseCorpusLine(`${name} ${t}`)!);
    for (const p of ['0', 'z', 'zzz', 'x.y', '-']) for (const t of ['A', 'TXT', 'DS', 'NSEC']) out.push(parseCorpusLine(`${p}.${name} ${t}`)!);
    if (hasType(n, T.CNAME)) cnames.set(low(name), low(nameToText(rrsetOf(n, T.CNAME)!.records[0]!.rdata)));
    if (hasType(n, T.DNAME)) dnames.push({ owner: name.toLowerCase(), target: nameToText(rrsetOf(n, T.DNAME)!.records[0]!.rdata).toLowerCase() });
  }
  return { queries: out, dnames, exists, hashed, bareEnts, nsec3Zones, cnames };
}

/** RFC 5155 §5: the NSEC3 hash of a name (text, any case), in base32hex lower case. */
export function nsec3HashText(name: string, salt: Buffer, iterations: number): string {
  const wire = Buffer.from(nameToWire(name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`));
  let h = createHash('sha1').update(wire).update(salt).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(h).update(salt).digest();
  return base32hex(h);
}

/** Base32hex of a hash, lower case (the zone code's encoder: only the hashing here stands apart from the server's). */
const base32hex = (b: Uint8Array): string => encodeBase32Hex(b, 0, b.length);

/** A label no NSEC3 owner has (not base32hex) and no record's text shows: it stands in for a hashed owner's. */
const STAND_IN = 'z'.repeat(32);

/**
 * Where NSD 4.6's answer is no proof, for a name that does not exist (lower case): 'ent'
 * when its closest existing ancestor is an empty non-terminal without an NSEC3 (or, for
 * DS, it is one), 'hash' when it is an NSEC3 owner (the name with that label stood in for
 * is then one NSD answers right); null otherwise.
 */
function unprovableKind(c: SignedCorpus, qname: string, qtype: number): { kind: 'ent' | 'hash'; at: string } | null {
  const q = low(qname);
  if (!c.exists || c.exists.has(q)) return qtype === T.DS && c.bareEnts?.has(q) ? { kind: 'ent', at: q } : null;
  const labels = q.split('.');
  for (let i = 1; i < labels.length; i++) {
    const anc = labels.slice(i).join('.');
    if (!c.exists.has(anc)) continue;
    if (c.bareEnts?.has(anc)) return { kind: 'ent', at: anc };
    if (c.hashed?.has(anc)) return { kind: 'hash', at: anc };
    return null;
  }
  return null;
}

/** The query name with a hashed owner's label stood in for (STAND_IN). */
function standIn(qname: string, at: string): string {
  const q = low(qname);
  return `${q.slice(0, q.length - at.length)}${STAND_IN}${at.slice(at.indexOf('.'))}.`;
}

export interface ProofVerdict {
  problems: string[];
  /** Valid, but insecure: an opt-out NSEC3 covers the next closer name (RFC 5155 §9.2). */
  insecure: boolean;
}

/**
 * What is wrong with the NSEC3 proof of a DO answer for `qname` in zone `zone` (RFC 5155
 * §8), judged as a validator does with the NSEC3 records of the authority section that
 * belong to the zone (owner one hash label under it, SHA-1, the parameters of the first):
 *  - a positive answer at qname: signed; from a wildcard (the RRSIG's labels field less
 *    than the name's, RFC 4034 §3.1.3) the next closer name of the source is covered;
 *  - NXDOMAIN: no NSEC3 matches qname; the closest provable encloser (the longest
 *    ancestor matched) is no delegation or DNAME; the next closer name and the wildcard
 *    below the encloser are covered;
 *  - NODATA: the NSEC3 matching qname lacks the type and CNAME (and, but for DS, is no
 *    delegation); else a closest encloser proof, and the wildcard's NSEC3 lacking the
 *    type, or for DS an opt-out cover of the next closer name.
 * `insecure` when the proof rests on an opt-out cover.
 */
export function nsec3ProofProblems(m: Buffer, qname: string, qtype: string, zone: string): ProofVerdict {
  type Rr = { name: string; type: string; data: Record<string, unknown> };
  const p = dnsPacket.decode(m) as unknown as { rcode: string; answers: Rr[]; authorities: Rr[] };
  const z = low(zone);
  const under = p.authorities.filter((r) => r.type === 'NSEC3' && (r.data.algorithm as number) === 1 && low(r.name).split('.').slice(1).join('.') === z);
  const verdict = (problems: string[], insecure = false): ProofVerdict => ({ problems, insecure });
  if (under.length === 0) return verdict(['no NSEC3 records of the zone']);
  const salt = under[0]!.data.salt as Buffer, iterations = under[0]!.data.iterations as number;
  const recs = under.filter((r) => (r.data.salt as Buffer).equals(salt) && r.data.iterations === iterations).map((r) => ({
    owner: low(r.name).split('.')[0]!, next: base32hex(r.data.nextDomain as Buffer), optOut: ((r.data.flags as number) & 1) !== 0, types: r.data.rrtypes as string[],
  }));
  const hash = (name: string): string => nsec3HashText(name, salt, iterations);
  const match = (name: string): (typeof recs)[number] | undefined => recs.find((r) => r.owner === hash(name));
  const cover = (name: string): (typeof recs)[number] | undefined => {
    const h = hash(name);
    return recs.find((r) => (r.owner < r.next ? r.owner < h && h < r.next : r.owner < h || h < r.next));
  };
  const q = low(qname);
  const labels = q.split('.');
  const zoneLabels = z.split('.').length;
  const own = p.answers.filter((r) => low(r.name) === q && r.type !== 'RRSIG');
  if (own.length > 0) {
    const sig = p.answers.find((r) => low(r.name) === q && r.type === 'RRSIG' && r.data.typeCovered === own[0]!.type);
    if (!sig) return verdict([`the ${own[0]!.type} at ${q} has no RRSIG`]);
    const named = labels[0] === '*' ? labels.length - 1 : labels.length;
    const sigLabels = sig.data.labels as number;
    if (sigLabels >= named) return verdict([]);
    const nc = labels.slice(labels.length - sigLabels - 1).join('.');
    const c = cover(nc);
    return c ? verdict([], c.optOut) : verdict([`the expansion's next closer name ${nc} is not covered`]);
  }
  // The closest provable encloser: the longest proper ancestor an NSEC3 matches (RFC 5155 §8.3).
  let ce = -1;
  for (let i = 1; i <= labels.length - zoneLabels; i++) if (match(labels.slice(i).join('.'))) { ce = i; break; }
  const enclosure = (): string[] => {
    const e = match(labels.slice(ce).join('.'))!;
    if (e.types.includes('DNAME')) return ['the closest encloser has a DNAME'];
    if (e.types.includes('NS') && !e.types.includes('SOA')) return ['the closest encloser is a delegation'];
    return [];
  };
  if (p.rcode === 'NXDOMAIN') {
    if (match(q)) return verdict([`an NSEC3 matches ${q}`]);
    if (ce < 0) return verdict([`no NSEC3 matches an ancestor of ${q}`]);
    const enc = labels.slice(ce).join('.'), ncName = labels.slice(ce - 1).join('.');
    const problems = enclosure();
    const nc = cover(ncName);
    if (!nc) problems.push(`the next closer name ${ncName} is not covered`);
    if (!cover(`*.${enc}`)) problems.push(`the wildcard *.${enc} is not covered`);
    return verdict(problems, nc?.optOut ?? false);
  }
  const mine = match(q);
  if (mine) {
    if (mine.types.includes(qtype) || mine.types.includes('CNAME')) return verdict([`the NSEC3 matching ${q} lists ${qtype} or CNAME`]);
    if (qtype !== 'DS' && mine.types.includes('NS') && !mine.types.includes('SOA')) return verdict([`the NSEC3 matching ${q} is a delegation's`]);
    if (qtype === 'DS' && mine.types.includes('SOA')) return verdict([`DS asked at an apex's NSEC3 (${q})`]);
    return verdict([]);
  }
  if (ce < 0) return verdict([`no NSEC3 matches ${q} or an ancestor`]);
  const enc = labels.slice(ce).join('.'), ncName = labels.slice(ce - 1).join('.');
  const problems = enclosure();
  const nc = cover(ncName);
  if (!nc) return verdict([...problems, `the next closer name ${ncName} is not covered`]);
  const wild = match(`*.${enc}`);
  if (wild) return verdict(wild.types.includes(qtype) || wild.types.includes('CNAME') ? [...problems, `the wildcard's NSEC3 lists ${qtype} or CNAME`] : problems, nc.optOut);
  if (qtype === 'DS' && nc.optOut) return verdict(problems, true);
  return verdict([...problems, `no NSEC3 matches ${q} nor *.${enc}${qtype === 'DS' ? ', and the next closer\'s cover has no opt-out flag' : ''}`]);
}

/** The zone of an NSEC3 zone's name, or null. */
function nsec3ZoneOf(c: SignedCorpus, qname: string): NonNullable<SignedCorpus['nsec3Zones']>[number] | null {
  const q = low(qname);
  let best: NonNullable<SignedCorpus['nsec3Zones']>[number] | null = null;
  for (const z of c.nsec3Zones ?? []) if ((q === z.origin || q.endsWith(`.${z.origin}`)) && (!best || z.origin.length > best.origin.length)) best = z;
  return best;
}

/** A query (name and type) the acceptance of a difference needs besides the corpus's: to NSD, or to us. */
interface ExtraQuery {
  to: 'nsd' | 'ours';
  qname: string;
  qtype: number;
}

const extraKey = (to: 'nsd' | 'ours', qname: string, qtype: number): string => `${to} ${low(qname)} ${qtype}`;

/** The answers to extraQueries(c), asked with `ask` (to NSD or to us) as the corpus was (`o`): signedDifferences()'s `extra`. */
export async function answerExtras(c: SignedCorpus, o: QueryOptions, ask: (to: 'nsd' | 'ours', queries: Buffer[]) => Promise<Array<Buffer | null>>): Promise<(key: string) => Buffer | null | undefined> {
  const extras = extraQueries(c);
  const answers = new Map<string, Buffer | null>();
  for (const to of ['nsd', 'ours'] as const) {
    const list = extras.filter((x) => x.to === to);
    const got = await ask(to, list.map((x) => encodeQuery(parseCorpusLine(`${x.qname} TYPE${x.qtype}`)!, o)));
    list.forEach((x, i) => answers.set(extraKey(to, x.qname, x.qtype), got[i] ?? null));
  }
  return (k) => answers.get(k);
}

/**
 * The extra queries signedDifferences() may look at: for a name whose closest existing
 * ancestor is a hashed owner, NSD's answer for the name with the hash stood in for; for
 * a CNAME to a name NSD answers without a proof, our answer for the target and NSD's for
 * it (or its stand-in).
 */
function extraQueries(c: SignedCorpus): ExtraQuery[] {
  const out = new Map<string, ExtraQuery>();
  const add = (x: ExtraQuery): void => void out.set(extraKey(x.to, x.qname, x.qtype), x);
  const forName = (qname: string, qtype: number): void => {
    const k = unprovableKind(c, qname, qtype);
    if (k?.kind === 'hash') add({ to: 'nsd', qname: standIn(qname, k.at), qtype });
    if (k?.kind === 'ent') add({ to: 'nsd', qname, qtype });
  };
  for (const q of c.queries) {
    const name = nameToText(q.qname);
    forName(name, q.qtype);
    const target = c.cnames?.get(low(name));
    if (target !== undefined && q.qtype !== T.CNAME && unprovableKind(c, target, q.qtype)) {
      add({ to: 'ours', qname: `${target}.`, qtype: q.qtype });
      forName(`${target}.`, q.qtype);
    }
  }
  return [...out.values()];
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

/** Records of a decoded section without the NSEC3 records and their RRSIGs. */
const noNsec3 = (rs: string[]): string[] => rs.filter((r) => !/ IN NSEC3 /.test(r) && !/ IN RRSIG .*typeCovered:nsec3\b/.test(r));

/**
 * Our answer against a reference answer that is right but for its NSEC3 records: header,
 * OPT and every section equal, the authority without its NSEC3 records and their RRSIGs;
 * `map` rewrites the reference's record text first (a stood-in label back to the hash).
 */
function sameButNsec3(ref: Buffer, ours: Buffer, map: (r: string) => string = (r) => r): string[] {
  const a = decode(ref), b = decode(ours);
  const d: string[] = [];
  if (a.rcode !== b.rcode) d.push(`rcode ${a.rcode} vs ${b.rcode}`);
  if (a.aa !== b.aa) d.push(`AA ${a.aa} vs ${b.aa}`);
  if (a.opt.present !== b.opt.present || a.opt.dnssecOk !== b.opt.dnssecOk) d.push('OPT or DO echo differs');
  if (a.tc || b.tc) return d;
  const same = (x: string[], y: string[]): boolean => x.length === y.length && x.every((r, i) => r === y[i]);
  const sections: Array<[string, string[], string[]]> = [
    ['answer', a.answers.map(map).sort(), b.answers],
    ['authority', noNsec3(a.authorities.map(map)).sort(), noNsec3(b.authorities)],
    ['additional', a.additionals.map(map).sort(), b.additionals],
  ];
  for (const [name, x, y] of sections) if (!same(x, y)) d.push(`${name}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  return d;
}

/** Our NSEC3 proof for `qname`: [] when it holds (insecure only in an opt-out zone), else what fails. */
function proofHolds(c: SignedCorpus, ours: Buffer, qname: string, qtype: number): string[] {
  if (!decode(ours).opt.dnssecOk || decode(ours).tc) return [];
  const z = nsec3ZoneOf(c, qname);
  if (!z) return [`${qname} is in no NSEC3 zone`];
  const v = nsec3ProofProblems(ours, qname, typeToText(qtype), z.origin);
  if (v.problems.length) return v.problems.map((p) => `our proof fails: ${p}`);
  return v.insecure && !z.optOut ? ['our proof rests on an opt-out NSEC3 in a zone without opt-out'] : [];
}

/**
 * Where NSD's answer is no proof (unprovableKind), ours checked by itself: 'ent', NSD's
 * answer but for the NSEC3 records, and our proof holding; 'hash', NSD's answer for the
 * name with the hash stood in for, and our proof holding. Null: not such a name.
 */
function unprovableDifferences(c: SignedCorpus, qname: string, qtype: number, ref: Buffer, ours: Buffer, extra: (k: string) => Buffer | null | undefined): string[] | null {
  const k = unprovableKind(c, qname, qtype);
  if (k === null) return null;
  let base = ref, map = (r: string): string => r;
  if (k.kind === 'hash') {
    const sub = extra(extraKey('nsd', standIn(qname, k.at), qtype));
    if (!sub) return [`no answer from NSD for ${standIn(qname, k.at)} to compare with`];
    const label = k.at.split('.')[0]!;
    base = sub;
    map = (r) => r.split(STAND_IN).join(label);
  }
  return [...sameButNsec3(base, ours, map), ...proofHolds(c, ours, qname, qtype)];
}

/**
 * Differences in header and every section (sets); none in the sections of a truncated
 * answer. The expected differences go into `expected` instead (those of names where NSD
 * is known to be wrong need `extra`, the answers to extraQueries()).
 */
export function signedDifferences(c: SignedCorpus, q: CorpusQuery, ref: Buffer | null, ours: Buffer | null, expected: string[], extra: (key: string) => Buffer | null | undefined = () => undefined): string[] {
  if (ref === null || ours === null) return ref === ours ? [] : [`${ref === null ? 'NSD' : 'the appliance'} did not answer`];
  const d = differences(c, q, ref, ours, expected);
  if (d.length === 0) return d;
  const qname = nameToText(q.qname);
  const direct = unprovableDifferences(c, qname, q.qtype, ref, ours, extra);
  if (direct !== null) {
    if (direct.length) return [...d, ...direct];
    expected.push(`${q.line}: ${decode(ours).tc ? 'truncated' : 'proven'} where NSD's answer is no proof (${unprovableKind(c, qname, q.qtype)!.kind})`);
    return [];
  }
  // A CNAME to such a name: ours is the CNAME (and its RRSIGs) and then our answer for the
  // target, which must itself stand the test above.
  const target = c.cnames?.get(low(qname));
  if (target === undefined || q.qtype === T.CNAME || !unprovableKind(c, target, q.qtype)) return d;
  const tOurs = extra(extraKey('ours', target, q.qtype));
  const tRef = unprovableKind(c, target, q.qtype)!.kind === 'ent' ? extra(extraKey('nsd', target, q.qtype)) : ref;
  if (!tOurs || !tRef) return [...d, `no answer for the target ${target} to compare with`];
  const t = unprovableDifferences(c, `${target}.`, q.qtype, tRef, tOurs, extra) ?? [];
  const a = decode(tOurs), b = decode(ours);
  if (a.rcode !== b.rcode || a.aa !== b.aa) t.push(`the chain's rcode or AA differs from the target's`);
  if (!a.tc && !b.tc) {
    // The CNAME and its RRSIGs as NSD has them (it is right about those), then our answer for the target.
    const at = (rs: string[]): string[] => rs.filter((r) => r.startsWith(`${low(qname)} `));
    const head = b.answers.filter((r) => !a.answers.includes(r));
    if (JSON.stringify(at(b.answers)) !== JSON.stringify(at(decode(ref).answers)) || head.some((r) => !r.startsWith(`${low(qname)} `)) ||
      !a.answers.every((r) => b.answers.includes(r))) t.push(`the chain's answer is not the CNAME (as NSD has it) and the target's answer`);
    if (JSON.stringify(a.authorities) !== JSON.stringify(b.authorities)) t.push(`the chain's authority differs from the target's`);
  }
  if (t.length) return [...d, ...t.map((x) => `via ${target}: ${x}`)];
  expected.push(`${q.line}: a CNAME to where NSD's answer is no proof, answered as the target`);
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

