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

import { NameTable, isSubdomain, lowerNameInPlace, nameToText, wireNameLength } from './dns-name.js';
import { rdataToText } from './rdata-text.js';
import { CLASS_IN, F, T, classToText, layoutOf, typeToText } from './rr-types.js';
import { ProblemList, where } from './zone-errors.js';
import { parsedZone, type ParsedZone } from './zone-parser.js';
import type { RecordStore } from './record-store.js';

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

function recordText(st: RecordStore, k: number): string {
  return `${nameToText(st.owner[k]!)} ${st.ttl[k]} ${classToText(st.cls[k]!)} ${typeToText(st.type[k]!)} ${rdataToText(st.type[k]!, st.rdata(k))}`;
}

/**
 * Validates a parsed zone: throws ZoneErrors (APPL_ERR_ZONE_CHECK) listing every problem;
 * otherwise returns the zone with duplicate records dropped and warnings added.
 */
export function checkZone(z: ParsedZone): ParsedZone {
  const problems = new ProblemList();
  const warnings = z.warnings.slice();
  const st = z.store;
  const n = st.length;
  const owners = st.owner, types = st.type, classes = st.cls, lines = st.line;
  const apexText = nameToText(z.origin);

  // Owner ids, case-insensitive; the previous record's owner array short-cuts the lookup.
  // Grown as names come (sized for a name per record, it would take twice the room at a
  // million names: the model keeps it, and the build's peak is its bound).
  const names = new NameTable(true);
  const ownerId = new Int32Array(n);
  const outside: boolean[] = [];
  let prevOwner: Uint8Array | null = null;
  let prevId = -1;
  for (let k = 0; k < n; k++) {
    const o = owners[k]!;
    if (o !== prevOwner) {
      prevOwner = o;
      const before = names.size;
      prevId = names.internArray(o);
      if (prevId === before) outside.push(!isSubdomain(o, z.origin));
    }
    ownerId[k] = prevId;
    if (outside[prevId]) {
      problems.add('APPL_ERR_ZONE_CHECK', st.file(k), lines[k], `out of zone data: ${nameToText(o)} is outside the zone ${apexText}`);
    }
    if (classes[k] !== CLASS_IN) {
      problems.add('APPL_ERR_ZONE_CHECK', st.file(k), lines[k], `class ${classToText(classes[k]!)}: only class IN is supported`);
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
    if (types[a] !== types[b]) return types[a]! - types[b]!;
    if (classes[a] !== classes[b]) return classes[a]! - classes[b]!;
    const d = compareBytes(canonicalRdata(types[a]!, st.rdata(a)), canonicalRdata(types[b]!, st.rdata(b)));
    return d !== 0 ? d : a - b;
  };

  // Without two records of one type and class a name has no duplicate and no RRset of
  // several TTLs: most names (an A and an AAAA, say) need no sort.
  const sharesType = (gs: number, ge: number): boolean => {
    if (ge - gs > 16) return true;
    for (let i = gs + 1; i < ge; i++) {
      const a = order[i]!;
      for (let j = gs; j < i; j++) {
        const b = order[j]!;
        if (types[a] === types[b] && classes[a] === classes[b]) return true;
      }
    }
    return false;
  };

  for (let id = 0; id < nNames; id++) {
    if (outside[id]) continue;
    const gs = startOf[id]!, ge = startOf[id + 1]!;
    if (ge - gs > 1 && sharesType(gs, ge)) {
      group.length = 0;
      for (let k = gs; k < ge; k++) group.push(order[k]!);
      group.sort(byRdata);
      let setStart = 0;
      let kept = group[0]!;
      for (let g = 1; g <= group.length; g++) {
        const prev = group[g - 1]!;
        const cur = g < group.length ? group[g]! : -1;
        if (cur >= 0 && types[cur] === types[prev] && classes[cur] === classes[prev]) {
          if (compareBytes(canonicalRdata(types[prev]!, st.rdata(prev)), canonicalRdata(types[cur]!, st.rdata(cur))) === 0) {
            dropped[cur] = 1;
            if (duplicates++ < MAX_DUPLICATE_WARNINGS) {
              warnings.push(`${where(st.file(cur), lines[cur])}: duplicate record dropped: ${recordText(st, cur)} (same as ${where(st.file(kept), lines[kept])})`);
            }
          } else {
            kept = cur;
          }
          continue;
        }
        ttlCheck(st, group, setStart, g, dropped, warnings);
        setStart = g;
        if (cur >= 0) kept = cur;
      }
    }

    // Per-name rules, over the records kept, in file order.
    let cname = -1, dname = -1, other = -1, soa = -1;
    for (let j = gs; j < ge; j++) {
      const k = order[j]!;
      if (dropped[k] !== 0) continue;
      const file = st.file(k), line = lines[k];
      switch (types[k]) {
        case T.CNAME:
          if (cname >= 0) problems.add('APPL_ERR_ZONE_CHECK', file, line, `multiple CNAME records at ${nameToText(owners[k]!)} (a name has at most one, RFC 1034 §3.6.2)`);
          else cname = k;
          break;
        case T.DNAME:
          if (dname >= 0) problems.add('APPL_ERR_ZONE_CHECK', file, line, `multiple DNAME records at ${nameToText(owners[k]!)} (a name has at most one, RFC 6672 §2.4)`);
          else dname = k;
          if (other < 0) other = k;
          break;
        case T.RRSIG:
        case T.NSEC:
          break;
        case T.SOA:
          soaCount++;
          if (id !== apexId) {
            problems.add('APPL_ERR_ZONE_CHECK', file, line, `SOA record at ${nameToText(owners[k]!)}, which is not the zone apex ${apexText}`);
          } else if (soa >= 0) {
            problems.add('APPL_ERR_ZONE_CHECK', file, line, `a second SOA record at the apex (the first is at ${where(st.file(soa), lines[soa])}); a zone has exactly one`);
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
      const later = Math.max(cname, other);
      const what = types[other] === T.DNAME ? 'DNAME' : 'other data';
      problems.add('APPL_ERR_ZONE_CHECK', st.file(later), lines[later],
        `CNAME and ${what} at the same name ${nameToText(owners[cname]!)} (the CNAME is at ${where(st.file(cname), lines[cname])}; RFC 1034 §3.6.2 allows nothing else there but RRSIG and NSEC)`);
    }
    if (dname >= 0) dnameIds.push(id);
  }

  if (dnameIds.length > 0 || cutIds.length > 0) {
    const below: Below = {
      st, names, order, startOf, dropped, outside, apexId, hasAddress, occluded: new Uint8Array(nNames), problems, warnings,
    };
    checkBelowCuts(below, new Set(dnameIds), new Set(cutIds));
    checkGlue(below, cutIds);
  }

  let firstInZone = n > 0 ? 0 : -1;
  for (let k = 0; k < n; k++) {
    if (!outside[ownerId[k]!]) {
      firstInZone = k;
      break;
    }
  }
  const zoneLine = firstInZone >= 0 ? lines[firstInZone] : undefined;
  const zoneFile = firstInZone >= 0 ? st.file(firstInZone) : z.file;
  let apexSoa = false;
  for (let k = 0; k < n && !apexSoa; k++) apexSoa = types[k] === T.SOA && ownerId[k] === apexId;
  if (soaCount === 0 || apexId < 0 || !apexSoa) {
    problems.add('APPL_ERR_ZONE_CHECK', zoneFile, zoneLine, `zone ${apexText} has no SOA record at its apex; add one ('@ SOA primary-ns hostmaster serial refresh retry expire minimum')`);
  }
  if (!apexHasNs) {
    problems.add('APPL_ERR_ZONE_CHECK', zoneFile, zoneLine, `zone ${apexText} has no NS records at its apex; add at least one ('@ NS ns1.${apexText === '.' ? '' : apexText}')`);
  }
  if (duplicates > MAX_DUPLICATE_WARNINGS) {
    warnings.push(`${z.file}: ${duplicates - MAX_DUPLICATE_WARNINGS} more duplicate records dropped`);
  }
  problems.throwIfAny(apexText);
  if (duplicates === 0) return parsedZone(z.origin, z.file, st, warnings, { table: names, ownerId });
  let kept = 0;
  for (let k = 0; k < n; k++) if (dropped[k] === 0) ownerId[kept++] = ownerId[k]!;
  return parsedZone(z.origin, z.file, st.keep(dropped), warnings, { table: names, ownerId: ownerId.subarray(0, kept) });
}

/**
 * RFC 2181 §5.2: warn when an RRset's TTLs differ, naming the TTL of its first record.
 * Not RRSIGs: each has the TTL of the RRset it covers (RFC 4034 §3), so those at one name differ.
 */
function ttlCheck(st: RecordStore, group: number[], s: number, e: number, dropped: Uint8Array, warnings: string[]): void {
  if (e - s < 2 || st.type[group[s]!] === T.RRSIG) return;
  let first = -1;
  for (let g = s; g < e; g++) {
    const k = group[g]!;
    if (dropped[k] === 0 && (first < 0 || k < first)) first = k;
  }
  if (first < 0) return;
  const ttl = st.ttl[first]!;
  for (let g = s; g < e; g++) {
    const k = group[g]!;
    if (st.ttl[k] !== ttl && k !== first) {
      warnings.push(`${where(st.file(k), st.line[k])}: ${nameToText(st.owner[k]!)} TTL ${st.ttl[k]} does not match the TTL ${ttl} of the ${typeToText(st.type[k]!)} RRset (RFC 2181 §5.2)`);
    }
  }
}

interface Below {
  st: RecordStore;
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
  const { st, names, order, startOf, dropped } = z;
  const apexLen = names.names[z.apexId]?.length ?? 1;
  let warned = 0;
  // Per name id, once known: the nearest DNAME and the nearest cut at it or above it, up to
  // the apex (the apex's NS is no cut); -1 for none, and memo[id] 0 until known. Siblings
  // then cost one lookup, of their parent, instead of one per ancestor.
  const memo = new Uint8Array(names.size);
  const nearDname = new Int32Array(names.size);
  const nearCut = new Int32Array(names.size);
  const chain: number[] = [];
  for (let id = 0; id < names.size; id++) {
    if (z.outside[id]) continue;
    const o = names.names[id]!;
    const first = order[startOf[id]!]!;
    // The ancestors in the zone, nearest first, up to one already known.
    let dname = -1, cut = -1;
    chain.length = 0;
    const stop = o.length - apexLen; // ancestors down to the apex, not above it
    for (let p = 0; p < stop; ) {
      p += o[p]! + 1;
      const anc = names.find(o, p, o.length);
      if (anc < 0) continue;
      if (memo[anc] !== 0) {
        dname = nearDname[anc]!;
        cut = nearCut[anc]!;
        break;
      }
      chain.push(anc);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const a = chain[i]!;
      if (dnames.has(a)) dname = a;
      if (a !== z.apexId && cuts.has(a)) cut = a;
      memo[a] = 1;
      nearDname[a] = dname;
      nearCut[a] = cut;
    }
    if (dname >= 0) {
      z.problems.add('APPL_ERR_ZONE_CHECK', st.file(first), st.line[first],
        `${nameToText(o)} is below the DNAME at ${nameToText(names.names[dname]!)}; no data may exist below a DNAME (RFC 6672 §2.4)`);
      cut = -1;
    }
    const atCut = cuts.has(id);
    if (cut >= 0) z.occluded[id] = 1;
    else if (!atCut) continue;
    for (let j = startOf[id]!; j < startOf[id + 1]!; j++) {
      const k = order[j]!;
      if (dropped[k] !== 0) continue;
      const t = st.type[k]!;
      // Addresses are glue; at the cut itself the delegation's own types belong too.
      const fine = t === T.A || t === T.AAAA || (cut < 0 && (t === T.NS || t === T.DS || t === T.RRSIG || t === T.NSEC));
      if (fine) continue;
      if (warned++ < MAX_DELEGATION_WARNINGS) {
        const at = nameToText(cut >= 0 ? names.names[cut]! : o);
        z.warnings.push(`${where(st.file(k), st.line[k])}: ${nameToText(st.owner[k]!)} ${typeToText(t)} is ${cut >= 0 ? 'below' : 'at'} the delegation ${at} and will never be served (only the child zone's servers answer for it)`);
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
      const k = z.order[j]!;
      if (z.st.type[k] !== T.NS || z.dropped[k] !== 0) continue;
      const rdata = z.st.rdata(k);
      if (!isSubdomain(rdata, cut)) continue;
      const target = z.names.find(rdata, 0, rdata.length);
      if ((target < 0 || z.hasAddress[target] === 0) && warned++ < MAX_DELEGATION_WARNINGS) {
        z.warnings.push(`${where(z.st.file(k), z.st.line[k])}: the delegation ${nameToText(cut)} names ${nameToText(rdata)}, which is inside it, but the zone has no A or AAAA glue for it: resolvers cannot reach that server`);
      }
    }
  }
}
