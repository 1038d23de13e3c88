// Domain names: presentation text ⇄ uncompressed wire form, comparison, interning.
//
// Read first: RFC 1035 §2.3.4 (63-octet labels, 255-octet names), §3.1 (wire form),
// §5.1 (`@`, relative names, `\X` and `\DDD` escapes), RFC 4343 (case-insensitive
// comparison, case preserved), RFC 4034 §6.1 (canonical order).
//
// Wire names here are always uncompressed: length-prefixed labels ending in the root's 0.

export const MAX_NAME_LEN = 255;
export const MAX_LABEL_LEN = 63;

/** A syntax or limit problem in presentation input; the zone parser adds file and line. */
export class TextFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TextFormatError';
  }
}

export const ROOT_NAME: Uint8Array = new Uint8Array([0]);

/**
 * Writes the name in src[start, end) (presentation bytes, escapes undecoded) to out at pos,
 * appending origin when the name is relative. Returns the position after the name.
 * `@` alone is the origin. Throws TextFormatError on an empty label, a bad escape, a label
 * over 63 octets, a name over 255 octets, or a relative name with no origin.
 */
export function writeNameBytes(
  src: Uint8Array, start: number, end: number, origin: Uint8Array | null, out: Uint8Array, pos: number,
): number {
  const base = pos;
  if (end - start === 1) {
    const c = src[start]!;
    if (c === 0x40) {
      if (origin === null) throw new TextFormatError("'@' used but no origin is known; add a $ORIGIN line or give the zone's origin");
      out.set(origin, pos);
      return pos + origin.length;
    }
    if (c === 0x2e) {
      out[pos] = 0;
      return pos + 1;
    }
  }
  if (start === end) throw new TextFormatError('empty domain name');
  let labelStart = pos++;
  let len = 0;
  let lastWasDot = false;
  for (let i = start; i < end; i++) {
    let c = src[i]!;
    if (c === 0x2e) {
      if (len === 0) throw new TextFormatError(`empty label in domain name '${latin1(src, start, end)}'`);
      out[labelStart] = len;
      labelStart = pos++;
      len = 0;
      lastWasDot = true;
      continue;
    }
    lastWasDot = false;
    if (c === 0x5c) {
      i++;
      if (i >= end) throw new TextFormatError(`domain name '${latin1(src, start, end)}' ends in a lone backslash`);
      c = src[i]!;
      if (c >= 0x30 && c <= 0x39) {
        const d = decimalEscape(src, i, end);
        if (d < 0) throw new TextFormatError(`bad escape '\\${latin1(src, i, Math.min(end, i + 3))}' in domain name (use \\DDD with DDD at most 255)`);
        c = d;
        i += 2;
      }
    }
    if (len === MAX_LABEL_LEN) {
      throw new TextFormatError(`label exceeds 63 octets in domain name '${latin1(src, start, end)}'`);
    }
    if (pos - base >= MAX_NAME_LEN) {
      throw new TextFormatError(`domain name '${latin1(src, start, end)}' exceeds 255 octets`);
    }
    out[pos++] = c;
    len++;
  }
  if (lastWasDot) {
    out[labelStart] = 0;
    if (labelStart + 1 - base > MAX_NAME_LEN) {
      throw new TextFormatError(`domain name '${latin1(src, start, end)}' exceeds 255 octets`);
    }
    return labelStart + 1;
  }
  out[labelStart] = len;
  if (origin === null) {
    throw new TextFormatError(`relative domain name '${latin1(src, start, end)}' but no origin is known; add a $ORIGIN line, end the name with '.', or give the zone's origin`);
  }
  if (pos - base + origin.length > MAX_NAME_LEN) {
    throw new TextFormatError(`domain name '${latin1(src, start, end)}' exceeds 255 octets once the origin is appended`);
  }
  out.set(origin, pos);
  return pos + origin.length;
}

/** The value of a `\DDD` escape whose first digit is at src[i]; -1 if malformed. */
export function decimalEscape(src: Uint8Array, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  const a = src[i]! - 48, b = src[i + 1]! - 48, c = src[i + 2]! - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  const v = a * 100 + b * 10 + c;
  return v > 255 ? -1 : v;
}

function latin1(src: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end && i < start + 300; i++) s += String.fromCharCode(src[i]!);
  return s;
}

