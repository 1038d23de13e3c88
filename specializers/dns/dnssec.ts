// A signed zone at build time: its RRSIGs by (name, type covered), its NSEC or NSEC3
// chain in order, the checks a server needs before it serves the zone (RFC 4035 §2,
// RFC 5155 §7.1), and the denial records that go into the image (DNS_DENIAL, layout.ts).
//
// The build does not sign and does not verify signatures (the signer did that, and a
// validator checks them); it checks what would make our answers wrong or a validator
// fail: a chain with a gap or a wrong next name, NSEC3 records whose parameters differ
// from the zone's NSEC3PARAM, an authoritative name without its NSEC or NSEC3 (errors,
// file:line), and an authoritative RRset without an RRSIG or a signature outside its
// validity period at build time (warnings, with the dates). What NSD's zone load checks
// for signed zones is less than that (it serves whatever it is given).

import { BuildInputError } from '../../basics/errors.js';
import { lowerName, nameToText, wireNameLength } from './dns-name.js';
import type { DnsModel, DnsNode, DnsZone } from './model.js';
import { hasType, rrsetOf } from './model.js';
import { canonicalCompare, compareBytes, nsec3Hash, NSEC3_HASH_LEN, NSEC3_SHA1 } from './nsec3-hash.js';
import { decodeBase32Hex, encodeBase32Hex, encodeHex, formatSigTime } from './text-codec.js';
import type { ZoneRecord } from './record-store.js';
import { T, typeToText } from './rr-types.js';
import { bitmapTypes } from './rdata-text.js';
import { where } from './zone-errors.js';
import { MAX_NSEC3_ITERATIONS } from './layout.js';

/** RFC 9276 §3.1: more iterations cost resolvers and us a hash each, and buy nothing. */
const ITERATIONS_WARN = 0;
/** NSEC3 opt-out flag (RFC 5155 §3.1.2.1). */
const OPT_OUT = 1;
const MAX_WARNINGS_PER_KIND = 10;

export interface Nsec3Params {
  algorithm: number;
  iterations: number;
  salt: Uint8Array;
}

const la = new Int32Array(128), lb = new Int32Array(128);
/** RFC 4034 §6.1 order of two wire names (any case). */
export function canonicalOrder(a: Uint8Array, b: Uint8Array): number {
  return canonicalCompare(lowerName(a), 0, lowerName(b), 0, la, lb);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** RFC 1982 comparison of two 32-bit times: is a before b? */
function before(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) < 0x80000000;
}

export class ZoneDnssec {
  /** The denial records, in the order of DNS_DENIAL (canonical for NSEC, by hash for NSEC3). */
  readonly entries: DnsNode[] = [];
  /** NSEC3: the owner hash of each entry. */
  readonly hashes: Uint8Array[] = [];
  /** Index in DNS_DENIAL of entries[0]. */
  base = 0;
  private readonly entryOf = new Map<DnsNode, number>();
  private readonly hashScratch = new Uint8Array(NSEC3_HASH_LEN);
  /** NSEC: entries' lower-cased owners (the keys). */
  readonly keys: Uint8Array[] = [];

  /** Some NSEC3 of the chain has the opt-out flag: unsigned delegations (and the empty non-terminals above them) may have none. */
  private optOut = false;

  private constructor(readonly zone: DnsZone, readonly nsec3: Nsec3Params | null) {}

