// RDATA presentation → wire, driven by the field layouts in rr-types.ts.
//
// Read first: the RFC of each type (cited in rr-types.ts), RFC 3597 §5 (`\# len hex`, also
// for known types, whose octets must then be valid RDATA of that type).
//
// The parser reads tokens straight from the lexer's arrays and writes into one reusable
// 64 KiB buffer; the caller copies the result out. No strings are built on the common
// path (A, AAAA, NS, CNAME, MX, TXT, SRV...).

import { TextFormatError, wireNameLength, writeNameBytes } from './dns-name.js';
import { parseLoc, locValid } from './loc.js';
import { ALGORITHMS, F, type FieldKind, isMetaType, layoutOf, typeFromBytes, typeToText } from './rr-types.js';
import { parseSvcParams, svcParamsValid } from './svcb.js';
import {
  Base64Decoder, HexDecoder, decimal, decodeBase32Hex, decodeText, parseIPv4, parseIPv6, parseSigTime, period,
} from './text-codec.js';
import { TOK_ESCAPED, TOK_QUOTED, type ZoneLexer } from './zone-lexer.js';

export const MAX_RDATA = 65535;
const SPLIT_HINT = 'split it into several quoted strings ("..." "...")';
// Room past MAX_RDATA so that a field may overrun before the length check catches it.
const SLACK = MAX_RDATA + 16384;

const KIND_TEXT: Record<number, string> = {
  [F.NAME]: 'a domain name', [F.U8]: 'a number 0-255', [F.U16]: 'a number 0-65535',
  [F.U32]: 'a number 0-4294967295', [F.PERIOD]: 'a time period (seconds, or units like 1h30m)',
  [F.A]: 'an IPv4 address', [F.AAAA]: 'an IPv6 address', [F.STRING]: 'a character-string',
  [F.STRINGS]: 'one or more character-strings', [F.BASE64]: 'base64 data', [F.HEX]: 'hex data',
  [F.TYPE]: 'an RR type', [F.TIME]: 'a time YYYYMMDDHHmmSS', [F.ALGORITHM]: 'a DNSSEC algorithm',
  [F.BITMAP]: 'a list of RR types', [F.SALT]: "a hex salt or '-'", [F.BASE32HEX]: 'a base32hex hash',
  [F.SVCPARAMS]: 'SvcParams', [F.CAA_TAG]: 'a CAA tag', [F.CAA_VALUE]: 'a CAA value',
  [F.TEXT_REST]: 'a quoted string', [F.EUI48]: 'an EUI-48 address', [F.EUI64]: 'an EUI-64 address',
  [F.ILNP64]: 'a locator xxxx:xxxx:xxxx:xxxx', [F.LOC]: 'a location',
};

/** True when token i is the RFC 3597 marker `\#` (unquoted). */
export function isGenericMarker(lx: ZoneLexer, i: number): boolean {
  const s = lx.start[i]!;
  return lx.end[i]! - s === 2 && lx.buf[s] === 0x5c && lx.buf[s + 1] === 0x23 && (lx.flags[i]! & TOK_QUOTED) === 0;
}

export class RdataParser {
  readonly out = new Uint8Array(MAX_RDATA + SLACK);
  /** Index of the token being read when an error was thrown (for its line). */
  tok = 0;
  private readonly b64 = new Base64Decoder();
  private readonly hex = new HexDecoder();
  private readonly types: number[] = [];

