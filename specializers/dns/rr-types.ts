// RR types and classes: mnemonics, codes, and the RDATA field layout of each type whose
// presentation format the zone parser knows.
//
// Read first: RFC 1035 §3.2–3.4 (types, classes), RFC 3597 §5 (TYPEnnn, CLASSnnn),
// RFC 6895 §3.1 (the type-code ranges: data, QTYPE and meta), the IANA "Resource Record
// (RR) TYPEs" registry (the mnemonics below), RFC 8624 (DNSSEC algorithm mnemonics).
//
// A type is described by a short list of field kinds (`F.*`). The parser, the printer and
// the wire validator all walk the same list, so a type added here is parsed, printed and
// checked in one place. Types with no layout here are still accepted through RFC 3597's
// `\# len hex` form and printed that way.

export const T = {
  A: 1, NS: 2, MD: 3, MF: 4, CNAME: 5, SOA: 6, MB: 7, MG: 8, MR: 9, NULL: 10, WKS: 11,
  PTR: 12, HINFO: 13, MINFO: 14, MX: 15, TXT: 16, RP: 17, AFSDB: 18, X25: 19, ISDN: 20,
  RT: 21, NSAP: 22, NSAP_PTR: 23, SIG: 24, KEY: 25, PX: 26, GPOS: 27, AAAA: 28, LOC: 29,
  NXT: 30, EID: 31, NIMLOC: 32, SRV: 33, ATMA: 34, NAPTR: 35, KX: 36, CERT: 37, A6: 38,
  DNAME: 39, SINK: 40, OPT: 41, APL: 42, DS: 43, SSHFP: 44, IPSECKEY: 45, RRSIG: 46,
  NSEC: 47, DNSKEY: 48, DHCID: 49, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, SMIMEA: 53, HIP: 55,
  NINFO: 56, RKEY: 57, TALINK: 58, CDS: 59, CDNSKEY: 60, OPENPGPKEY: 61, CSYNC: 62,
  ZONEMD: 63, SVCB: 64, HTTPS: 65, DSYNC: 66, SPF: 99, UINFO: 100, UID: 101, GID: 102,
  UNSPEC: 103, NID: 104, L32: 105, L64: 106, LP: 107, EUI48: 108, EUI64: 109, NXNAME: 128,
  TKEY: 249, TSIG: 250, IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254, ANY: 255, URI: 256,
  CAA: 257, AVC: 258, DOA: 259, AMTRELAY: 260, RESINFO: 261, WALLET: 262, CLA: 263, IPN: 264,
  TA: 32768, DLV: 32769,
} as const;

export const CLASS_IN = 1;

/** RDATA field kinds. Each consumes presentation tokens and produces wire octets. */
export const F = {
  NAME: 1,        // domain name, uncompressed (RFC 1035 §3.3)
  U8: 2,
  U16: 3,
  U32: 4,
  PERIOD: 5,      // 32-bit seconds, TTL units allowed (SOA timers, RRSIG original TTL)
  A: 6,           // 4 octets (RFC 1035 §3.4.1)
  AAAA: 7,        // 16 octets (RFC 3596 §2.2)
  STRING: 8,      // one <character-string> (RFC 1035 §3.3)
  STRINGS: 9,     // one or more <character-string>s to the end (TXT, SPF)
  BASE64: 10,     // base64 to the end, spaces allowed (RFC 4034 §2.2)
  HEX: 11,        // hex to the end, spaces allowed (RFC 4034 §5.3)
  TYPE: 12,       // a type mnemonic as 16 bits (RRSIG type covered)
  TIME: 13,       // YYYYMMDDHHmmSS or seconds, 32 bits (RFC 4034 §3.2)
  ALGORITHM: 14,  // 8 bits, DNSSEC algorithm mnemonics allowed (RFC 4034 Appendix A.1)
  BITMAP: 15,     // type bitmap to the end (RFC 4034 §4.1.2, RFC 5155 §3.2.1)
  SALT: 16,       // 8-bit length + hex, "-" for empty (RFC 5155 §3.3)
  BASE32HEX: 17,  // 8-bit length + base32hex, no padding (RFC 5155 §3.3)
  SVCPARAMS: 18,  // SvcParams to the end (RFC 9460 §2.1)
  CAA_TAG: 19,    // 8-bit length + alphanumeric tag (RFC 8659 §4.1.1)
  CAA_VALUE: 20,  // the rest of the RDATA, unprefixed (RFC 8659 §4.1.1)
  TEXT_REST: 21,  // one string, unprefixed, to the end of the RDATA (URI target, RFC 7553 §4.5)
  EUI48: 22,      // xx-xx-xx-xx-xx-xx (RFC 7043 §3.2)
  EUI64: 23,      // xx-xx-xx-xx-xx-xx-xx-xx (RFC 7043 §4.2)
  ILNP64: 24,     // xxxx:xxxx:xxxx:xxxx (RFC 6742 §2.3)
  LOC: 25,        // the whole LOC RDATA (RFC 1876 §3)
  HEX_OR_DASH: 26, // hex to the end, or "-" for none
} as const;
export type FieldKind = (typeof F)[keyof typeof F];

