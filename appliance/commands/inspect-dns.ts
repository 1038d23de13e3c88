// `appliance inspect`: the DNS part. What the answer tables hold, read back from the image
// itself (layouts in specializers/dns/layout.ts): the zones with their SOA serials
// (appliance/dns/serials.ts), how many names and templates
// of each kind, how many bytes each part takes, and the names with the types they answer.
//
// A name's types are read from its answers, not from the zone (the image has no zone): a
// type is listed when the name's template for it answers with a record of that type owned
// by the name itself. So ANY (answered with one RRset, RFC 8482) and the types a CNAME
// chain ends in are not listed as the name's own; a delegation lists NS (its referral) and
// the DS held on the parent side.

import { ImageError } from '../../basics/errors.js';
import { SECTION_NAMES, SectionId } from '../../specializers/image/format.js';
import * as D from '../../specializers/dns/layout.js';
import { nameToText } from '../../specializers/dns/dns-name.js';
import { typeToText } from '../../specializers/dns/rr-types.js';
import type { DnsTables } from '../dns/tables.js';
import { zoneSerials } from '../dns/serials.js';
import { formatBytes, printable, table } from './format.js';

const QTYPE_ANY = 255;
const TYPE_NS = 2;
const RCODE_NXDOMAIN = 3;

export interface DnsNameInfo {
  name: string;
  zone: string;
  types: string[];
  /** apex, delegation, glue (below a cut), empty non-terminal, wildcard, DNAME, has a wildcard child. */
  notes: string[];
}

/** A zone as META records it, with the serial of its SOA as the tables hold it. */
export type ZoneInfo = ZoneMeta & { serial: number | null };
type ZoneMeta = { origin: string; file: string; records: number; names: number };

export interface DnsDescription {
  zones: ZoneInfo[];
  names: number;
  templates: number;
  templateKinds: {
    answers: number; nodata: number; nxdomain: number; referrals: number; referralsV6: number; dname: number;
    /** Of all of them, those no message can hold (layout.ts, MAX_TEMPLATE_LEN): every query for them gets TC=1. */
    alwaysTruncated: number;
  };
  typeMapEntries: number;
  hashSlots: number;
  bytes: {
    /** The response bytes of every template, in the BLOB. */
    answers: number;
    /** The u16 pointer lists and additional-RRset ends of the templates, in the BLOB. */
    pointerLists: number;
    /** The lower-cased wire names (keys of the name table and zone origins), in the BLOB. */
    names: number;
    /** The DNS table sections, by name. */
    sections: Record<string, number>;
  };
  /** The names listed (the first LIST_LIMIT in canonical order, or all with --all). */
  nameList: DnsNameInfo[];
}

/**
 * A name key from the image, checked to be one uncompressed wire name that fills its span
 * (the loader checks that keys lie inside the BLOB; a lookup only compares their bytes,
 * but printing one walks its labels, and a hand-made image may hold anything there).
 */
function keyOf(t: DnsTables, off: number, len: number): Uint8Array {
  const k = t.blob.subarray(off, off + len);
  let p = 0;
  while (p < k.length && k[p] !== 0 && k[p]! <= 63) p += k[p]! + 1;
  if (p !== k.length - 1 || k[p] !== 0) {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', t.image.file, `DNS tables: the name at BLOB offset ${off} is not a wire name`);
  }
  return k;
}

/** Canonical order (RFC 4034 §6.1): labels compared from the right; a sortable string. */
function canonicalKey(wire: Uint8Array): string {
  const labels: string[] = [];
  for (let p = 0; wire[p] !== 0; p += wire[p]! + 1) labels.push(String.fromCharCode(...wire.subarray(p + 1, p + 1 + wire[p]!)));
  return labels.reverse().join('\x00');
}

/** The type of the first answer record of a template, when its owner is the query name; else -1. */
function ownAnswerType(t: DnsTables, tpl: number): number {
  const a = tpl * D.TEMPLATE_WORDS;
  if (t.templates[a + D.TPL_COUNTS]! >>> 16 === 0) return -1;
  const off = t.templates[a + D.TPL_OFF]!;
  // The owner of a record answering for the query name is a pointer to offset 12.
  if (t.blob[off] !== 0xc0 || t.blob[off + 1] !== 12) return -1;
  return (t.blob[off + 2]! << 8) | t.blob[off + 3]!;
}