  /**
   * Parses tokens [first, lx.count) as the RDATA of `type` into `out`; returns its length.
   * Throws TextFormatError; `tok` then names the offending token.
   */
  parse(type: number, lx: ZoneLexer, first: number, origin: Uint8Array | null): number {
    this.tok = first;
    if (first < lx.count && isGenericMarker(lx, first)) return this.generic(type, lx, first);
    const layout = layoutOf(type);
    if (layout === undefined) {
      throw new TextFormatError(`no presentation format is known for type ${typeToText(type)}; write its RDATA in the RFC 3597 form '\\# LENGTH HEX'`);
    }
    const b = lx.buf;
    const out = this.out;
    let pos = 0;
    let i = first;
    for (let f = 0; f < layout.length; f++) {
      const kind = layout[f]!;
      this.tok = i;
      if (i >= lx.count) {
        // An empty type bitmap (RFC 5155 §3.2) and an empty SvcParams list are valid.
        if (kind === F.BITMAP || kind === F.SVCPARAMS) continue;
        throw this.missing(type, layout, f);
      }
      if (pos > MAX_RDATA) throw new TextFormatError(`${typeToText(type)} RDATA exceeds ${MAX_RDATA} octets`);
      const s = lx.start[i]!;
      const e = lx.end[i]!;
      switch (kind) {
        case F.NAME:
          pos = writeNameBytes(b, s, e, origin, out, pos);
          i++;
          break;
        case F.A:
          if (!parseIPv4(b, s, e, out, pos)) throw new TextFormatError(`invalid IPv4 address '${lx.text(i)}'`);
          pos += 4;
          i++;
          break;
        case F.AAAA:
          if (!parseIPv6(b, s, e, out, pos)) throw new TextFormatError(`invalid IPv6 address '${lx.text(i)}'`);
          pos += 16;
          i++;
          break;
        case F.U8:
        case F.U16:
        case F.U32: {
          const max = kind === F.U8 ? 0xff : kind === F.U16 ? 0xffff : 0xffffffff;
          const v = decimal(b, s, e, max);
          if (v < 0) throw new TextFormatError(`${typeToText(type)}: '${lx.text(i)}' is not ${KIND_TEXT[kind]}`);
          pos = writeUint(out, pos, kind, v);
          i++;
          break;
        }
        case F.PERIOD: {
          const v = period(b, s, e);
          if (v < 0) throw new TextFormatError(`${typeToText(type)}: '${lx.text(i)}' is not ${KIND_TEXT[kind]}`);
          pos = writeUint(out, pos, F.U32, v);
          i++;
          break;
        }
        case F.ALGORITHM: {
          let v = decimal(b, s, e, 0xff);
          if (v < 0) v = ALGORITHMS.get(lx.text(i).toUpperCase()) ?? -1;
          if (v < 0) throw new TextFormatError(`${typeToText(type)}: '${lx.text(i)}' is not a DNSSEC algorithm number or mnemonic`);
          out[pos++] = v;
          i++;
          break;
        }
        case F.TYPE: {
          const v = typeFromBytes(b, s, e);
          if (v < 0) throw new TextFormatError(`${typeToText(type)}: '${lx.text(i)}' is not an RR type`);
          pos = writeUint(out, pos, F.U16, v);
          i++;
          break;
        }
        case F.TIME: {
          const v = parseSigTime(b, s, e);
          if (v < 0) throw new TextFormatError(`${typeToText(type)}: '${lx.text(i)}' is not a time (YYYYMMDDHHmmSS or seconds)`);
          pos = writeUint(out, pos, F.U32, v);
          i++;
          break;
        }
        case F.STRING:
          pos = this.string(lx, i, pos);
          i++;
          break;
        case F.STRINGS:
          for (; i < lx.count; i++) {
            this.tok = i;
            if (pos + lx.end[i]! - lx.start[i]! + 1 > MAX_RDATA) throw new TextFormatError(`${typeToText(type)} RDATA exceeds ${MAX_RDATA} octets`);
            pos = this.string(lx, i, pos);
          }
          break;
        case F.CAA_VALUE:
        case F.TEXT_REST: {
          if (e - s > MAX_RDATA) throw new TextFormatError(`${typeToText(type)} RDATA exceeds ${MAX_RDATA} octets`);
          const end = decodeText(b, s, e, out, pos);
          if (end > MAX_RDATA) throw new TextFormatError(`${typeToText(type)} RDATA exceeds ${MAX_RDATA} octets`);
          pos = end;
          i++;
          break;
        }
        case F.CAA_TAG: {
          if ((lx.flags[i]! & (TOK_QUOTED | TOK_ESCAPED)) !== 0 || e - s > 255 || !alnum(b, s, e)) {
            throw new TextFormatError(`CAA: tag '${lx.text(i)}' must be 1-255 letters and digits (RFC 8659 §4.1.1)`);
          }
          out[pos++] = e - s;
          for (let k = s; k < e; k++) out[pos++] = b[k]!;
          i++;
          break;
        }
        case F.BASE64:
          this.b64.reset(pos);
          for (; i < lx.count; i++) {
            this.tok = i;
            if (this.b64.pos + lx.end[i]! - lx.start[i]! > MAX_RDATA) throw new TextFormatError(`${typeToText(type)} RDATA exceeds ${MAX_RDATA} octets`);
            this.b64.feed(b, lx.start[i]!, lx.end[i]!, out);
          }
          pos = this.b64.finish();
          break;
        case F.HEX:
          this.hex.reset(pos);
          for (; i < lx.count; i++) {
            this.tok = i;
            if (this.hex.pos + lx.end[i]! - lx.start[i]! > MAX_RDATA * 2) throw new TextFormatError(`${typeToText(type)} RDATA exceeds ${MAX_RDATA} octets`);
            this.hex.feed(b, lx.start[i]!, lx.end[i]!, out);
          }
          pos = this.hex.finish();
          break;
        case F.SALT:
          if (e - s === 1 && b[s] === 0x2d) {
            out[pos++] = 0;
          } else {
            if (e - s > 510) throw new TextFormatError(`${typeToText(type)}: salt longer than 255 octets`);
            this.hex.reset(pos + 1);
            this.hex.feed(b, s, e, out);
            const end = this.hex.finish();
            out[pos] = end - pos - 1;
            pos = end;
          }
          i++;
          break;
        case F.BASE32HEX: {
          if (e - s > 408) throw new TextFormatError(`${typeToText(type)}: hashed owner name longer than 255 octets`);
          const end = decodeBase32Hex(b, s, e, out, pos + 1);
          if (end === pos + 1) throw new TextFormatError(`${typeToText(type)}: empty next hashed owner name`);
          out[pos] = end - pos - 1;
          pos = end;
          i++;
          break;
        }
        case F.BITMAP:
          pos = this.bitmap(lx, i, pos);
          i = lx.count;
          break;
        case F.SVCPARAMS:
          pos = parseSvcParams(lx, i, out, pos);
          i = lx.count;
          break;
        case F.EUI48:
        case F.EUI64:
          pos = eui(lx, i, kind === F.EUI48 ? 6 : 8, out, pos);
          i++;
          break;
        case F.ILNP64:
          pos = ilnp64(lx, i, out, pos);
          i++;
          break;
        case F.LOC:
          pos = parseLoc(lx, i, out, pos);
          i = lx.count;
          break;
        default:
          throw new Error(`unhandled field kind ${kind}`);
      }
    }
    if (i < lx.count) {
      this.tok = i;
      throw new TextFormatError(`trailing data after the ${typeToText(type)} RDATA: '${lx.text(i)}'`);
    }
    if (pos > MAX_RDATA) throw new TextFormatError(`${typeToText(type)} RDATA exceeds ${MAX_RDATA} octets`);
    return pos;
  }