const SCRATCH = new Uint8Array(MAX_NAME_LEN + 8);

/** The wire form of a presentation name; relative names need an origin. */
export function nameToWire(text: string, origin?: Uint8Array): Uint8Array {
  const src = Buffer.from(text, 'utf8');
  const end = writeNameBytes(src, 0, src.length, origin ?? null, SCRATCH, 0);
  return SCRATCH.slice(0, end);
}

/** Length of the wire name starting at off; -1 if it is malformed or runs past the end. */
export function wireNameLength(wire: Uint8Array, off = 0): number {
  let p = off;
  for (;;) {
    if (p >= wire.length) return -1;
    const l = wire[p]!;
    if (l === 0) {
      const n = p + 1 - off;
      return n > MAX_NAME_LEN ? -1 : n;
    }
    if (l > MAX_LABEL_LEN) return -1;
    p += l + 1;
  }
}

/** Presentation form of the wire name at off: absolute, with RFC 1035 §5.1 escapes. */
export function nameToText(wire: Uint8Array, off = 0): string {
  let p = off;
  let s = '';
  for (;;) {
    const l = wire[p];
    if (l === undefined) throw new RangeError('wire name runs past the end of its buffer');
    if (l === 0) return s === '' ? '.' : s;
    if (l > MAX_LABEL_LEN) throw new RangeError(`compressed or malformed wire name (label byte ${l})`);
    for (let i = p + 1; i <= p + l; i++) s += escapeNameByte(wire[i]!);
    s += '.';
    p += l + 1;
  }
}

function escapeNameByte(c: number): string {
  // Characters with meaning to the zone-file lexer or to names get a backslash; the
  // unprintable get \DDD (the form NSD and BIND print).
  if (c <= 0x20 || c >= 0x7f) return '\\' + String(c).padStart(3, '0');
  switch (c) {
    case 0x2e: case 0x5c: case 0x22: case 0x3b: case 0x28: case 0x29: case 0x40: case 0x24:
      return '\\' + String.fromCharCode(c);
    default:
      return String.fromCharCode(c);
  }
}

export function toLowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** A lower-cased copy of a wire name (RFC 4034 §6.2), labels untouched otherwise. */
export function lowerName(wire: Uint8Array): Uint8Array {
  const out = wire.slice();
  lowerNameInPlace(out, 0);
  return out;
}

/** Lower-cases the labels of the wire name at off in place; returns its end. */
export function lowerNameInPlace(buf: Uint8Array, off: number): number {
  let p = off;
  for (;;) {
    const l = buf[p]!;
    if (l === 0) return p + 1;
    for (let i = p + 1; i <= p + l; i++) buf[i] = toLowerAscii(buf[i]!);
    p += l + 1;
  }
}

/** Case-insensitive equality of two wire names (RFC 4343). */
export function namesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && toLowerAscii(a[i]!) !== toLowerAscii(b[i]!)) return false;
  }
  return true;
}

/**
 * True when the wire name `name` equals `apex` or lies below it (case-insensitive, on a
 * label boundary).
 */
export function isSubdomain(name: Uint8Array, apex: Uint8Array): boolean {
  const d = name.length - apex.length;
  if (d < 0) return false;
  let p = 0;
  while (p < d) p += name[p]! + 1;
  if (p !== d) return false;
  for (let i = 0; i < apex.length; i++) {
    if (name[d + i] !== apex[i] && toLowerAscii(name[d + i]!) !== toLowerAscii(apex[i]!)) return false;
  }
  return true;
}

