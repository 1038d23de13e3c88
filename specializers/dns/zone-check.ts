// Zone validation, as nsd-checkzone does it, plus the apex NS check (Knot's kzonecheck
// has it; a zone without apex NS cannot be served as a delegation target).
//
// Read first: RFC 1034 §4.2.1 (one SOA at the apex, NS at the apex), RFC 1034 §3.6.2 and
// RFC 2181 §10.1 (CNAME and other data; RRSIG and NSEC allowed beside a CNAME, RFC 4035
// §2.5), RFC 6672 §2.3–2.4 (one DNAME per name, no CNAME beside it, no data below it),
// RFC 2181 §5 (an RRset is one TTL: a mismatch is warned about, as NSD does), RFC 2181
// §8 and RFC 1035 §2.3.4 (TTL and name limits: checked by the parser).
//
// Records are grouped by owner (case-insensitive) with a counting sort over interned name
// ids, then each group is sorted by type and canonical RDATA, which makes duplicates
// adjacent. Linear in the zone but for the per-group sorts.

import { BuildInputError } from '../../basics/errors.js';
import { NameTable, isSubdomain, lowerNameInPlace, nameToText, wireNameLength } from './dns-name.js';
import { rdataToText } from './rdata-text.js';
import { CLASS_IN, F, T, classToText, layoutOf, typeToText } from './rr-types.js';
import { ProblemList, where } from './zone-errors.js';
import type { ParsedZone, ZoneRecord } from './zone-parser.js';

const MAX_DUPLICATE_WARNINGS = 100;