const N = F.NAME;
/** RDATA layouts by type code. */
export const RDATA_LAYOUT: ReadonlyMap<number, readonly FieldKind[]> = new Map<number, readonly FieldKind[]>([
  [T.A, [F.A]],
  [T.NS, [N]], [T.MD, [N]], [T.MF, [N]], [T.CNAME, [N]], [T.MB, [N]], [T.MG, [N]], [T.MR, [N]],
  [T.PTR, [N]], [T.DNAME, [N]],
  [T.SOA, [N, N, F.U32, F.PERIOD, F.PERIOD, F.PERIOD, F.PERIOD]],
  [T.HINFO, [F.STRING, F.STRING]],
  [T.MINFO, [N, N]], [T.RP, [N, N]],
  [T.MX, [F.U16, N]], [T.AFSDB, [F.U16, N]], [T.RT, [F.U16, N]], [T.KX, [F.U16, N]],
  [T.TXT, [F.STRINGS]], [T.SPF, [F.STRINGS]],
  [T.X25, [F.STRING]],
  [T.PX, [F.U16, N, N]],
  [T.AAAA, [F.AAAA]],
  [T.LOC, [F.LOC]],
  [T.SRV, [F.U16, F.U16, F.U16, N]],
  [T.NAPTR, [F.U16, F.U16, F.STRING, F.STRING, F.STRING, N]],
  [T.DS, [F.U16, F.ALGORITHM, F.U8, F.HEX]], [T.CDS, [F.U16, F.ALGORITHM, F.U8, F.HEX]],
  [T.TA, [F.U16, F.ALGORITHM, F.U8, F.HEX]], [T.DLV, [F.U16, F.ALGORITHM, F.U8, F.HEX]],
  [T.SSHFP, [F.U8, F.U8, F.HEX]],
  [T.RRSIG, [F.TYPE, F.ALGORITHM, F.U8, F.PERIOD, F.TIME, F.TIME, F.U16, N, F.BASE64]],
  [T.NSEC, [N, F.BITMAP]],
  [T.DNSKEY, [F.U16, F.U8, F.ALGORITHM, F.BASE64]], [T.CDNSKEY, [F.U16, F.U8, F.ALGORITHM, F.BASE64]],
  [T.DHCID, [F.BASE64]],
  [T.NSEC3, [F.U8, F.U8, F.U16, F.SALT, F.BASE32HEX, F.BITMAP]],
  [T.NSEC3PARAM, [F.U8, F.U8, F.U16, F.SALT]],
  [T.TLSA, [F.U8, F.U8, F.U8, F.HEX]], [T.SMIMEA, [F.U8, F.U8, F.U8, F.HEX]],
  [T.OPENPGPKEY, [F.BASE64]],
  [T.CSYNC, [F.U32, F.U16, F.BITMAP]],
  [T.ZONEMD, [F.U32, F.U8, F.U8, F.HEX]],
  [T.SVCB, [F.U16, N, F.SVCPARAMS]], [T.HTTPS, [F.U16, N, F.SVCPARAMS]],
  [T.NID, [F.U16, F.ILNP64]], [T.L64, [F.U16, F.ILNP64]], [T.L32, [F.U16, F.A]], [T.LP, [F.U16, N]],
  [T.EUI48, [F.EUI48]], [T.EUI64, [F.EUI64]],
  [T.URI, [F.U16, F.U16, F.TEXT_REST]],
  [T.CAA, [F.U8, F.CAA_TAG, F.CAA_VALUE]],
]);

/** Dense copy of RDATA_LAYOUT for the hot path (index = type code below 512). */
export const LAYOUT_BY_CODE: (readonly FieldKind[] | undefined)[] = (() => {
  const a: (readonly FieldKind[] | undefined)[] = new Array(512).fill(undefined);
  for (const [code, layout] of RDATA_LAYOUT) if (code < 512) a[code] = layout;
  return a;
})();

export function layoutOf(type: number): readonly FieldKind[] | undefined {
  return type < 512 ? LAYOUT_BY_CODE[type] : RDATA_LAYOUT.get(type);
}

/** True when the type's RDATA holds domain names that compare case-insensitively. */
export function hasNameFields(type: number): boolean {
  const l = layoutOf(type);
  return l !== undefined && l.includes(F.NAME);
}

const TYPE_NAMES = new Map<number, string>();
const TYPE_CODES = new Map<string, number>();
for (const [k, v] of Object.entries(T)) {
  const name = k.replace('_', '-');
  TYPE_NAMES.set(v, name);
  TYPE_CODES.set(name, v);
}