/** Number of labels, not counting the root. */
export function labelCount(wire: Uint8Array, off = 0): number {
  let n = 0;
  let p = off;
  while (wire[p]! !== 0) {
    n++;
    p += wire[p]! + 1;
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// Interning: one copy of each distinct name, found again by hash without building strings.

const ARENA_CHUNK = 1 << 18;

/** Append-only storage for many small byte strings; hands out views, never copies twice. */
export class ByteArena {
  private chunk = new Uint8Array(ARENA_CHUNK);
  private used = 0;

  /** The chunk short copies go into now. */
  get current(): Uint8Array {
    return this.chunk;
  }

  /** The chunk the last place() copied into (valid until the next place()). */
  placed: Uint8Array = this.chunk;

  /** A view holding a copy of src[start, end). */
  copy(src: Uint8Array, start: number, end: number): Uint8Array {
    const at = this.place(src, start, end);
    return this.placed.subarray(at, at + end - start);
  }

  /** Copies src[start, end) into the arena without making a view: returns its offset in `placed`. */
  place(src: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len > ARENA_CHUNK >>> 4) {
      this.placed = src.slice(start, end);
      return 0;
    }
    if (this.used + len > this.chunk.length) {
      this.chunk = new Uint8Array(ARENA_CHUNK);
      this.used = 0;
    }
    const at = this.used;
    const c = this.chunk;
    for (let i = 0; i < len; i++) c[at + i] = src[start + i]!;
    this.used = at + len;
    this.placed = c;
    return at;
  }
}

/**
 * A hash set of wire names giving each a dense id. With `fold`, names that differ only in
 * ASCII case share an id (the first spelling is kept); without, they are distinct.
 */
export class NameTable {
  readonly names: Uint8Array[] = [];
  private hashes: number[] = [];
  private slots: Int32Array;
  private mask: number;
  private readonly arena = new ByteArena();

  /**
   * @param expected names to make room for from the start
   * @param slots where its slots come from (a Carver's i32), when not allocated here
   */
  constructor(private readonly fold: boolean, expected = 512, slots?: (n: number) => Int32Array) {
    const size = NameTable.slotsFor(expected);
    this.slots = slots ? slots(size) : new Int32Array(size);
    this.mask = size - 1;
  }

  /** The slots a table of `expected` names starts with. */
  static slotsFor(expected: number): number {
    return 2 ** Math.max(10, Math.ceil(Math.log2(expected * 2 + 1)));
  }

  get size(): number {
    return this.names.length;
  }

  private hash(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    if (this.fold) {
      for (let i = start; i < end; i++) h = Math.imul(h ^ toLowerAscii(buf[i]!), 0x01000193);
    } else {
      for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    }
    return h;
  }

  private same(id: number, buf: Uint8Array, start: number, end: number): boolean {
    const n = this.names[id]!;
    if (n.length !== end - start) return false;
    if (this.fold) {
      for (let i = 0; i < n.length; i++) {
        const a = n[i]!, b = buf[start + i]!;
        if (a !== b && toLowerAscii(a) !== toLowerAscii(b)) return false;
      }
    } else {
      for (let i = 0; i < n.length; i++) if (n[i] !== buf[start + i]) return false;
    }
    return true;
  }

  /** The id of buf[start, end), or -1. */
  find(buf: Uint8Array, start: number, end: number): number {
    const h = this.hash(buf, start, end);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      if (this.hashes[v - 1] === h && this.same(v - 1, buf, start, end)) return v - 1;
    }
  }

  /** The id of buf[start, end), adding it (copied) if new. */
  intern(buf: Uint8Array, start: number, end: number): number {
    return this.add(buf, start, end, true);
  }

  /** The id of the whole of `name`, adding that very array (not a copy) if new. */
  internArray(name: Uint8Array): number {
    return this.add(name, 0, name.length, false);
  }

  private add(buf: Uint8Array, start: number, end: number, copy: boolean): number {
    const h = this.hash(buf, start, end);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const v = this.slots[s]!;
      if (v === 0) {
        const id = this.names.length;
        this.names.push(copy ? this.arena.copy(buf, start, end) : buf);
        this.hashes.push(h);
        this.slots[s] = id + 1;
        if ((id + 1) * 2 > this.mask) this.grow();
        return id;
      }
      if (this.hashes[v - 1] === h && this.same(v - 1, buf, start, end)) return v - 1;
    }
  }

  /**
   * The table's index, for a NameIndex (model.ts) to take over rather than hash every name
   * again: the slots (id + 1 at each name's probe position, 0 empty) and each id's hash.
   * The table is empty afterwards (its slots are the index's now).
   */
  handOver(): { slots: Int32Array; hashes: Int32Array } {
    const out = { slots: this.slots, hashes: Int32Array.from(this.hashes) };
    this.names.length = 0;
    this.hashes = [];
    this.slots = new Int32Array(NameTable.slotsFor(0));
    this.mask = this.slots.length - 1;
    return out;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let id = 0; id < this.names.length; id++) {
      let s = this.hashes[id]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = id + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
