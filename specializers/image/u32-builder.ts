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
