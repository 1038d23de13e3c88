// Denial records found at run time: for a name a signed zone does not have, the NSEC that
// covers it (RFC 4035 §3.1.3.2) or the NSEC3 that covers its next closer name (RFC 5155
// §7.2.1). Everything else of such an answer is a template (specializers/dns/compile.ts);
// this finds the one record that depends on the query name and writes it into the answer.
//
// The records of a zone are in DNS_DENIAL (layout.ts): NSEC keyed by the lower-cased
// owner in canonical order (a binary search with the canonical comparison), NSEC3 keyed by
// the raw owner hash in byte order (the query's next closer name hashed with the zone's
// salt and iterations, then a binary search; the last record covers what sorts after it).

import { copyBytes } from '../../basics/bytes.js';
import * as D from '../../specializers/dns/layout.js';
import { canonicalCompareLabels, compareBytes, NSEC3_HASH_LEN, Sha1 } from '../../specializers/dns/nsec3-hash.js';
import type { DnsTables } from './tables.js';

const MAX_POINTER = 0x3fff;

/**
 * Keeps no tables of its own (each call is given the responder's current ones): an image
 * swapped out by a reload must not stay alive through it.
 */
export class DenialRecords {
  private readonly keyLabels = new Int32Array(128);
  private readonly ownerLabels = new Int32Array(128);
  private readonly hash = new Uint8Array(NSEC3_HASH_LEN);
  private readonly sha1 = new Sha1();
  /** NSEC3 hashes computed (each costs 1 + iterations SHA-1 runs). */
  hashes = 0;


  /**
   * The DNS_DENIAL record of zone z that covers the lower-cased name at low[0, len) with
   * label starts labels[0, n): NSEC, the greatest owner at or before it; -1 when none.
   */
  nsecCover(t: DnsTables, z: number, low: Uint8Array, labels: Int32Array, n: number): number {
    const at = t.zones[z * D.ZONE_WORDS + D.ZONE_DENIAL_AT]!;
    const count = t.zones[z * D.ZONE_WORDS + D.ZONE_DENIAL_COUNT]!;
    const den = t.denial, blob = t.blob, kl = this.keyLabels;
    let lo = 0, hi = count - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = den[(at + mid) * D.DENIAL_WORDS + D.DEN_KEY_OFF]!;
      let nk = 0;
      for (let i = k; blob[i] !== 0 && nk < kl.length; i += blob[i]! + 1) kl[nk++] = i;
      if (canonicalCompareLabels(low, labels, n, blob, kl, nk) >= 0) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best < 0 ? -1 : at + best;
  }

  /** NSEC3: the record of zone z whose hash interval holds the hash of low[off, off+len) (a match, or the cover). */
  nsec3Cover(t: DnsTables, z: number, low: Uint8Array, off: number, len: number): number {
    const za = z * D.ZONE_WORDS;
    const at = t.zones[za + D.ZONE_DENIAL_AT]!;
    const count = t.zones[za + D.ZONE_DENIAL_COUNT]!;
    if (count === 0) return -1;
    const p = t.zones[za + D.ZONE_NSEC3]!;
    const blob = t.blob;
    const iterations = blob[p + 1]! | (blob[p + 2]! << 8);
    const saltLen = blob[p + 3]!;
    this.sha1.nsec3(low, off, len, blob, p + 4, saltLen, iterations, this.hash);
    this.hashes++;
    const den = t.denial, h = this.hash;
    let lo = 0, hi = count - 1, best = count - 1; // before the first: the last covers it (the chain wraps)
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = (at + mid) * D.DENIAL_WORDS;
      if (compareBytes(h, 0, NSEC3_HASH_LEN, blob, den[r + D.DEN_KEY_OFF]!, den[r + D.DEN_KEY_LEN]!) >= 0) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return at + best;
  }

  /**
   * The bytes write() takes for record `e` at offset `at` of the message at buf[off], with the same
   * query name arguments (its owner compressed against the name; whole again for each
   * later record past pointer range).
   */
  size(t: DnsTables, buf: Uint8Array, off: number, e: number, at: number, q: number, qLabels: Int32Array, qn: number): number {
    const d = t.denial, r = e * D.DENIAL_WORDS;
    const ownerLen = d[r + D.DEN_OWNER_LEN_COUNT]! >>> 16;
    const more = (d[r + D.DEN_OWNER_LEN_COUNT]! & 0xffff) - 1;
    const same = this.shared(t, buf, e, q, qLabels, qn);
    const prefix = same > 0 ? this.ownerLabels[this.ownerCount - same]! - d[r + D.DEN_OWNER_OFF]! : ownerLen;
    // Where the later records point, as write() decides it: the owner written here, or (all of it a suffix of the question) the question.
    const ownerAt = same > 0 && prefix === 0 ? q - off + qLabels[qn - same]! : at;
    return prefix + (same > 0 ? 2 : 0) + d[r + D.DEN_BODY_LEN]! + (ownerAt > MAX_POINTER ? more * (ownerLen - 2) : 0);
  }

