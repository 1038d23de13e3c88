// RDATA wire → presentation, driven by the same field layouts as the parser, so that
// whatever is printed here parses back to the same octets.
//
// Read first: RFC 3597 §5 (the generic `\# len hex` form, used for types without a layout
// and for RDATA that is not valid for its type), and the RFC of each type.

import { nameToText, wireNameLength } from './dns-name.js';
import { locToText } from './loc.js';
import { rdataWireValid } from './rdata-parse.js';
import { F, layoutOf, typeToText } from './rr-types.js';
import { svcParamsToText } from './svcb.js';
import {
  encodeBase32Hex, encodeBase64, encodeHex, formatIPv4, formatIPv6, formatSigTime, quoteText,
} from './text-codec.js';

/** RFC 3597 §5 generic form. */
export function genericRdataText(rdata: Uint8Array): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${encodeHex(rdata, 0, rdata.length)}`;
}

/** Presentation form of RDATA; the generic form for unknown types and invalid RDATA. */
export function rdataToText(type: number, rdata: Uint8Array): string {
  const layout = layoutOf(type);
  if (layout === undefined || !rdataWireValid(type, rdata, 0, rdata.length)) return genericRdataText(rdata);
  const b = rdata;
  const end = b.length;
  const parts: string[] = [];
  let p = 0;
  for (const kind of layout) {
    switch (kind) {
      case F.NAME:
        parts.push(nameToText(b, p));
        p += wireNameLength(b, p);
        break;
      case F.U8: case F.ALGORITHM:
        parts.push(String(b[p]));
        p += 1;
        break;
      case F.U16:
        parts.push(String((b[p]! << 8) | b[p + 1]!));
        p += 2;
        break;
      case F.TYPE:
        parts.push(typeToText((b[p]! << 8) | b[p + 1]!));
        p += 2;
        break;
      case F.U32: case F.PERIOD:
        parts.push(String(u32(b, p)));
        p += 4;
        break;
      case F.TIME:
        parts.push(formatSigTime(u32(b, p)));
        p += 4;
        break;
      case F.A:
        parts.push(formatIPv4(b, p));
        p += 4;
        break;
      case F.AAAA:
        parts.push(formatIPv6(b, p));
        p += 16;
        break;
      case F.STRING:
        parts.push(quoteText(b, p + 1, p + 1 + b[p]!));
        p += b[p]! + 1;
        break;
      case F.STRINGS:
        if (p === end) return genericRdataText(rdata); // TXT with no string (NSD accepts `\# 0`)
        while (p < end) {
          parts.push(quoteText(b, p + 1, p + 1 + b[p]!));
          p += b[p]! + 1;
        }
        break;
      case F.CAA_TAG:
        // A tag from \# data may hold octets the text form cannot carry.
        for (let k = p + 1; k <= p + b[p]!; k++) if (!isAlnum(b[k]!)) return genericRdataText(rdata);
        parts.push(Buffer.from(b.subarray(p + 1, p + 1 + b[p]!)).toString('latin1'));
        p += b[p]! + 1;
        break;
      case F.CAA_VALUE: case F.TEXT_REST:
        parts.push(quoteText(b, p, end));
        p = end;
        break;
      case F.BASE64:
        // An empty key, digest or signature has no text form that parses back.
        if (p === end) return genericRdataText(rdata);
        parts.push(encodeBase64(b, p, end));
        p = end;
        break;
      case F.HEX:
        if (p === end) return genericRdataText(rdata);
        parts.push(encodeHex(b, p, end));
        p = end;
        break;
      case F.SALT:
        parts.push(b[p] === 0 ? '-' : encodeHex(b, p + 1, p + 1 + b[p]!));
        p += b[p]! + 1;
        break;
      case F.BASE32HEX:
        parts.push(encodeBase32Hex(b, p + 1, p + 1 + b[p]!));
        p += b[p]! + 1;
        break;
      case F.BITMAP:
        for (const t of bitmapTypes(b, p, end)) parts.push(typeToText(t));
        p = end;
        break;
      case F.SVCPARAMS:
        if (p < end) parts.push(svcParamsToText(b, p, end));
        p = end;
        break;
      case F.EUI48: case F.EUI64: {
        const n = kind === F.EUI48 ? 6 : 8;
        const hs: string[] = [];
        for (let k = 0; k < n; k++) hs.push(encodeHex(b, p + k, p + k + 1));
        parts.push(hs.join('-'));
        p += n;
        break;
      }
      case F.ILNP64: {
        const gs: string[] = [];
        for (let k = 0; k < 8; k += 2) gs.push(encodeHex(b, p + k, p + k + 2));
        parts.push(gs.join(':'));
        p += 8;
        break;
      }
      case F.LOC:
        parts.push(locToText(b, p));
        p = end;
        break;
    }
  }
  return parts.join(' ');
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
}

/** The types listed in a well-formed type bitmap, ascending. */
export function bitmapTypes(b: Uint8Array, p: number, end: number): number[] {
  const types: number[] = [];
  while (p < end) {
    const win = b[p]!, len = b[p + 1]!;
    for (let k = 0; k < len; k++) {
      const byte = b[p + 2 + k]!;
      for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) types.push((win << 8) | (k * 8 + bit));
    }
    p += 2 + len;
  }
  return types;
}