/** Type codes that never appear in a zone: reserved 0, OPT and the QTYPEs (RFC 6895 §3.1). */
export function isMetaType(type: number): boolean {
  return type === 0 || type === T.OPT || (type >= 249 && type <= 255);
}

export function typeToText(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** A type mnemonic or RFC 3597 `TYPEnnn`, case-insensitive; undefined if neither. */
export function textToType(s: string): number | undefined {
  const u = s.toUpperCase();
  const known = TYPE_CODES.get(u);
  if (known !== undefined) return known;
  return genericNumber(u, 'TYPE');
}

const CLASS_NAMES = new Map<number, string>([[1, 'IN'], [2, 'CS'], [3, 'CH'], [4, 'HS']]);
const CLASS_CODES = new Map<string, number>([['IN', 1], ['CS', 2], ['CH', 3], ['HS', 4]]);

export function classToText(cls: number): string {
  return CLASS_NAMES.get(cls) ?? `CLASS${cls}`;
}

export function textToClass(s: string): number | undefined {
  const u = s.toUpperCase();
  const known = CLASS_CODES.get(u);
  if (known !== undefined) return known;
  return genericNumber(u, 'CLASS');
}

function genericNumber(u: string, prefix: string): number | undefined {
  if (!u.startsWith(prefix) || u.length === prefix.length || u.length > prefix.length + 5) return undefined;
  let n = 0;
  for (let i = prefix.length; i < u.length; i++) {
    const c = u.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n <= 0xffff ? n : undefined;
}

/** DNSSEC algorithm mnemonics (RFC 8624 §2, the IANA registry). Printed as numbers. */
export const ALGORITHMS = new Map<string, number>([
  ['RSAMD5', 1], ['DH', 2], ['DSA', 3], ['RSASHA1', 5], ['DSA-NSEC3-SHA1', 6],
  ['RSASHA1-NSEC3-SHA1', 7], ['RSASHA256', 8], ['RSASHA512', 10], ['ECC-GOST', 12],
  ['ECDSAP256SHA256', 13], ['ECDSAP384SHA384', 14], ['ED25519', 15], ['ED448', 16],
  ['INDIRECT', 252], ['PRIVATEDNS', 253], ['PRIVATEOID', 254],
]);

// ---------------------------------------------------------------------------------------
// Byte-level lookups for the tokenizer: a token's bytes are matched without building a
// string. Mnemonics are short ASCII; the key packs length and upper-cased bytes.

const MNEMONIC_TABLE = new Map<number, { name: Uint8Array; code: number; isClass: boolean }[]>();

function mnemonicKey(buf: Uint8Array, start: number, end: number): number {
  let h = (end - start) | 0;
  for (let i = start; i < end; i++) {
    let c = buf[i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    h = (Math.imul(h, 31) + c) | 0;
  }
  return h;
}

function addMnemonic(name: string, code: number, isClass: boolean): void {
  const bytes = new Uint8Array(name.length);
  for (let i = 0; i < name.length; i++) bytes[i] = name.charCodeAt(i);
  const key = mnemonicKey(bytes, 0, bytes.length);
  let list = MNEMONIC_TABLE.get(key);
  if (list === undefined) MNEMONIC_TABLE.set(key, (list = []));
  list.push({ name: bytes, code, isClass });
}
for (const [name, code] of TYPE_CODES) addMnemonic(name, code, false);
for (const [name, code] of CLASS_CODES) addMnemonic(name, code, true);

function matchesUpper(buf: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = buf[start + i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== name[i]) return false;
  }
  return true;
}

function genericBytes(buf: Uint8Array, start: number, end: number, prefix: string): number {
  const p = prefix.length;
  if (end - start <= p || end - start > p + 5) return -1;
  for (let i = 0; i < p; i++) {
    let c = buf[start + i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== prefix.charCodeAt(i)) return -1;
  }
  let n = 0;
  for (let i = start + p; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= 0xffff ? n : -1;
}

/** A type mnemonic or TYPEnnn in buf[start, end); -1 if it is not one. */
export function typeFromBytes(buf: Uint8Array, start: number, end: number): number {
  const list = MNEMONIC_TABLE.get(mnemonicKey(buf, start, end));
  if (list !== undefined) {
    for (const m of list) if (!m.isClass && matchesUpper(buf, start, end, m.name)) return m.code;
  }
  return genericBytes(buf, start, end, 'TYPE');
}

/** A class mnemonic or CLASSnnn in buf[start, end); -1 if it is not one. */
export function classFromBytes(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 2) {
    const list = MNEMONIC_TABLE.get(mnemonicKey(buf, start, end));
    if (list !== undefined) {
      for (const m of list) if (m.isClass && matchesUpper(buf, start, end, m.name)) return m.code;
    }
    return -1;
  }
  return genericBytes(buf, start, end, 'CLASS');
}
