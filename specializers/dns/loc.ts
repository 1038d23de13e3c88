// LOC records: RFC 1876 §3 (wire) and §3 "master file format" (presentation).
//
//   d1 [m1 [s1]] {N|S} d2 [m2 [s2]] {E|W} alt[m] [siz[m] [hp[m] [vp[m]]]]
//
// Sizes and precisions are stored as a 4-bit mantissa and a 4-bit power of ten, in
// centimetres; latitude and longitude as thousandths of an arc-second offset by 2^31;
// altitude in centimetres above 100,000 m below the WGS 84 spheroid.

import { TextFormatError } from './dns-name.js';
import type { ZoneLexer } from './zone-lexer.js';

const EQUATOR = 2 ** 31;
const ALT_BASE = 10000000; // cm

function num(lx: ZoneLexer, i: number, what: string, maxInt: number, decimals: number, allowM = false, allowNeg = false): number {
  if (i >= lx.count) throw new TextFormatError(`LOC record ends early: ${what} expected`);
  let t = lx.text(i);
  if (allowM && (t.endsWith('m') || t.endsWith('M'))) t = t.slice(0, -1);
  const re = decimals > 0 ? new RegExp(`^${allowNeg ? '-?' : ''}[0-9]+(\\.[0-9]{0,${decimals}})?$`) : /^[0-9]+$/;
  if (!re.test(t)) throw new TextFormatError(`LOC ${what}: '${lx.text(i)}' is not a valid number`);
  const v = Number(t);
  if (Math.abs(v) > maxInt) throw new TextFormatError(`LOC ${what}: '${lx.text(i)}' is out of range`);
  return v;
}

function isNumeric(lx: ZoneLexer, i: number): boolean {
  return i < lx.count && /^[0-9]/.test(lx.text(i));
}

function precision(cm: number): number {
  let e = 0;
  let m = Math.round(cm);
  while (m >= 10 && e < 9) {
    m = Math.floor(m / 10);
    e++;
  }
  if (m > 9) throw new TextFormatError('LOC size or precision is too large');
  return (m << 4) | e;
}

function coordinate(lx: ZoneLexer, i: number, maxDeg: number, pos: string, neg: string): [number, number] {
  const what = maxDeg === 90 ? 'latitude' : 'longitude';
  const d = num(lx, i++, `${what} degrees`, maxDeg, 0);
  let m = 0, s = 0;
  if (isNumeric(lx, i)) {
    m = num(lx, i++, `${what} minutes`, 59, 0);
    if (isNumeric(lx, i)) s = num(lx, i++, `${what} seconds`, 59.999, 3);
  }
  if (i >= lx.count) throw new TextFormatError(`LOC record ends early: ${pos} or ${neg} expected`);
  const h = lx.text(i++).toUpperCase();
  if (h !== pos && h !== neg) throw new TextFormatError(`LOC ${what}: expected ${pos} or ${neg}, got '${lx.text(i - 1)}'`);
  const v = Math.round(((d * 60 + m) * 60 + s) * 1000);
  if (v > maxDeg * 3600000) throw new TextFormatError(`LOC ${what} is out of range`);
  return [h === pos ? EQUATOR + v : EQUATOR - v, i];
}

/** Parses the LOC presentation in tokens [first, lx.count) into 16 octets at pos. */
export function parseLoc(lx: ZoneLexer, first: number, out: Uint8Array, pos: number): number {
  let i = first;
  const [lat, i1] = coordinate(lx, i, 90, 'N', 'S');
  const [lon, i2] = coordinate(lx, i1, 180, 'E', 'W');
  i = i2;
  const alt = num(lx, i++, 'altitude', 42849672.95, 2, true, true);
  const sizes = [100, 1000000, 1000]; // 1 m, 10,000 m, 10 m (RFC 1876 defaults)
  const names = ['size', 'horizontal precision', 'vertical precision'];
  for (let k = 0; k < 3 && i < lx.count; k++) sizes[k] = Math.round(num(lx, i++, names[k]!, 90000000, 2, true) * 100);
  if (i < lx.count) throw new TextFormatError(`trailing data after the LOC record: '${lx.text(i)}'`);
  const altCm = Math.round(alt * 100) + ALT_BASE;
  if (altCm < 0 || altCm > 0xffffffff) throw new TextFormatError('LOC altitude is out of range');
  out[pos] = 0;
  out[pos + 1] = precision(sizes[0]!);
  out[pos + 2] = precision(sizes[1]!);
  out[pos + 3] = precision(sizes[2]!);
  const dv = new DataView(out.buffer, out.byteOffset);
  dv.setUint32(pos + 4, lat);
  dv.setUint32(pos + 8, lon);
  dv.setUint32(pos + 12, altCm);
  return pos + 16;
}

/** True when b[off, end) is a version-0 LOC RDATA that can be printed in RFC 1876 form. */
export function locValid(b: Uint8Array, off: number, end: number): boolean {
  if (end - off !== 16 || b[off] !== 0) return false;
  for (let k = 1; k <= 3; k++) if ((b[off + k]! >> 4) > 9 || (b[off + k]! & 15) > 9) return false;
  return true;
}

function size(v: number): string {
  const cm = (v >> 4) * 10 ** (v & 15);
  return cm % 100 === 0 ? `${cm / 100}m` : `${(cm / 100).toFixed(2)}m`;
}

function coord(v: number, pos: string, neg: string): string {
  let t = v - EQUATOR;
  const h = t < 0 ? neg : pos;
  t = Math.abs(t);
  const ms = t % 1000;
  t = Math.floor(t / 1000);
  const s = t % 60;
  t = Math.floor(t / 60);
  const m = t % 60;
  const d = Math.floor(t / 60);
  return `${d} ${m} ${s}.${String(ms).padStart(3, '0')} ${h}`;
}

export function locToText(b: Uint8Array, off: number): string {
  const dv = new DataView(b.buffer, b.byteOffset);
  const altCm = dv.getUint32(off + 12) - ALT_BASE;
  const sign = altCm < 0 ? '-' : '';
  const a = Math.abs(altCm);
  const alt = `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}m`;
  return `${coord(dv.getUint32(off + 4), 'N', 'S')} ${coord(dv.getUint32(off + 8), 'E', 'W')} ${alt} ` +
    `${size(b[off + 1]!)} ${size(b[off + 2]!)} ${size(b[off + 3]!)}`;
}