  private missing(type: number, layout: readonly FieldKind[], f: number): TextFormatError {
    const want = layout.map((k) => KIND_TEXT[k]).join(', ');
    return new TextFormatError(`the ${typeToText(type)} RDATA ends early: ${KIND_TEXT[layout[f]!]} expected (the fields are: ${want})`);
  }

  private string(lx: ZoneLexer, i: number, pos: number): number {
    const b = lx.buf, s = lx.start[i]!, e = lx.end[i]!;
    const out = this.out;
    let end: number;
    if ((lx.flags[i]! & TOK_ESCAPED) === 0) {
      end = pos + 1 + e - s;
      if (end - pos - 1 <= 255) for (let k = s, p = pos + 1; k < e; k++, p++) out[p] = b[k]!;
    } else if (e - s > 4 * 255) {
      // An escape is at most 4 input octets per output octet: this cannot fit.
      throw new TextFormatError(`text string is longer than 255 octets; ${SPLIT_HINT}`);
    } else {
      end = decodeText(b, s, e, out, pos + 1);
    }
    const len = end - pos - 1;
    if (len > 255) throw new TextFormatError(`text string of ${len} octets is longer than 255; ${SPLIT_HINT}`);
    out[pos] = len;
    return end;
  }

  private bitmap(lx: ZoneLexer, first: number, pos: number): number {
    const types = this.types;
    types.length = 0;
    for (let i = first; i < lx.count; i++) {
      this.tok = i;
      const t = typeFromBytes(lx.buf, lx.start[i]!, lx.end[i]!);
      if (t < 0) throw new TextFormatError(`'${lx.text(i)}' in the type bitmap is not an RR type`);
      types.push(t);
    }
    return writeBitmap(types, this.out, pos);
  }

  private generic(type: number, lx: ZoneLexer, first: number): number {
    const i = first + 1;
    this.tok = i;
    if (i >= lx.count) throw new TextFormatError("'\\#' must be followed by the RDATA length (RFC 3597 §5)");
    const len = decimal(lx.buf, lx.start[i]!, lx.end[i]!, MAX_RDATA);
    if (len < 0) throw new TextFormatError(`RFC 3597 RDATA length '${lx.text(i)}' is not a number 0-65535`);
    this.hex.reset(0);
    for (let k = i + 1; k < lx.count; k++) {
      this.tok = k;
      if (this.hex.pos + (lx.end[k]! - lx.start[k]!) / 2 > len) throw new TextFormatError(`RFC 3597 RDATA is longer than the ${len} octets announced`);
      this.hex.feed(lx.buf, lx.start[k]!, lx.end[k]!, this.out);
    }
    const n = this.hex.finish();
    if (n !== len) throw new TextFormatError(`RFC 3597 RDATA has ${n} octets but announces ${len}`);
    if (!rdataWireValid(type, this.out, 0, n)) {
      throw new TextFormatError(`the RFC 3597 RDATA is not a valid ${typeToText(type)} RDATA (RFC 3597 §5: a known type's octets must be its wire form)`);
    }
    return n;
  }
}

