// SVCB and HTTPS SvcParams: presentation ⇄ wire.
//
// Read first: RFC 9460 §2.1 (presentation), §2.2 (wire: keys strictly ascending, no key
// twice), §7 (mandatory, alpn, no-default-alpn, port, ipv4hint, ipv6hint), §8
// (mandatory keys must be present, "mandatory" not among them), Appendix A.1 (comma-
// separated value lists, `\,` inside an item), RFC 9461 §5 (dohpath), RFC 9540 (ohttp),
// the ECH draft (ech, base64).
//
// Off the hot path: allocation here is fine.

import { TextFormatError } from './dns-name.js';
import {
  Base64Decoder, decimal, decodeText, encodeBase64, formatIPv4, formatIPv6, parseIPv4, parseIPv6, quoteText,
} from './text-codec.js';
import { TOK_GLUED, TOK_QUOTED, type ZoneLexer, latin1 } from './zone-lexer.js';

export const SVC_KEYS = ['mandatory', 'alpn', 'no-default-alpn', 'port', 'ipv4hint', 'ech', 'ipv6hint', 'dohpath', 'ohttp'];
const KEY_MANDATORY = 0, KEY_ALPN = 1, KEY_NO_DEFAULT_ALPN = 2, KEY_PORT = 3, KEY_IPV4HINT = 4;
const KEY_ECH = 5, KEY_IPV6HINT = 6, KEY_DOHPATH = 7, KEY_OHTTP = 8;
const KEY_INVALID = 65535;

export function svcKeyToText(k: number): string {
  return SVC_KEYS[k] ?? `key${k}`;
}

/** The key number of `alpn`, `key7`...; -1 if unknown or malformed. */
export function textToSvcKey(s: string): number {
  const i = SVC_KEYS.indexOf(s.toLowerCase());
  if (i >= 0) return i;
  if (/^key(0|[1-9][0-9]{0,4})$/i.test(s)) {
    const n = Number(s.slice(3));
    return n <= 0xffff ? n : -1;
  }
  return -1;
}

interface Param { key: number; value: Uint8Array }

const SCRATCH = new Uint8Array(65536);

/**
 * Parses the SvcParams in tokens [first, lx.count) into out at pos; returns the new
 * position. Throws TextFormatError naming the parameter at fault.
 */
export function parseSvcParams(lx: ZoneLexer, first: number, out: Uint8Array, pos: number): number {
  const params: Param[] = [];
  const b = lx.buf;
  for (let i = first; i < lx.count; i++) {
    const s = lx.start[i]!, e = lx.end[i]!;
    let eq = -1;
    for (let k = s; k < e; k++) {
      if (b[k] === 0x3d) {
        eq = k;
        break;
      }
    }
    const keyText = latin1(b, s, eq < 0 ? e : eq);
    const key = textToSvcKey(keyText);
    if (key < 0) throw new TextFormatError(`unknown SvcParamKey '${keyText}' (use a registered name or keyNNNNN)`);
    if (key === KEY_INVALID) throw new TextFormatError('SvcParamKey key65535 is reserved ("Invalid key") and cannot be used');
    let value: Uint8Array | null = null;
    if (eq >= 0) {
      let vs = eq + 1, ve = e;
      if (vs === ve && (lx.flags[i]! & TOK_QUOTED) === 0 && i + 1 < lx.count &&
          (lx.flags[i + 1]! & (TOK_GLUED | TOK_QUOTED)) === (TOK_GLUED | TOK_QUOTED)) {
        i++;
        vs = lx.start[i]!;
        ve = lx.end[i]!;
        value = SCRATCH.slice(0, decodeText(b, vs, ve, SCRATCH, 0));
      } else if (vs === ve) {
        throw new TextFormatError(`value expected for SvcParam '${keyText}=' (write ${keyText}=VALUE, or quote an empty value)`);
      } else {
        value = SCRATCH.slice(0, decodeText(b, vs, ve, SCRATCH, 0));
      }
    }
    params.push({ key, value: paramValue(key, keyText, value) });
  }
  params.sort((x, y) => x.key - y.key);
  for (let k = 1; k < params.length; k++) {
    if (params[k]!.key === params[k - 1]!.key) {
      throw new TextFormatError(`SvcParamKey '${svcKeyToText(params[k]!.key)}' appears more than once (RFC 9460 §2.2)`);
    }
  }
  checkMandatory(params);
  for (const p of params) {
    if (pos + 4 + p.value.length > 65535) throw new TextFormatError('SvcParams exceed the 65535-octet RDATA limit');
    out[pos] = p.key >> 8;
    out[pos + 1] = p.key & 0xff;
    out[pos + 2] = p.value.length >> 8;
    out[pos + 3] = p.value.length & 0xff;
    out.set(p.value, pos + 4);
    pos += 4 + p.value.length;
  }
  return pos;
}

