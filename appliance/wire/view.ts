// What every wire view has: the bytes it is laid over. Views are flyweights: one per
// protocol per worker, rebound to each frame with wrap(), never allocated per packet.

export class WireView {
  buf: Uint8Array = new Uint8Array(0);
  /** Where the header starts in `buf`. */
  off = 0;
  /** Bytes available from `off` (what check() may trust, once it has checked them). */
  len = 0;

  wrap(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
}