function writeUint(out: Uint8Array, pos: number, kind: FieldKind, v: number): number {
  if (kind === F.U8) {
    out[pos] = v;
    return pos + 1;
  }
  if (kind === F.U16) {
    out[pos] = v >>> 8;
    out[pos + 1] = v & 0xff;
    return pos + 2;
  }
  out[pos] = v >>> 24;
  out[pos + 1] = (v >>> 16) & 0xff;
  out[pos + 2] = (v >>> 8) & 0xff;
  out[pos + 3] = v & 0xff;
  return pos + 4;
}

function alnum(b: Uint8Array, s: number, e: number): boolean {
  if (s === e) return false;
  for (let k = s; k < e; k++) {
    const c = b[k]! | 0x20;
    if (!((b[k]! >= 0x30 && b[k]! <= 0x39) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
}

/** RFC 4034 §4.1.2: windows of up to 32 octets, ascending; types sorted and unique. */
export function writeBitmap(types: number[], out: Uint8Array, pos: number): number {
  types.sort((a, b) => a - b);
  let k = 0;
  while (k < types.length) {
    const win = types[k]! >> 8;
    const bits = new Uint8Array(32);
    let maxByte = 0;
    while (k < types.length && types[k]! >> 8 === win) {
      const low = types[k]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      if ((low >> 3) + 1 > maxByte) maxByte = (low >> 3) + 1;
      k++;
    }
    out[pos++] = win;
    out[pos++] = maxByte;
    out.set(bits.subarray(0, maxByte), pos);
    pos += maxByte;
  }
  return pos;
}

function eui(lx: ZoneLexer, i: number, n: number, out: Uint8Array, pos: number): number {
  const t = lx.text(i);
  const re = n === 6 ? /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/i : /^[0-9a-f]{2}(-[0-9a-f]{2}){7}$/i;
  if (!re.test(t)) throw new TextFormatError(`'${t}' is not an EUI-${n * 8} address (xx-xx-...)`);
  for (let k = 0; k < n; k++) out[pos++] = parseInt(t.slice(k * 3, k * 3 + 2), 16);
  return pos;
}

function ilnp64(lx: ZoneLexer, i: number, out: Uint8Array, pos: number): number {
  const t = lx.text(i);
  if (!/^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){3}$/i.test(t)) throw new TextFormatError(`'${t}' is not a 64-bit locator xxxx:xxxx:xxxx:xxxx`);
  for (const g of t.split(':')) {
    const v = parseInt(g, 16);
    out[pos++] = v >> 8;
    out[pos++] = v & 0xff;
  }
  return pos;
}

/** True when b[off, end) is a well-formed RDATA of a type with a known layout (any RDATA otherwise). */
export function rdataWireValid(type: number, b: Uint8Array, off: number, end: number): boolean {
  const layout = layoutOf(type);
  if (layout === undefined) return !isMetaType(type);
  let p = off;
  for (const kind of layout) {
    switch (kind) {
      case F.NAME: {
        const n = wireNameLength(b, p);
        if (n < 0 || p + n > end) return false;
        p += n;
        break;
      }
      case F.U8: case F.ALGORITHM: p += 1; break;
      case F.U16: case F.TYPE: p += 2; break;
      case F.U32: case F.PERIOD: case F.TIME: case F.A: p += 4; break;
      case F.AAAA: p += 16; break;
      case F.EUI48: p += 6; break;
      case F.EUI64: case F.ILNP64: p += 8; break;
      case F.STRING: case F.SALT:
        if (p >= end) return false;
        p += b[p]! + 1;
        break;
      case F.BASE32HEX: case F.CAA_TAG:
        if (p >= end || b[p] === 0) return false;
        p += b[p]! + 1;
        break;
      case F.STRINGS:
        while (p < end) p += b[p]! + 1;
        break;
      case F.BASE64: case F.HEX: case F.CAA_VALUE: case F.TEXT_REST:
        p = end;
        break;
      case F.BITMAP:
        if (!bitmapValid(b, p, end)) return false;
        p = end;
        break;
      case F.SVCPARAMS:
        if (p > end || !svcParamsValid(b, p, end)) return false;
        p = end;
        break;
      case F.LOC:
        if (!locValid(b, p, end)) return false;
        p = end;
        break;
    }
    if (p > end) return false;
  }
  return p === end;
}

export function bitmapValid(b: Uint8Array, p: number, end: number): boolean {
  let last = -1;
  while (p < end) {
    if (p + 2 > end) return false;
    const win = b[p]!, len = b[p + 1]!;
    if (win <= last || len < 1 || len > 32 || p + 2 + len > end) return false;
    last = win;
    p += 2 + len;
  }
  return true;
}