function checkMandatory(params: Param[]): void {
  const m = params.find((p) => p.key === KEY_MANDATORY);
  if (m === undefined) return;
  for (let k = 0; k < m.value.length; k += 2) {
    const key = (m.value[k]! << 8) | m.value[k + 1]!;
    if (!params.some((p) => p.key === key)) {
      throw new TextFormatError(`mandatory SvcParamKey '${svcKeyToText(key)}' is missing from the record (RFC 9460 §8)`);
    }
  }
}

/** RFC 9460 Appendix A.1: split on unescaped commas, `\` escapes the next octet. */
function valueList(v: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === 0x5c) {
      if (++i >= v.length) throw new TextFormatError('value list ends in a lone backslash');
      cur.push(v[i]!);
    } else if (c === 0x2c) {
      items.push(Uint8Array.from(cur));
      cur = [];
    } else {
      cur.push(c);
    }
  }
  items.push(Uint8Array.from(cur));
  for (const it of items) if (it.length === 0) throw new TextFormatError('empty item in a comma-separated SvcParam value');
  return items;
}

function plainList(v: Uint8Array): Uint8Array[] {
  for (const c of v) if (c === 0x5c) throw new TextFormatError('backslash not allowed in this SvcParam value list');
  return valueList(v);
}

function paramValue(key: number, keyText: string, value: Uint8Array | null): Uint8Array {
  const needs = (): Uint8Array => {
    if (value === null || value.length === 0) throw new TextFormatError(`value expected for SvcParam '${keyText}'`);
    return value;
  };
  switch (key) {
    case KEY_MANDATORY: {
      const keys = plainList(needs()).map((it) => {
        const t = Buffer.from(it).toString('latin1');
        const k = textToSvcKey(t);
        if (k < 0) throw new TextFormatError(`unknown SvcParamKey '${t}' in mandatory`);
        if (k === KEY_MANDATORY) throw new TextFormatError("'mandatory' must not list itself (RFC 9460 §8)");
        return k;
      }).sort((x, y) => x - y);
      for (let i = 1; i < keys.length; i++) {
        if (keys[i] === keys[i - 1]) throw new TextFormatError(`key '${svcKeyToText(keys[i]!)}' appears more than once in mandatory`);
      }
      const out = new Uint8Array(keys.length * 2);
      keys.forEach((k, i) => { out[2 * i] = k >> 8; out[2 * i + 1] = k & 0xff; });
      return out;
    }
    case KEY_ALPN: {
      const items = valueList(needs());
      const parts: number[] = [];
      for (const it of items) {
        if (it.length > 255) throw new TextFormatError('alpn protocol id longer than 255 octets');
        parts.push(it.length, ...it);
      }
      return Uint8Array.from(parts);
    }
    case KEY_NO_DEFAULT_ALPN:
    case KEY_OHTTP:
      if (value !== null) throw new TextFormatError(`SvcParam '${keyText}' takes no value`);
      return new Uint8Array(0);
    case KEY_PORT: {
      const v = needs();
      const n = decimal(v, 0, v.length, 0xffff);
      if (n < 0) throw new TextFormatError(`port '${Buffer.from(v).toString('latin1')}' is not a number 0-65535`);
      return Uint8Array.of(n >> 8, n & 0xff);
    }
    case KEY_IPV4HINT: {
      const items = plainList(needs());
      const out = new Uint8Array(items.length * 4);
      items.forEach((it, i) => {
        if (!parseIPv4(it, 0, it.length, out, i * 4)) throw new TextFormatError(`bad IPv4 address '${Buffer.from(it).toString('latin1')}' in ipv4hint`);
      });
      return out;
    }
    case KEY_IPV6HINT: {
      const items = plainList(needs());
      const out = new Uint8Array(items.length * 16);
      items.forEach((it, i) => {
        if (!parseIPv6(it, 0, it.length, out, i * 16)) throw new TextFormatError(`bad IPv6 address '${Buffer.from(it).toString('latin1')}' in ipv6hint`);
      });
      return out;
    }
    case KEY_ECH: {
      const v = needs();
      const d = new Base64Decoder();
      const out = new Uint8Array(v.length);
      d.reset(0);
      d.feed(v, 0, v.length, out);
      return out.slice(0, d.finish());
    }
    case KEY_DOHPATH:
      return needs();
    default:
      return value ?? new Uint8Array(0);
  }
}

