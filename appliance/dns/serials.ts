// The SOA serial of each zone in an image (RFC 1035 §3.3.13), read back from its answer
// tables: `appliance inspect` shows it; the server can report it.
//
// The image holds answers, not zones: a zone's serial is read from the answer to a query
// for its apex's SOA (the zone record names the apex, the apex's type map the template
// for qtype SOA), whose first answer record is the SOA:
//
//   ┌────────────┬──────┬───────┬─────┬──────────┬─ RDATA ───────────────────────────┐
//   │ owner name │ TYPE │ CLASS │ TTL │ RDLENGTH │ MNAME RNAME SERIAL REFRESH … MIN  │
//   │ (c0 0c)    │ 2    │ 2     │ 4   │ 2        │ names, maybe compressed; 5 × u32  │
//   └────────────┴──────┴───────┴─────┴──────────┴───────────────────────────────────┘
//
// MNAME and RNAME may hold compression pointers into the question, so the serial is
// found from the end of the RDATA (RDLENGTH − 20), never by following them. Off the hot
// path: read once at load or by inspect.

import { ImageError } from '../../basics/errors.js';
import type { Image } from '../../specializers/image/format.js';
import * as D from '../../specializers/dns/layout.js';
import { nameToText } from '../../specializers/dns/dns-name.js';
import { T } from '../../specializers/dns/rr-types.js';
import { DnsTables } from './tables.js';

export interface ZoneSerial {
  /** The zone's origin as the image keys it: lower-cased, absolute ("example.com."). */
  origin: string;
  serial: number;
}

/** RR header after the owner name: TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3). */
const RR_FIXED_LEN = 10;
/** SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM: the end of an SOA's RDATA. */
const SOA_TAIL_LEN = 20;
/** Two root names and the tail: the shortest SOA RDATA. */
const SOA_MIN_RDLEN = 2 + SOA_TAIL_LEN;

/**
 * Each zone's origin and SOA serial, in the image's zone order. Takes the image, or its
 * DNS tables when they are loaded already (building them checks every template again).
 * An image without zones gives []; one whose tables do not hold an SOA answer for a zone
 * (hand-made or damaged: the build always writes one) is refused with APPL_ERR_IMAGE_CORRUPT.
 */
export function zoneSerials(src: Image | DnsTables): ZoneSerial[] {
  const t = src instanceof DnsTables ? src : new DnsTables(src);
  const out: ZoneSerial[] = [];
  for (let z = 0; z < t.zoneCount; z++) out.push({ origin: originOf(t, z), serial: soaSerial(t, z) });
  return out;
}

function corrupt(t: DnsTables, z: number, what: string): never {
  throw new ImageError('APPL_ERR_IMAGE_CORRUPT', t.image.file, `DNS tables: zone ${z}: ${what}`);
}

function originOf(t: DnsTables, z: number): string {
  const a = z * D.ZONE_WORDS;
  const off = t.zones[a + D.ZONE_ORIGIN_OFF]!, len = t.zones[a + D.ZONE_ORIGIN_LEN]!;
  if (len < 1 || len > 255 || off + len > t.blob.length) corrupt(t, z, 'origin outside the BLOB');
  const key = t.blob.subarray(off, off + len);
  let p = 0;
  while (p < len && key[p] !== 0 && key[p]! <= 63) p += key[p]! + 1;
  if (p !== len - 1 || key[p] !== 0) corrupt(t, z, 'the origin is not a wire name');
  return nameToText(key);
}

/** The serial of zone z's SOA, from the apex's answer to qtype SOA. */
function soaSerial(t: DnsTables, z: number): number {
  const apex = t.zones[z * D.ZONE_WORDS + D.ZONE_NAME]!;
  if (apex >= t.nameCount) corrupt(t, z, 'apex past the name table');
  const n = apex * D.NAME_WORDS;
  const tpl = t.typeTemplate(t.names[n + D.NAME_TYPES_AT]!, t.names[n + D.NAME_TYPES_COUNT]!, T.SOA);
  if (tpl < 0) corrupt(t, z, 'no SOA answer at the apex');
  const a = tpl * D.TEMPLATE_WORDS;
  if (t.templates[a + D.TPL_COUNTS]! >>> 16 === 0) corrupt(t, z, 'the SOA answer holds no record');
  // Bounds were checked when the tables were loaded: the template lies inside the BLOB.
  const start = t.templates[a + D.TPL_OFF]!;
  const end = start + t.templates[a + D.TPL_LEN]!;
  const b = t.blob;
  let p = start;
  // The owner: labels up to the root or a compression pointer (RFC 1035 §4.1.4).
  while (p < end && b[p] !== 0 && (b[p]! & 0xc0) === 0) p += b[p]! + 1;
  if (p >= end) corrupt(t, z, 'the SOA answer\'s owner runs past its end');
  if (b[p] === 0) p += 1;
  else if ((b[p]! & 0xc0) === 0xc0) p += 2;
  else corrupt(t, z, 'the SOA answer\'s owner is not a wire name');
  if (p + RR_FIXED_LEN > end) corrupt(t, z, 'the SOA answer is cut short');
  const v = t.blobView;
  if (v.getUint16(p) !== T.SOA) corrupt(t, z, 'the SOA answer does not start with an SOA record');
  const rdlen = v.getUint16(p + 8);
  const rdata = p + RR_FIXED_LEN;
  if (rdlen < SOA_MIN_RDLEN || rdata + rdlen > end) corrupt(t, z, 'the SOA record\'s RDATA is malformed');
  return v.getUint32(rdata + rdlen - SOA_TAIL_LEN);
}