/** The wire RDATA with its domain names lower-cased (RFC 4034 §6.2), for comparisons. */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  const layout = layoutOf(type);
  if (layout === undefined || !layout.includes(F.NAME)) return rdata;
  const out = rdata.slice();
  let p = 0;
  for (const kind of layout) {
    if (p > out.length) break;
    switch (kind) {
      case F.NAME: {
        const n = wireNameLength(out, p);
        if (n < 0) return rdata;
        lowerNameInPlace(out, p);
        p += n;
        break;
      }
      case F.U8: case F.ALGORITHM: p += 1; break;
      case F.U16: case F.TYPE: p += 2; break;
      case F.U32: case F.PERIOD: case F.TIME: case F.A: p += 4; break;
      case F.STRING: p += (out[p] ?? 0) + 1; break;
      default: return out; // no name follows a variable field in any layout but these
    }
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function recordText(r: ZoneRecord): string {
  return `${nameToText(r.owner)} ${r.ttl} ${classToText(r.class)} ${typeToText(r.type)} ${rdataToText(r.type, r.rdata)}`;
}

/**
 * Validates a parsed zone: throws ZoneErrors (APPL_ERR_ZONE_CHECK) listing every problem;
 * otherwise returns the zone with duplicate records dropped and warnings added.
 */
export function checkZone(z: ParsedZone): ParsedZone {
  const problems = new ProblemList();
  const warnings = z.warnings.slice();
  const recs = z.records;
  const n = recs.length;
  const apexText = nameToText(z.origin);

  // Owner ids, case-insensitive; the previous record's owner array short-cuts the lookup.
  const names = new NameTable(true);
  const ownerId = new Int32Array(n);
  const outside: boolean[] = [];
  let prevOwner: Uint8Array | null = null;
  let prevId = -1;
  for (let k = 0; k < n; k++) {
    const r = recs[k]!;
    if (r.owner !== prevOwner) {
      prevOwner = r.owner;
      const before = names.size;
      prevId = names.internArray(r.owner);
      if (prevId === before) outside.push(!isSubdomain(r.owner, z.origin));
    }
    ownerId[k] = prevId;
    if (outside[prevId]) {
      problems.add('APPL_ERR_ZONE_CHECK', r.file, r.line, `out of zone data: ${nameToText(r.owner)} is outside the zone ${apexText}`);
    }
    if (r.class !== CLASS_IN) {
      problems.add('APPL_ERR_ZONE_CHECK', r.file, r.line, `class ${classToText(r.class)}: only class IN is supported`);
    }
  }
  const apexId = names.find(z.origin, 0, z.origin.length);

  // Counting sort of record indices by owner id (stable: file order within a name).
  const nNames = names.size;
  const startOf = new Int32Array(nNames + 1);
  for (let k = 0; k < n; k++) startOf[ownerId[k]! + 1]!++;
  for (let id = 0; id < nNames; id++) startOf[id + 1]! += startOf[id]!;
  const order = new Int32Array(n);
  const fill = startOf.slice(0, nNames);
  for (let k = 0; k < n; k++) order[fill[ownerId[k]!]!++] = k;

  const dropped = new Uint8Array(n);
  let duplicates = 0;
  let soaCount = 0;
  let apexHasNs = false;
  const dnameIds: number[] = [];
  const cutIds: number[] = [];
  const hasAddress = new Uint8Array(nNames);
  const group: number[] = [];
  // Type, class, canonical RDATA, then file order: duplicates become adjacent and the
  // first of each run (in file order) is the one kept.
  const byRdata = (a: number, b: number): number => {
    const ra = recs[a]!, rb = recs[b]!;
    if (ra.type !== rb.type) return ra.type - rb.type;
    if (ra.class !== rb.class) return ra.class - rb.class;
    const d = compareBytes(canonicalRdata(ra.type, ra.rdata), canonicalRdata(rb.type, rb.rdata));
    return d !== 0 ? d : a - b;
  };

  for (let id = 0; id < nNames; id++) {
    if (outside[id]) continue;
    const gs = startOf[id]!, ge = startOf[id + 1]!;
    if (ge - gs > 1) {
      group.length = 0;
      for (let k = gs; k < ge; k++) group.push(order[k]!);
      group.sort(byRdata);
      let setStart = 0;
      let kept = group[0]!;
      for (let g = 1; g <= group.length; g++) {
        const prev = recs[group[g - 1]!]!;
        const cur = g < group.length ? recs[group[g]!]! : null;
        if (cur !== null && cur.type === prev.type && cur.class === prev.class) {
          if (compareBytes(canonicalRdata(prev.type, prev.rdata), canonicalRdata(cur.type, cur.rdata)) === 0) {
            dropped[group[g]!] = 1;
            if (duplicates++ < MAX_DUPLICATE_WARNINGS) {
              const first = recs[kept]!;
              warnings.push(`${where(cur.file, cur.line)}: duplicate record dropped: ${recordText(cur)} (same as ${where(first.file, first.line)})`);
            }
          } else {
            kept = group[g]!;
          }
          continue;
        }
        ttlCheck(recs, group, setStart, g, dropped, warnings);
        setStart = g;
        if (cur !== null) kept = group[g]!;
      }
    }

    // Per-name rules, over the records kept, in file order.
    let cname = -1, dname = -1, other = -1, soa = -1;
    for (let j = gs; j < ge; j++) {
      const k = order[j]!;
      if (dropped[k] !== 0) continue;
      const r = recs[k]!;
      switch (r.type) {
        case T.CNAME:
          if (cname >= 0) problems.add('APPL_ERR_ZONE_CHECK', r.file, r.line, `multiple CNAME records at ${nameToText(r.owner)} (a name has at most one, RFC 1034 §3.6.2)`);
          else cname = k;
          break;
        case T.DNAME:
          if (dname >= 0) problems.add('APPL_ERR_ZONE_CHECK', r.file, r.line, `multiple DNAME records at ${nameToText(r.owner)} (a name has at most one, RFC 6672 §2.4)`);
          else dname = k;
          if (other < 0) other = k;
          break;
        case T.RRSIG:
        case T.NSEC:
          break;
        case T.SOA:
          soaCount++;
          if (id !== apexId) {
            problems.add('APPL_ERR_ZONE_CHECK', r.file, r.line, `SOA record at ${nameToText(r.owner)}, which is not the zone apex ${apexText}`);
          } else if (soa >= 0) {
            problems.add('APPL_ERR_ZONE_CHECK', r.file, r.line, `a second SOA record at the apex (the first is at ${where(recs[soa]!.file, recs[soa]!.line)}); a zone has exactly one`);
          } else {
            soa = k;
          }
          if (other < 0) other = k;
          break;
        case T.NS:
          if (id === apexId) apexHasNs = true;
          else if (cutIds[cutIds.length - 1] !== id) cutIds.push(id);
          if (other < 0) other = k;
          break;
        case T.A:
        case T.AAAA:
          hasAddress[id] = 1;
          if (other < 0) other = k;
          break;
        default:
          if (other < 0) other = k;
      }
    }
    if (cname >= 0 && other >= 0) {
      const later = recs[Math.max(cname, other)]!;
      const c = recs[cname]!;
      const what = recs[other]!.type === T.DNAME ? 'DNAME' : 'other data';
      problems.add('APPL_ERR_ZONE_CHECK', later.file, later.line,
        `CNAME and ${what} at the same name ${nameToText(c.owner)} (the CNAME is at ${where(c.file, c.line)}; RFC 1034 §3.6.2 allows nothing else there but RRSIG and NSEC)`);
    }
    if (dname >= 0) dnameIds.push(id);
  }

  if (dnameIds.length > 0 || cutIds.length > 0) {
    const below: Below = {
      recs, names, order, startOf, dropped, outside, apexId, hasAddress, occluded: new Uint8Array(nNames), problems, warnings,
    };
    checkBelowCuts(below, new Set(dnameIds), new Set(cutIds));
    checkGlue(below, cutIds);
  }

  const firstInZone = recs.find((_, k) => !outside[ownerId[k]!]) ?? recs[0];
  const zoneLine = firstInZone?.line;
  const zoneFile = firstInZone?.file ?? z.file;
  if (soaCount === 0 || apexId < 0 || !recs.some((r, k) => r.type === T.SOA && ownerId[k] === apexId)) {
    problems.add('APPL_ERR_ZONE_CHECK', zoneFile, zoneLine, `zone ${apexText} has no SOA record at its apex; add one ('@ SOA primary-ns hostmaster serial refresh retry expire minimum')`);
  }
  if (!apexHasNs) {
    problems.add('APPL_ERR_ZONE_CHECK', zoneFile, zoneLine, `zone ${apexText} has no NS records at its apex; add at least one ('@ NS ns1.${apexText === '.' ? '' : apexText}')`);
  }
  if (duplicates > MAX_DUPLICATE_WARNINGS) {
    warnings.push(`${z.file}: ${duplicates - MAX_DUPLICATE_WARNINGS} more duplicate records dropped`);
  }
  problems.throwIfAny(apexText);
  return {
    origin: z.origin,
    file: z.file,
    records: duplicates === 0 ? recs : recs.filter((_, k) => dropped[k] === 0),
    warnings,
  };
}

/** RFC 2181 §5.2: warn when an RRset's TTLs differ, naming the TTL of its first record. */
function ttlCheck(recs: ZoneRecord[], group: number[], s: number, e: number, dropped: Uint8Array, warnings: string[]): void {
  if (e - s < 2) return;
  let first = -1;
  for (let g = s; g < e; g++) {
    const k = group[g]!;
    if (dropped[k] === 0 && (first < 0 || k < first)) first = k;
  }
  if (first < 0) return;
  const ttl = recs[first]!.ttl;
  for (let g = s; g < e; g++) {
    const k = group[g]!;
    const r = recs[k]!;
    if (r.ttl !== ttl && k !== first) {
      warnings.push(`${where(r.file, r.line)}: ${nameToText(r.owner)} TTL ${r.ttl} does not match the TTL ${ttl} of the ${typeToText(r.type)} RRset (RFC 2181 §5.2)`);
    }
  }
}

interface Below {
  recs: ZoneRecord[];
  names: NameTable;
  order: Int32Array;
  startOf: Int32Array;
  dropped: Uint8Array;
  outside: boolean[];
  apexId: number;
  hasAddress: Uint8Array;
  /** Set by checkBelowCuts: the name is below another zone cut. */
  occluded: Uint8Array;
  problems: ProblemList;
  warnings: string[];
}

const MAX_DELEGATION_WARNINGS = 100;

/**
 * Names below a DNAME are an error (RFC 6672 §2.4). Data below a zone cut, or beside the
 * NS at the cut, is not authoritative (RFC 1034 §4.2.1): addresses there are glue, the
 * rest is never served, which deserves a warning (Knot warns too; NSD keeps quiet).
 */
function checkBelowCuts(z: Below, dnames: Set<number>, cuts: Set<number>): void {
  const { recs, names, order, startOf, dropped } = z;
  const apexLen = names.names[z.apexId]?.length ?? 1;
  let warned = 0;
  for (let id = 0; id < names.size; id++) {
    if (z.outside[id]) continue;
    const o = names.names[id]!;
    const first = recs[order[startOf[id]!]!]!;
    // The nearest DNAME or cut above this name (the apex's NS is no cut).
    let cut = -1;
    let p = 0;
    const stop = o.length - apexLen; // ancestors down to the apex, not above it
    while (p < stop) {
      p += o[p]! + 1;
      const anc = names.find(o, p, o.length);
      if (anc < 0) continue;
      if (dnames.has(anc)) {
        z.problems.add('APPL_ERR_ZONE_CHECK', first.file, first.line,
          `${nameToText(o)} is below the DNAME at ${nameToText(names.names[anc]!)}; no data may exist below a DNAME (RFC 6672 §2.4)`);
        cut = -1;
        break;
      }
      if (cut < 0 && anc !== z.apexId && cuts.has(anc)) cut = anc;
    }
    const atCut = cuts.has(id);
    if (cut >= 0) z.occluded[id] = 1;
    else if (!atCut) continue;
    for (let j = startOf[id]!; j < startOf[id + 1]!; j++) {
      const r = recs[order[j]!]!;
      if (dropped[order[j]!] !== 0) continue;
      const t = r.type;
      // Addresses are glue; at the cut itself the delegation's own types belong too.
      const fine = t === T.A || t === T.AAAA || (cut < 0 && (t === T.NS || t === T.DS || t === T.RRSIG || t === T.NSEC));
      if (fine) continue;
      if (warned++ < MAX_DELEGATION_WARNINGS) {
        const at = nameToText(cut >= 0 ? names.names[cut]! : o);
        z.warnings.push(`${where(r.file, r.line)}: ${nameToText(r.owner)} ${typeToText(t)} is ${cut >= 0 ? 'below' : 'at'} the delegation ${at} and will never be served (only the child zone's servers answer for it)`);
      }
    }
  }
}

/** An NS target at or below its own delegation needs glue: an A or AAAA in this zone. */
function checkGlue(z: Below, cutIds: number[]): void {
  let warned = 0;
  for (const id of cutIds) {
    if (z.occluded[id] !== 0) continue; // already warned about as data below a cut
    const cut = z.names.names[id]!;
    for (let j = z.startOf[id]!; j < z.startOf[id + 1]!; j++) {
      const r = z.recs[z.order[j]!]!;
      if (r.type !== T.NS || z.dropped[z.order[j]!] !== 0 || !isSubdomain(r.rdata, cut)) continue;
      const target = z.names.find(r.rdata, 0, r.rdata.length);
      if ((target < 0 || z.hasAddress[target] === 0) && warned++ < MAX_DELEGATION_WARNINGS) {
        z.warnings.push(`${where(r.file, r.line)}: the delegation ${nameToText(cut)} names ${nameToText(r.rdata)}, which is inside it, but the zone has no A or AAAA glue for it: resolvers cannot reach that server`);
      }
    }
  }
}

/**
 * Refuses a DNSSEC-signed zone (RRSIG, NSEC or NSEC3 present): serving one is not built
 * yet, and served without its signatures and denial proofs it would fail validation.
 */
export function refuseSigned(z: ParsedZone): void {
  const found = new Map<number, ZoneRecord>();
  for (const r of z.records) {
    if ((r.type === T.RRSIG || r.type === T.NSEC || r.type === T.NSEC3) && !found.has(r.type)) found.set(r.type, r);
  }
  if (found.size === 0) return;
  const first = [...found.values()].sort((a, b) => a.line - b.line)[0]!;
  const list = [...found.values()].map((r) => `${typeToText(r.type)} at ${where(r.file, r.line)}`).join(', ');
  throw new BuildInputError('APPL_ERR_ZONE_SIGNED', first.file, first.line,
    `zone ${nameToText(z.origin)} is DNSSEC-signed (${list}), and serving signed zones is not built yet: ` +
    'served without its signatures and denial-of-existence proofs it would fail validation at every validating resolver. ' +
    'Build from the unsigned zone file (the input to your signer) and remove the DS record for it from the parent zone, or wait for signed-zone support.');
}