/** True when SvcParams wire data in b[off, end) is well formed (for printing and `\#`). */
export function svcParamsValid(b: Uint8Array, off: number, end: number): boolean {
  let prev = -1;
  const present = new Set<number>();
  let mandatory: Uint8Array | null = null;
  while (off < end) {
    if (off + 4 > end) return false;
    const key = (b[off]! << 8) | b[off + 1]!;
    const len = (b[off + 2]! << 8) | b[off + 3]!;
    const v = off + 4;
    if (key <= prev || key === KEY_INVALID || v + len > end) return false;
    prev = key;
    present.add(key);
    switch (key) {
      case KEY_MANDATORY:
        if (len === 0 || len % 2 !== 0) return false;
        mandatory = b.subarray(v, v + len);
        for (let k = 0; k < len; k += 2) {
          const mk = (b[v + k]! << 8) | b[v + k + 1]!;
          if (mk === KEY_MANDATORY || (k > 0 && mk <= ((b[v + k - 2]! << 8) | b[v + k - 1]!))) return false;
        }
        break;
      case KEY_ALPN: {
        if (len === 0) return false;
        let p = v;
        while (p < v + len) {
          if (b[p] === 0) return false;
          p += b[p]! + 1;
        }
        if (p !== v + len) return false;
        break;
      }
      case KEY_NO_DEFAULT_ALPN: case KEY_OHTTP: if (len !== 0) return false; break;
      case KEY_PORT: if (len !== 2) return false; break;
      case KEY_IPV4HINT: if (len === 0 || len % 4 !== 0) return false; break;
      case KEY_IPV6HINT: if (len === 0 || len % 16 !== 0) return false; break;
      case KEY_ECH: case KEY_DOHPATH: if (len === 0) return false; break;
      default: break;
    }
    off = v + len;
  }
  if (mandatory !== null) {
    for (let k = 0; k < mandatory.length; k += 2) {
      if (!present.has((mandatory[k]! << 8) | mandatory[k + 1]!)) return false;
    }
  }
  return true;
}

/** Presentation of well-formed SvcParams (check with svcParamsValid first). */
export function svcParamsToText(b: Uint8Array, off: number, end: number): string {
  const parts: string[] = [];
  while (off < end) {
    const key = (b[off]! << 8) | b[off + 1]!;
    const len = (b[off + 2]! << 8) | b[off + 3]!;
    const v = off + 4;
    const name = svcKeyToText(key);
    switch (key) {
      case KEY_MANDATORY: {
        const ks: string[] = [];
        for (let k = 0; k < len; k += 2) ks.push(svcKeyToText((b[v + k]! << 8) | b[v + k + 1]!));
        parts.push(`${name}=${ks.join(',')}`);
        break;
      }
      case KEY_ALPN: {
        const items: number[] = [];
        let p = v;
        while (p < v + len) {
          if (items.length > 0) items.push(0x2c);
          for (let k = p + 1; k <= p + b[p]!; k++) {
            const c = b[k]!;
            if (c === 0x2c || c === 0x5c) items.push(0x5c);
            items.push(c);
          }
          p += b[p]! + 1;
        }
        const u = Uint8Array.from(items);
        parts.push(`${name}=${quoteText(u, 0, u.length)}`);
        break;
      }
      case KEY_NO_DEFAULT_ALPN: case KEY_OHTTP: parts.push(name); break;
      case KEY_PORT: parts.push(`${name}=${(b[v]! << 8) | b[v + 1]!}`); break;
      case KEY_IPV4HINT: {
        const as: string[] = [];
        for (let k = 0; k < len; k += 4) as.push(formatIPv4(b, v + k));
        parts.push(`${name}=${as.join(',')}`);
        break;
      }
      case KEY_IPV6HINT: {
        const as: string[] = [];
        for (let k = 0; k < len; k += 16) as.push(formatIPv6(b, v + k));
        parts.push(`${name}=${as.join(',')}`);
        break;
      }
      case KEY_ECH: parts.push(`${name}=${encodeBase64(b, v, v + len)}`); break;
      default:
        parts.push(len === 0 && key !== KEY_DOHPATH ? name : `${name}=${quoteText(b, v, v + len)}`);
    }
    off = v + len;
  }
  return parts.join(' ');
}
