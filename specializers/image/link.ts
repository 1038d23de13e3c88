// Linking two images into one: what `serve` does to serve secondary zones beside an image.
//
// A secondary zone arrives at run time (a zone transfer) and is compiled by the same
// compiler as `build`, into an image of its own (the secondaries only). The image the
// operator built cannot be compiled again (it holds answers, not zones), so the served
// image is the two linked:
//
//   BLOB     the base's BLOB, zero padding to 8, the other's BLOB   (offsets in the
//            other's tables move by `delta`; alignment inside the BLOB is kept, which the
//            HTTP segments rely on)
//   HTTP_*   the base's, as they are (their offsets are below `delta`)
//   DNS_*    the base's records, then the other's with their offsets moved by `delta`
//            and their indices (zones, names, type-map pairs, templates) by the base's
//            counts; the name hash built again over both name tables
//   META     the base's, with the other's zones added
//
// Only zones that do not nest can be linked: the model decides at build time which zone
// answers a name when a parent and its child are both served (model.ts), and two images
// compiled apart cannot have made that choice together. A zone of one equal to, above or
// below a zone of the other is refused (APPL_ERR_USAGE, naming both).
//
// Zone flags (layout.ts ZONE_FLAGS) are set here: every zone of `add` is a secondary, and
// those named in `servfail` answer SERVFAIL (no data yet, or past their SOA expire).

import { UsageError } from '../../basics/errors.js';
import * as D from '../dns/layout.js';
import { ImageWriter, SectionId, sectionWords, type Image, type ImageMeta } from './format.js';
import { tableSizeFor } from './hash.js';
import { isSubdomain, nameToText, nameToWire } from '../dns/dns-name.js';

export interface LinkRequest {
  /** The image the operator built (sites, zones), or null: secondaries only. */
  base: Image | null;
  /** The secondary zones, compiled into an image of their own (`build` with zones only), or null: none yet. */
  add: Image | null;
  output: string;
  /** Origins (lower case, absolute: "example.org.") of zones of `add` to answer SERVFAIL. */
  servfail?: ReadonlySet<string>;
}

const HTTP_SECTIONS = [
  SectionId.HTTP_SITES, SectionId.HTTP_ROUTES, SectionId.HTTP_ROUTE_HASH, SectionId.HTTP_VARIANTS,
  SectionId.HTTP_RESPONSES, SectionId.HTTP_SEGMENTS, SectionId.HTTP_SPECIAL,
];

function blobOf(img: Image): Uint8Array {
  const s = img.sections.get(SectionId.BLOB);
  return s ? new Uint8Array(img.shared, s.offset, s.length) : new Uint8Array(0);
}

/** The zone origins of an image's tables, lower-cased wire names. */
function originWires(img: Image): Uint8Array[] {
  const zones = sectionWords(img, SectionId.DNS_ZONES);
  const blob = blobOf(img);
  const out: Uint8Array[] = [];
  for (let a = 0; a + D.ZONE_WORDS <= zones.length; a += D.ZONE_WORDS) {
    out.push(blob.subarray(zones[a + D.ZONE_ORIGIN_OFF]!, zones[a + D.ZONE_ORIGIN_OFF]! + zones[a + D.ZONE_ORIGIN_LEN]!));
  }
  return out;
}

/** The zone origins of an image, as presentation text in lower case ("example.org.", escapes as nameToText writes them). */
export function zoneOrigins(img: Image): string[] {
  return originWires(img).map((w) => nameToText(w));
}

/**
 * Throws APPL_ERR_USAGE when a zone of one list nests with one of the other (see the head
 * of this file). Names as presentation text; compared as wire names, label by label.
 */
export function checkDisjoint(base: readonly string[], add: readonly string[], what = 'the image'): void {
  const wire = (t: string): Uint8Array => nameToWire(t === '.' || t.endsWith('.') ? t : t + '.');
  for (const a of add) {
    const aw = wire(a);
    for (const b of base) {
      const bw = wire(b);
      const below = isSubdomain(aw, bw), above = isSubdomain(bw, aw);
      if (below || above) {
        throw new UsageError(`secondary zone ${a} ${below && above ? 'is also' : below ? 'is below' : 'is above'} zone ${b} of ${what}: ` +
          'a secondary zone may not be, contain, or sit inside a zone built into the image (build them together, or serve them apart)');
      }
    }
  }
}