  private ownerCount = 0;

  /**
   * How many of the last labels of record e's owner are the query name's last labels
   * (case-insensitively), the query name at buf[q] with labels qLabels[0, qn); 0 when q < 0.
   * Leaves the owner's label starts in ownerLabels[0, ownerCount).
   */
  private shared(t: DnsTables, buf: Uint8Array, e: number, q: number, qLabels: Int32Array, qn: number): number {
    const blob = t.blob;
    const ownerOff = t.denial[e * D.DENIAL_WORDS + D.DEN_OWNER_OFF]!;
    const ol = this.ownerLabels;
    let on = 0;
    for (let i = ownerOff; blob[i] !== 0 && on < ol.length; i += blob[i]! + 1) ol[on++] = i;
    this.ownerCount = on;
    let same = 0;
    if (q < 0) return 0;
    while (same < on && same < qn) {
      const a = ol[on - 1 - same]!, b = q + qLabels[qn - 1 - same]!;
      const l = blob[a]!;
      if (buf[b] !== l) break;
      let j = 1;
      for (; j <= l; j++) {
        let x = blob[a + j]!, y = buf[b + j]!;
        if (x >= 0x41 && x <= 0x5a) x |= 0x20;
        if (y >= 0x41 && y <= 0x5a) y |= 0x20;
        if (x !== y) break;
      }
      if (j <= l) break;
      same++;
    }
    return same;
  }

  /** The number of records of `e` (the NSEC or NSEC3 and its RRSIGs). */
  count(t: DnsTables, e: number): number {
    return t.denial[e * D.DENIAL_WORDS + D.DEN_OWNER_LEN_COUNT]! & 0xffff;
  }

  /**
   * Writes record `e` at buf[w..] of a message that starts at buf[off]. When `q` >= 0 the
   * query name is at buf[q] (labels relative to it in qLabels[0, qn)) and the owner is
   * compressed against it (its longest common suffix); every later record of `e` points
   * at the owner. Returns the bytes written (size() of the same arguments).
   */
  write(t: DnsTables, buf: Uint8Array, off: number, w: number, e: number, q: number, qLabels: Int32Array, qn: number): number {
    const d = t.denial, blob = t.blob, r = e * D.DENIAL_WORDS;
    const ownerOff = d[r + D.DEN_OWNER_OFF]!;
    const ownerLen = d[r + D.DEN_OWNER_LEN_COUNT]! >>> 16;
    // How many of the owner's last labels are the query name's last ones.
    const same = this.shared(t, buf, e, q, qLabels, qn);
    const ol = this.ownerLabels, on = this.ownerCount;
    let p = w;
    let ownerAt: number; // where the owner begins, relative to the message
    if (same > 0) {
      const target = q + qLabels[qn - same]! - off;
      const prefix = ol[on - same]! - ownerOff;
      for (let i = 0; i < prefix; i++) buf[p + i] = blob[ownerOff + i]!;
      ownerAt = prefix > 0 ? p - off : target;
      p += prefix;
      buf[p++] = 0xc0 | (target >> 8);
      buf[p++] = target & 0xff;
    } else {
      for (let i = 0; i < ownerLen; i++) buf[p + i] = blob[ownerOff + i]!;
      ownerAt = p - off;
      p += ownerLen;
    }
    // The records: the first from its TYPE on, each later one behind a pointer to the owner.
    const body = d[r + D.DEN_BODY_OFF]!, bodyLen = d[r + D.DEN_BODY_LEN]!;
    let i = 0;
    let first = true;
    while (i < bodyLen) {
      if (!first) {
        if (ownerAt > MAX_POINTER) {
          // Past where a pointer reaches: the owner whole again.
          for (let k = 0; k < ownerLen; k++) buf[p + k] = blob[ownerOff + k]!;
          p += ownerLen;
        } else {
          buf[p++] = 0xc0 | (ownerAt >> 8);
          buf[p++] = ownerAt & 0xff;
        }
        i += 2;
      }
      first = false;
      const rdlen = (blob[body + i + 8]! << 8) | blob[body + i + 9]!;
      const n = 10 + rdlen;
      copyBytes(buf, p, blob, body + i, n, 256); // an NSEC, NSEC3 or RRSIG: by set() when it runs to hundreds of bytes (an RSA signature)
      p += n;
      i += n;
    }
    return p - w;
  }
}
