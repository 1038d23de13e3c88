// A bounded pool of equal byte blocks, for bytes a connection must hold between reads (a
// request head or a DNS message that arrived in pieces). Blocks are made on first need and
// reused after; the pool never holds more than `max`, so what all connections together can
// pin is bounded by max × size, whatever the peers send. No allocation once warm.

export class BlockPool {
  private readonly blocks: Uint8Array[] = [];
  private readonly free: number[] = [];
  /** Takes that found no free block and no room to make one. */
  exhausted = 0;

  constructor(readonly size: number, readonly max: number) {}

  /** A block's index, or -1 when all `max` blocks are taken. */
  take(): number {
    const f = this.free.pop();
    if (f !== undefined) return f;
    if (this.blocks.length >= this.max) {
      this.exhausted++;
      return -1;
    }
    this.blocks.push(new Uint8Array(this.size));
    return this.blocks.length - 1;
  }

  block(i: number): Uint8Array {
    return this.blocks[i]!;
  }

  give(i: number): void {
    this.free.push(i);
  }

  /** Blocks handed out now. */
  get inUse(): number {
    return this.blocks.length - this.free.length;
  }
}