  /**
   * The zone's DNSSEC, or null when it is not signed (no RRSIG at its apex's SOA: served
   * as an unsigned zone, RRSIG and NSEC records answered as data, as NSD does). Checks
   * the chain (throws, file:line) and warns into `warnings`; `now` in seconds.
   */
  static of(m: DnsModel, zone: DnsZone, warnings: string[], now: number): ZoneDnssec | null {
    const apex = zone.apex;
    if (!coveredTypes(apex).has(T.SOA)) return null;
    const param = rrsetOf(apex, T.NSEC3PARAM);
    let nsec3: Nsec3Params | null = null;
    let several = false;
    let chosen: ZoneRecord | null = null;
    if (param) {
      // NSD's choice: the first NSEC3PARAM with SHA-1 and flags 0 (RFC 5155 §4.1.2: one
      // with other flags is not for servers to use) whose chain is there (an NSEC3 of its
      // parameters for the apex, listing SOA); the rest, another chain being built or torn
      // down, are ignored, with their NSEC3 records.
      const usable = param.records.filter((x) => x.rdata[0] === NSEC3_SHA1 && x.rdata[1] === 0);
      const r = usable.length > 1 ? usable.find((x) => apexChained(m, zone, x.rdata)) ?? usable[0] : usable[0];
      if (!r) {
        const f = param.records[0]!;
        throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', f.file, f.line, `no NSEC3PARAM of zone ${zone.originText} has hash algorithm SHA-1 (1) and flags 0, the only kind a server uses (RFC 5155 §4.1, §11): there is no NSEC3 chain to deny names with`);
      }
      const rd = r.rdata;
      chosen = r;
      nsec3 = { algorithm: rd[0]!, iterations: (rd[2]! << 8) | rd[3]!, salt: rd.slice(5, 5 + rd[4]!) };
      several = param.records.length > 1;
      if (several) warnings.push(`${where(r.file, r.line)}: zone ${zone.originText} has ${param.records.length} NSEC3PARAM records: this one is used, and the NSEC3 records of other parameters are ignored`);
      if (nsec3.iterations > MAX_NSEC3_ITERATIONS) {
        throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', r.file, r.line, `zone ${zone.originText} uses ${nsec3.iterations} NSEC3 iterations, more than ${MAX_NSEC3_ITERATIONS}: every denial would cost that many SHA-1 runs for names any client picks, and validators may treat the zone as insecure (RFC 9276 §3.2); resign with 0`);
      }
      if (nsec3.iterations > ITERATIONS_WARN) {
        warnings.push(`${where(r.file, r.line)}: zone ${zone.originText} uses ${nsec3.iterations} NSEC3 iterations: RFC 9276 §3.1 asks for 0 (each one costs every resolver, and this server, one more SHA-1 per denial; validators may treat many as insecure)`);
      }
    }
    const nodes = (zone.own ?? m.nodes.list).filter((n) => n.zone === zone.index);
    const s = new ZoneDnssec(zone, nsec3);
    if (nsec3) {
      for (const n of nodes) {
        const set = rrsetOf(n, T.NSEC3);
        if (!set) continue;
        const r = set.records[0]!;
        const h = new Uint8Array(NSEC3_HASH_LEN);
        let ok = n.name[0] === 32;
        try {
          if (ok) decodeBase32Hex(n.name, 1, 33, h, 0);
        } catch {
          ok = false;
        }
        if (!ok) throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', r.file, r.line, `NSEC3 owner ${nameToText(n.name)} is not a base32hex SHA-1 hash label`);
        let mine = 0;
        for (const x of set.records) {
          const rd = x.rdata;
          const salt = rd.subarray(5, 5 + rd[4]!);
          if (rd[0] !== nsec3.algorithm || ((rd[2]! << 8) | rd[3]!) !== nsec3.iterations || compareBytes(salt, 0, salt.length, nsec3.salt, 0, nsec3.salt.length) !== 0) {
            if (several) continue; // another chain's
            throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', x.file, x.line, `the NSEC3 at ${nameToText(n.name)} has hash parameters (${rd[0]} ${(rd[2]! << 8) | rd[3]!} ${hexOrDash(salt)}) other than the zone's NSEC3PARAM (${nsec3.algorithm} ${nsec3.iterations} ${hexOrDash(nsec3.salt)})`);
          }
          if (rd[1]! & OPT_OUT) s.optOut = true;
          mine++;
        }
        if (mine === 0) continue;
        s.entries.push(n);
        s.hashes.push(h);
      }
      const order = s.entries.map((_, i) => i).sort((a, b) => compareBytes(s.hashes[a]!, 0, 20, s.hashes[b]!, 0, 20));
      const e = order.map((i) => s.entries[i]!), h = order.map((i) => s.hashes[i]!);
      s.entries.splice(0, s.entries.length, ...e);
      s.hashes.splice(0, s.hashes.length, ...h);
    } else {
      for (const n of nodes) if (hasType(n, T.NSEC) && !n.cutAbove) s.entries.push(n);
      s.entries.sort((a, b) => canonicalOrder(a.name, b.name));
      for (const n of s.entries) s.keys.push(lowerName(n.name));
    }
    s.entries.forEach((n, i) => s.entryOf.set(n, i));
    if (s.entries.length === 0) {
      const r = nsec3 ? chosen! : zone.soa;
      throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', r.file, r.line, `zone ${zone.originText} is signed (an RRSIG covers its SOA) but has no ${nsec3 ? `NSEC3 records with this NSEC3PARAM's parameters (${nsec3.algorithm} ${nsec3.iterations} ${hexOrDash(nsec3.salt)})` : 'NSEC records'}: there is no way to deny a name`);
    }
    s.checkChain(nodes, warnings);
    s.checkSignatures(nodes, warnings, now);
    return s;
  }

  /** The next owner each NSEC or NSEC3 names is the next in the chain; every name that needs one has one. */
  private checkChain(nodes: DnsNode[], warnings: string[]): void {
    let unprovable = 0;
    const n = this.entries.length;
    for (let i = 0; i < n; i++) {
      const e = this.entries[i]!;
      const next = this.entries[(i + 1) % n]!;
      if (this.nsec3) {
        const set = rrsetOf(e, T.NSEC3)!;
        for (const r of set.records) {
          const rd = r.rdata;
          const at = 5 + rd[4]!;
          const hl = rd[at]!;
          if (compareBytes(rd, at + 1, hl, this.hashes[(i + 1) % n]!, 0, 20) !== 0) {
            throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', r.file, r.line, `the NSEC3 chain is broken: the NSEC3 at ${nameToText(e.name)} names ${base32(rd.subarray(at + 1, at + 1 + hl))} as the next hash, but the next NSEC3 in the zone is ${nameToText(next.name)}`);
          }
        }
      } else {
        const r = rrsetOf(e, T.NSEC)!.records[0]!;
        const want = next.name;
        const got = r.rdata.subarray(0, wireNameLength(r.rdata, 0));
        if (canonicalOrder(got, want) !== 0) {
          throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', r.file, r.line, `the NSEC chain is broken: the NSEC at ${nameToText(e.name)} names ${nameToText(got)} as the next name, but the next name with an NSEC in canonical order is ${nameToText(want)}`);
        }
      }
    }
    // Every authoritative name, and every delegation, has its record (RFC 4035 §2.3,
    // RFC 5155 §7.1); with opt-out, a delegation without DS and the empty non-terminals
    // above such delegations may have none.
    for (const x of nodes) {
      if (x.cutAbove) continue;
      const isData = x.recCount > 0;
      if (this.nsec3) {
        if (hasType(x, T.NSEC3) && x.recCount === countOf(x, T.NSEC3, T.RRSIG)) continue; // the chain's own names
        if (this.optOut && (!isData || (x.isCut && !hasType(x, T.DS)))) {
          // Below an empty non-terminal without an NSEC3 the proof starts at the closest ancestor
          // that has one; a wildcard there exists, and cannot be denied (RFC 5155 §8.4).
          if (!isData && !x.isCut && this.match(x.name) < 0) {
            let p = x.parent;
            while (p !== null && this.match(p.name) < 0) p = p.parent;
            if (p?.wildcard && unprovable++ < MAX_WARNINGS_PER_KIND) {
              const r = firstRecord(p.wildcard) ?? this.zone.soa;
              warnings.push(`${where(r.file, r.line)}: names below the empty non-terminal ${nameToText(x.name)}, which has no NSEC3 (opt-out), cannot be proven absent while the wildcard ${nameToText(p.wildcard.name)} exists: validators will answer SERVFAIL for them (sign with an NSEC3 for every empty non-terminal, or give ${nameToText(x.name)} a record)`);
            }
          }
          continue;
        }
        if (this.match(x.name) < 0) {
          const r = firstRecord(x) ?? this.zone.soa;
          throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', r.file, isData ? r.line : undefined, `the NSEC3 chain is incomplete: no NSEC3 for ${isData ? '' : 'the empty non-terminal '}${nameToText(x.name)} (its hash is ${base32(this.hashOf(x.name))})`);
        }
      } else if (isData && !this.entryOf.has(x)) {
        const r = firstRecord(x)!;
        throw new BuildInputError('APPL_ERR_ZONE_DNSSEC', r.file, r.line, `the NSEC chain is incomplete: ${nameToText(x.name)} has records but no NSEC`);
      }
    }
  }

  /** Warnings: authoritative RRsets without an RRSIG, signatures not valid at build time. */
  private checkSignatures(nodes: DnsNode[], warnings: string[], now: number): void {
    let unsigned = 0, expired = 0;
    for (const x of nodes) {
      if (x.cutAbove || x.recCount === 0) continue;
      const covered = coveredTypes(x);
      const recs = x.recs;
      const seen = new Set<number>();
      for (let i = x.recStart, end = i + x.recCount; i < end; i++) {
        const k = recs.order[i]!;
        const type = recs.store.type[k]!;
        if (type === T.RRSIG) {
          const rd = recs.store.rdata(k);
          const expiration = u32(rd, 8), inception = u32(rd, 12);
          if ((before(expiration, now) || before(now, inception)) && expired++ < MAX_WARNINGS_PER_KIND) {
            const typeCovered = (rd[0]! << 8) | rd[1]!;
            warnings.push(`${where(recs.store.file(k), recs.store.line[k]!)}: the RRSIG over ${nameToText(x.name)} ${typeToText(typeCovered)} is ${before(expiration, now) ? `expired (${formatSigTime(expiration)})` : `not valid before ${formatSigTime(inception)}`}; valid ${formatSigTime(inception)} to ${formatSigTime(expiration)}, now ${formatSigTime(now)}: validators will answer SERVFAIL for it`);
          }
          continue;
        }
        if (seen.has(type)) continue;
        seen.add(type);
        // At a cut only DS and NSEC are the parent's to sign (RFC 4035 §2.2).
        if (x.isCut && type !== T.DS && type !== T.NSEC) continue;
        if (!covered.has(type) && unsigned++ < MAX_WARNINGS_PER_KIND) {
          warnings.push(`${where(recs.store.file(k), recs.store.line[k]!)}: the ${typeToText(type)} RRset of ${nameToText(x.name)} has no RRSIG: validators will answer SERVFAIL for it`);
        }
      }
    }
    if (unsigned > MAX_WARNINGS_PER_KIND) warnings.push(`zone ${this.zone.originText}: ${unsigned - MAX_WARNINGS_PER_KIND} more RRsets without an RRSIG`);
    if (expired > MAX_WARNINGS_PER_KIND) warnings.push(`zone ${this.zone.originText}: ${expired - MAX_WARNINGS_PER_KIND} more signatures outside their validity period`);
  }

  /** The NSEC3 hash of a wire name (any case); a view into a scratch buffer. */
  hashOf(name: Uint8Array): Uint8Array {
    const low = lowerName(name);
    nsec3Hash(low, 0, low.length, this.nsec3!.salt, this.nsec3!.iterations, this.hashScratch);
    return this.hashScratch;
  }

  /** NSEC3: the entry whose owner is the hash of `name`, or -1. NSEC: the entry at `name`, or -1. */
  match(name: Uint8Array): number {
    if (!this.nsec3) {
      const i = this.coverIndex(name);
      return i >= 0 && canonicalOrder(this.entries[i]!.name, name) === 0 ? i : -1;
    }
    const i = this.coverIndex(name);
    return compareBytes(this.hashes[i]!, 0, 20, this.hashScratch, 0, 20) === 0 ? i : -1;
  }

  /**
   * The entry that covers `name` (or matches it): NSEC, the greatest owner at or before
   * it in canonical order; NSEC3, the greatest hash at or before its hash (the last when
   * it sorts first: the chain wraps). Leaves the hash in hashScratch (NSEC3).
   */
  coverIndex(name: Uint8Array): number {
    let lo = 0, hi = this.entries.length - 1, best = -1;
    if (this.nsec3) {
      const h = this.hashOf(name);
      best = this.entries.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes(h, 0, 20, this.hashes[mid]!, 0, 20) >= 0) { best = mid; lo = mid + 1; } else hi = mid - 1;
      }
      return best;
    }
    const low = lowerName(name);
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (canonicalCompare(low, 0, this.keys[mid]!, 0, la, lb) >= 0) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return best;
  }

  /** The node of entry i (its NSEC or NSEC3 RRset is the denial record). */
  node(i: number): DnsNode {
    return this.entries[i]!;
  }

  /** The entry of a node that holds an NSEC (NSEC zones), or -1. */
  entryAt(n: DnsNode): number {
    return this.entryOf.get(n) ?? -1;
  }

  /** The type of the zone's denial records. */
  get denialType(): number {
    return this.nsec3 ? T.NSEC3 : T.NSEC;
  }
}

/** Has the apex an NSEC3 of these NSEC3PARAM parameters whose bitmap lists SOA (NSD's test that a chain is there)? */
function apexChained(m: DnsModel, zone: DnsZone, param: Uint8Array): boolean {
  const salt = param.subarray(5, 5 + param[4]!);
  const low = lowerName(zone.origin);
  const h = new Uint8Array(NSEC3_HASH_LEN);
  nsec3Hash(low, 0, low.length, salt, (param[2]! << 8) | param[3]!, h);
  const name = new Uint8Array(33 + zone.origin.length);
  name[0] = 32;
  name.set(new TextEncoder().encode(encodeBase32Hex(h, 0, h.length)), 1);
  name.set(zone.origin, 33);
  const n = m.nodes.get(name);
  const set = n && n.zone === zone.index ? rrsetOf(n, T.NSEC3) : undefined;
  return set?.records.some((x) => {
    const rd = x.rdata;
    if (compareBytes(rd, 0, 1, param, 0, 1) !== 0 || compareBytes(rd, 2, 3 + rd[4]!, param, 2, 3 + param[4]!) !== 0) return false;
    const at = 5 + rd[4]!;
    return bitmapTypes(rd, at + 1 + rd[at]!, rd.length).includes(T.SOA);
  }) ?? false;
}

/** The types the RRSIGs at a name cover. */
function coveredTypes(n: DnsNode): Set<number> {
  const out = new Set<number>();
  const set = rrsetOf(n, T.RRSIG);
  if (set) for (const r of set.records) out.add((r.rdata[0]! << 8) | r.rdata[1]!);
  return out;
}

/** The RRSIGs at a name over one type, in zone order. */
export function rrsigsOver(n: DnsNode, type: number): ZoneRecord[] {
  const set = rrsetOf(n, T.RRSIG);
  if (!set) return [];
  return set.records.filter((r) => ((r.rdata[0]! << 8) | r.rdata[1]!) === type);
}

function countOf(n: DnsNode, a: number, b: number): number {
  let c = 0;
  const recs = n.recs;
  for (let i = n.recStart, end = i + n.recCount; i < end; i++) {
    const t = recs.store.type[recs.order[i]!]!;
    if (t === a || t === b) c++;
  }
  return c;
}

function firstRecord(n: DnsNode): ZoneRecord | undefined {
  return n.recCount > 0 ? n.recs.store.record(n.recs.order[n.recStart]!) : undefined;
}

/** The hex of a salt, '-' for none (as zone files write it). */
function hexOrDash(b: Uint8Array): string {
  return b.length === 0 ? '-' : encodeHex(b, 0, b.length);
}

function base32(h: Uint8Array): string {
  return encodeBase32Hex(h, 0, h.length);
}
