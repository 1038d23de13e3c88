// A growable array of u32 words: how table sections are assembled before they are written.

export class U32Builder {
  private words: Uint32Array;
  length = 0;

  /** @param initialWords room to reserve (a good guess saves the copies of doubling) */
  constructor(initialWords = 1024) {
    this.words = new Uint32Array(Math.max(16, initialWords));
  }

  /**
   * Appends a zeroed record of `n` words; returns the index of its first word. (Words past
   * `length` were never written, and a new array starts zeroed: no fill needed.)
   */
  record(n: number): number {
    const at = this.length;
    if (at + n > this.words.length) this.ensure(at + n);
    this.length += n;
    return at;
  }

  push(v: number): void {
    this.ensure(this.length + 1);
    this.words[this.length++] = v >>> 0;
  }

  set(i: number, v: number): void {
    if (i >= this.length) throw new RangeError(`word ${i} past the end (${this.length})`);
    this.words[i] = v >>> 0;
  }

  /** The backing words, for writing a record just made (valid until the next record() or push()). */
  get array(): Uint32Array {
    return this.words;
  }

  get(i: number): number {
    return this.words[i]!;
  }

  /** The words written so far (a view; copy it if the builder keeps growing). */
  view(): Uint32Array {
    return this.words.subarray(0, this.length);
  }

  private ensure(n: number): void {
    if (n <= this.words.length) return;
    let size = this.words.length * 2;
    while (size < n) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.words.subarray(0, this.length));
    this.words = next;
  }
}

/** Where a SpillingU32Builder puts its full windows: a file the image writer opens. */
export interface SpillFile {
  fd: number;
  /** Writes bytes at the file's end; errors name the image being built. */
  append(bytes: Uint8Array): void;
}

/**
 * A table of u32 records too big to keep whole while it is being made (the DNS names and
 * answers of a zone of a million names are 150 MB, built while the zone's model, the other
 * large thing, is still alive): it keeps one window of words, and each full window goes to
 * a temporary file that the image writer later copies into the table's section
 * (ImageWriter.addSpilledSection). Records are written once, right after record(), and
 * never read back, which is how the DNS compiler makes its tables.
 *
 * A table that never fills its window never touches a file.
 */
export class SpillingU32Builder {
  private words: Uint32Array;
  private used = 0;
  private spilled = 0;
  private file: SpillFile | null = null;

  /**
   * @param open makes the file on the first spill
   * @param windowWords words kept in memory (records never straddle a window; one larger than it gets a larger one)
   */
  constructor(private readonly open: () => SpillFile, windowWords = 1 << 20) {
    this.words = new Uint32Array(windowWords);
  }

  /** Words in the table so far (the index the next record starts at). */
  get length(): number {
    return this.spilled + this.used;
  }

  /**
   * Appends a zeroed record of `n` words; returns where it starts in `array` (not its
   * index in the table: that is `length` before the call).
   */
  record(n: number): number {
    if (this.used + n > this.words.length && this.used > 0) this.spill();
    // A record larger than the window (the type map of a name with thousands of types):
    // a larger window from here on.
    if (n > this.words.length) this.words = new Uint32Array(2 ** Math.ceil(Math.log2(n)));
    const at = this.used;
    this.used += n;
    return at;
  }

  /** Where the last record, of `n` words, starts in `array` (until the next record()). */
  lastAt(n: number): number {
    return this.used - n;
  }

  /** The window, for writing the record just made (valid until the next record()). */
  get array(): Uint32Array {
    return this.words;
  }

  /** Bytes already in the file, and the file (null when nothing spilled). */
  get spilledFile(): { file: SpillFile | null; bytes: number } {
    return { file: this.file, bytes: this.spilled * 4 };
  }

  /** The words still in memory, after the spilled ones. */
  tail(): Uint8Array {
    return new Uint8Array(this.words.buffer, 0, this.used * 4);
  }

  private spill(): void {
    this.file ??= this.open();
    this.file.append(this.tail());
    this.spilled += this.used;
    this.words.fill(0, 0, this.used);
    this.used = 0;
  }
}