/**
 * META's zones with their SOA serials from the tables, matched by origin (ASCII case aside:
 * the tables key it lower-cased); null for a zone META names and the tables do not hold.
 */
export function zonesWithSerials(t: DnsTables, zoneMeta: ZoneMeta[]): ZoneInfo[] {
  const serials = new Map(zoneSerials(t).map((z) => [z.origin, z.serial]));
  return zoneMeta.map((z) => ({ ...z, serial: serials.get(asciiLower(z.origin)) ?? null }));
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function describeDns(t: DnsTables, zoneMeta: ZoneMeta[], all: boolean, limit: number): DnsDescription {
  const nTpl = t.templates.length / D.TEMPLATE_WORDS;
  const kinds = { answers: 0, nodata: 0, nxdomain: 0, referrals: 0, referralsV6: 0, dname: 0, alwaysTruncated: 0 };
  let answers = 0, pointerLists = 0, nameBytes = 0;
  for (let i = 0; i < nTpl; i++) {
    const a = i * D.TEMPLATE_WORDS;
    const flags = t.templates[a + D.TPL_FLAGS]!;
    answers += t.templates[a + D.TPL_LEN]!;
    if (t.templates[a + D.TPL_LEN]! > D.MAX_TEMPLATE_LEN && !(flags & D.TPLF_DNAME)) kinds.alwaysTruncated++;
    pointerLists += t.templates[a + D.TPL_PTR_COUNT]! * 2 + t.templates[a + D.TPL_ARSETS_COUNT]! * 4;
    if (flags & D.TPLF_DNAME) kinds.dname++;
    else if (!(flags & D.TPLF_AA)) {
      kinds.referrals++;
      if (flags & D.TPLF_V6_TWIN) kinds.referralsV6++;
    } else if ((flags & 0xf) === RCODE_NXDOMAIN) kinds.nxdomain++;
    else if (t.templates[a + D.TPL_COUNTS]! >>> 16 === 0) kinds.nodata++;
    else kinds.answers++;
  }
  const zoneOrigins: string[] = [];
  for (let z = 0; z < t.zoneCount; z++) {
    const a = z * D.ZONE_WORDS;
    nameBytes += t.zones[a + D.ZONE_ORIGIN_LEN]!;
    zoneOrigins.push(nameToText(keyOf(t, t.zones[a + D.ZONE_ORIGIN_OFF]!, t.zones[a + D.ZONE_ORIGIN_LEN]!)));
  }
  for (let n = 0; n < t.nameCount; n++) nameBytes += t.names[n * D.NAME_WORDS + D.NAME_KEY_LEN]!;

  // The names to list: sorted canonically, then cut (the sort keys are cheap strings).
  const order = Array.from({ length: t.nameCount }, (_, n) => n);
  const sortKeys = order.map((n) => canonicalKey(keyOf(t, t.names[n * D.NAME_WORDS + D.NAME_KEY_OFF]!, t.names[n * D.NAME_WORDS + D.NAME_KEY_LEN]!)));
  order.sort((x, y) => (sortKeys[x]! < sortKeys[y]! ? -1 : sortKeys[x]! > sortKeys[y]! ? 1 : 0));
  const listed = all ? order : order.slice(0, limit);
  const nameList = listed.map((n): DnsNameInfo => {
    const a = n * D.NAME_WORDS;
    const w = t.names;
    const key = keyOf(t, w[a + D.NAME_KEY_OFF]!, w[a + D.NAME_KEY_LEN]!);
    const flags = w[a + D.NAME_FLAGS]!;
    const types: string[] = [];
    if (flags & D.NAME_FLAG_DELEGATION) types.push(typeToText(TYPE_NS));
    for (let i = w[a + D.NAME_TYPES_AT]!, end = i + w[a + D.NAME_TYPES_COUNT]!; i < end; i++) {
      const qtype = t.typemap[i * D.TYPEMAP_WORDS + D.TM_QTYPE]!;
      if (qtype !== QTYPE_ANY && ownAnswerType(t, t.typemap[i * D.TYPEMAP_WORDS + D.TM_TPL]!) === qtype) types.push(typeToText(qtype));
    }
    const notes: string[] = [];
    if (flags & D.NAME_FLAG_APEX) notes.push('apex');
    if (flags & D.NAME_FLAG_DELEGATION) notes.push('delegation');
    if (flags & D.NAME_FLAG_BELOW_CUT) notes.push('below a cut');
    if (flags & D.NAME_FLAG_ABSENT) notes.push('NSEC3 owner, answered as a name that does not exist');
    else if (!(flags & D.NAME_FLAG_DATA)) notes.push('empty non-terminal');
    if (key[0] === 1 && key[1] === 0x2a) notes.push('wildcard');
    const desc = w[a + D.NAME_DESC_KIND]!;
    if (desc === D.DESC_DNAME) notes.push('DNAME');
    if (desc === D.DESC_WILDCARD) notes.push('wildcard below');
    return { name: nameToText(key), zone: zoneOrigins[w[a + D.NAME_ZONE]!] ?? '?', types, notes };
  });

  const sections: Record<string, number> = {};
  for (const id of [SectionId.DNS_ZONES, SectionId.DNS_NAMES, SectionId.DNS_NAME_HASH, SectionId.DNS_RRSETS, SectionId.DNS_ANSWERS, SectionId.DNS_DENIAL]) {
    const s = t.image.sections.get(id);
    if (s) sections[SECTION_NAMES[id]!] = s.length;
  }
  return {
    zones: zonesWithSerials(t, zoneMeta),
    names: t.nameCount,
    templates: nTpl,
    templateKinds: kinds,
    typeMapEntries: t.typemap.length / D.TYPEMAP_WORDS,
    hashSlots: t.hash.length,
    bytes: { answers, pointerLists, names: nameBytes, sections },
    nameList,
  };
}

export function formatDns(d: DnsDescription): string[] {
  const out: string[] = [];
  out.push('', 'zones');
  out.push(table([['origin', 'file', 'records', 'names', 'serial'],
    ...d.zones.map((z) => [printable(z.origin), printable(z.file), String(z.records), String(z.names), z.serial === null ? '-' : String(z.serial)])]).replace(/^/gm, '  '));
  const k = d.templateKinds;
  const b = d.bytes;
  const sectionBytes = Object.values(b.sections).reduce((s, x) => s + x, 0);
  out.push('', `dns: ${d.names.toLocaleString('en-US')} names, ${d.templates.toLocaleString('en-US')} answer templates ` +
    `(${k.answers.toLocaleString('en-US')} answers, ${k.nodata} NODATA, ${k.nxdomain} NXDOMAIN, ${k.referrals.toLocaleString('en-US')} referrals` +
    `${k.referralsV6 ? ` of which ${k.referralsV6.toLocaleString('en-US')} with an IPv6 twin` : ''}, ${k.dname} DNAME` +
    `${k.alwaysTruncated ? `; ${k.alwaysTruncated.toLocaleString('en-US')} too large for any message (answered TC=1)` : ''}), ` +
    `${d.typeMapEntries.toLocaleString('en-US')} type-map entries, ${d.hashSlots.toLocaleString('en-US')} hash slots`);
  out.push(`  bytes: answers ${formatBytes(b.answers)}, pointer lists ${formatBytes(b.pointerLists)}, names ${formatBytes(b.names)} (in the BLOB); ` +
    `tables ${formatBytes(sectionBytes)} (${Object.entries(b.sections).map(([n, x]) => `${n} ${formatBytes(x)}`).join(', ')})`);
  out.push('', `names (canonical order, lower-cased)${d.nameList.length < d.names ? `: the first ${d.nameList.length}` : ''}`);
  out.push(table([['name', 'zone', 'types', ''], ...d.nameList.map((n) => [n.name, n.zone, n.types.join(' ') || '-', n.notes.length ? `(${n.notes.join(', ')})` : ''])]).replace(/^/gm, '  ').replace(/ +$/gm, ''));
  if (d.nameList.length < d.names) out.push(`  … ${(d.names - d.nameList.length).toLocaleString('en-US')} more (--all lists them)`);
  return out;
}