export function linkImages(req: LinkRequest): { size: number; hash: string } {
  const { base, add } = req;
  if (base === null && add === null) throw new UsageError('nothing to link: no image and no secondary zone');
  checkDisjoint(base ? zoneOrigins(base) : [], add ? zoneOrigins(add) : []);
  const w = new ImageWriter(req.output);
  try {
    w.beginBlob();
    let delta = 0;
    if (base) {
      w.append(blobOf(base));
      const pad = (8 - (w.blobLength % 8)) % 8;
      if (pad > 0) w.append(new Uint8Array(pad));
      delta = w.blobLength;
    }
    if (add) w.append(blobOf(add));
    w.endBlob();
    if (base) {
      for (const id of HTTP_SECTIONS) if (base.sections.has(id)) w.addU32Section(id, sectionWords(base, id));
    }
    const dns = linkDns(base, add, delta, req.servfail ?? new Set());
    if (dns) for (const [id, words] of dns) w.addU32Section(id, words);
    const meta: ImageMeta = base
      ? { ...base.meta, zones: [...base.meta.zones, ...(add?.meta.zones ?? [])] }
      : { ...add!.meta, sites: [] };
    w.addSection(SectionId.META, Buffer.from(JSON.stringify(meta), 'utf8'));
    return w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
}

interface DnsWords { zones: Uint32Array; names: Uint32Array; typemap: Uint32Array; templates: Uint32Array; denial: Uint32Array }

function dnsWords(img: Image | null): DnsWords {
  const get = (id: number): Uint32Array => (img ? sectionWords(img, id) : new Uint32Array(0));
  const denial = img && img.sections.has(SectionId.DNS_DENIAL) ? sectionWords(img, SectionId.DNS_DENIAL) : new Uint32Array(0);
  return { zones: get(SectionId.DNS_ZONES), names: get(SectionId.DNS_NAMES), typemap: get(SectionId.DNS_RRSETS), templates: get(SectionId.DNS_ANSWERS), denial };
}

function linkDns(base: Image | null, add: Image | null, delta: number, servfail: ReadonlySet<string>): Array<[number, Uint32Array]> | null {
  const a = dnsWords(base), b = dnsWords(add);
  if (a.zones.length === 0 && b.zones.length === 0) return null;
  const zoneBase = a.zones.length / D.ZONE_WORDS;
  const nameBase = a.names.length / D.NAME_WORDS;
  const pairBase = a.typemap.length / D.TYPEMAP_WORDS;
  const tplBase = a.templates.length / D.TEMPLATE_WORDS;
  const denBase = a.denial.length / D.DENIAL_WORDS;

  const zones = concat(a.zones, b.zones);
  const origins = add ? zoneOrigins(add) : [];
  for (let i = 0, z = zoneBase * D.ZONE_WORDS; z < zones.length; i++, z += D.ZONE_WORDS) {
    zones[z + D.ZONE_ORIGIN_OFF]! += delta;
    zones[z + D.ZONE_NAME]! += nameBase;
    const signed = zones[z + D.ZONE_FLAGS]! & (D.ZONE_FLAG_NSEC | D.ZONE_FLAG_NSEC3);
    zones[z + D.ZONE_FLAGS] = signed | D.ZONE_FLAG_SECONDARY | (servfail.has(origins[i]!) ? D.ZONE_FLAG_SERVFAIL : 0);
    zones[z + D.ZONE_DENIAL_AT]! += denBase;
    if (signed & D.ZONE_FLAG_NSEC3) zones[z + D.ZONE_NSEC3]! += delta;
  }
  const denial = concat(a.denial, b.denial);
  for (let e = denBase * D.DENIAL_WORDS; e < denial.length; e += D.DENIAL_WORDS) {
    denial[e + D.DEN_KEY_OFF]! += delta;
    denial[e + D.DEN_OWNER_OFF]! += delta;
    denial[e + D.DEN_BODY_OFF]! += delta;
  }
  const names = concat(a.names, b.names);
  for (let n = nameBase * D.NAME_WORDS; n < names.length; n += D.NAME_WORDS) {
    names[n + D.NAME_KEY_OFF]! += delta;
    const zone = names[n + D.NAME_ZONE]! += zoneBase;
    if (zones[zone * D.ZONE_WORDS + D.ZONE_FLAGS]! & D.ZONE_FLAG_SERVFAIL) names[n + D.NAME_FLAGS]! |= D.NAME_FLAG_SERVFAIL;
    names[n + D.NAME_EXACT_DEFAULT]! += tplBase;
    names[n + D.NAME_DESC_TPL]! += tplBase;
    names[n + D.NAME_TYPES_AT]! += pairBase;
    names[n + D.NAME_WILD_AT]! += pairBase;
  }
  const typemap = concat(a.typemap, b.typemap);
  for (let p = pairBase * D.TYPEMAP_WORDS; p < typemap.length; p += D.TYPEMAP_WORDS) typemap[p + D.TM_TPL]! += tplBase;
  const templates = concat(a.templates, b.templates);
  for (let t = tplBase * D.TEMPLATE_WORDS; t < templates.length; t += D.TEMPLATE_WORDS) {
    templates[t + D.TPL_OFF]! += delta;
    templates[t + D.TPL_PTR_OFF]! += delta;
    templates[t + D.TPL_ARSETS_OFF]! += delta;
    // TPL_EXTRA is a template index for a referral's IPv6 twin (a DNAME's TTL otherwise).
    if (templates[t + D.TPL_FLAGS]! & D.TPLF_V6_TWIN) templates[t + D.TPL_EXTRA]! += tplBase;
    // Or the BLOB offset of a splice descriptor (whose entries are places in their zone's run: they stay).
    if (templates[t + D.TPL_FLAGS]! & D.TPLF_SPLICE) templates[t + D.TPL_EXTRA]! += delta;
  }
  // The name hash again, over both tables (the names keep their hashes: NAME_HASH).
  const count = names.length / D.NAME_WORDS;
  const hash = new Uint32Array(tableSizeFor(count));
  const mask = hash.length - 1;
  for (let i = 0; i < count; i++) {
    let slot = names[i * D.NAME_WORDS + D.NAME_HASH]! & mask;
    while (hash[slot] !== 0) slot = (slot + 1) & mask;
    hash[slot] = i + 1;
  }
  return [
    [SectionId.DNS_ZONES, zones],
    [SectionId.DNS_NAMES, names],
    [SectionId.DNS_NAME_HASH, hash],
    [SectionId.DNS_RRSETS, typemap],
    [SectionId.DNS_ANSWERS, templates],
    ...(denial.length > 0 ? [[SectionId.DNS_DENIAL, denial] as [number, Uint32Array]] : []),
  ];
}

function concat(x: Uint32Array, y: Uint32Array): Uint32Array {
  const out = new Uint32Array(x.length + y.length);
  out.set(x, 0);
  out.set(y, x.length);
  return out;
}
