// Connection keys (remote address and port, local port, which of our addresses) in columns
// by row, with a hash index over them: open addressing, linear probing, backward-shift
// deletion (Knuth 6.4, algorithm R: no tombstones, so a long-lived index never degrades).
// The connection table and the TIME-WAIT table each keep their rows' keys in one of these.
//
// Keys hash with HalfSipHash-1-3 under a per-worker secret, so that a peer cannot aim its
// ports at one probe chain.

import { HalfSipHash } from '../../../basics/siphash.js';

const EMPTY = 0; // cells hold row + 1

export class TupleKeys {
  readonly FAMILY: Uint8Array; // 4 or 6; 0 for a row not in the index
  readonly LOCAL: Uint8Array; // index of our address in the stack's list for that family
  readonly R_ADDR4: Uint32Array;
  readonly R_ADDR6: Uint8Array; // 16 bytes a row
  readonly R_PORT: Uint16Array;
  readonly L_PORT: Uint16Array;
  private readonly cells: Int32Array;
  private readonly mask: number;
  private readonly hasher: HalfSipHash;
  size = 0;

  constructor(readonly rows: number, k0: number, k1: number) {
    this.FAMILY = new Uint8Array(rows);
    this.LOCAL = new Uint8Array(rows);
    this.R_ADDR4 = new Uint32Array(rows);
    this.R_ADDR6 = new Uint8Array(rows * 16);
    this.R_PORT = new Uint16Array(rows);
    this.L_PORT = new Uint16Array(rows);
    let cells = 1;
    while (cells < rows * 2) cells <<= 1;
    this.cells = new Int32Array(cells);
    this.mask = cells - 1;
    this.hasher = new HalfSipHash(k0, k1, 1, 3);
  }

  private hash4(raddr: number, rport: number, lport: number, local: number): number {
    return this.hasher.begin().word(raddr).word((rport << 16) | lport).word(0x40000 | local).end();
  }

  private hash6(mem: Uint8Array, at: number, rport: number, lport: number, local: number): number {
    const h = this.hasher.begin();
    for (let i = 0; i < 16; i += 4) h.word((mem[at + i]! << 24) | (mem[at + i + 1]! << 16) | (mem[at + i + 2]! << 8) | mem[at + i + 3]!);
    return h.word((rport << 16) | lport).word(0x60000 | local).end();
  }

  private hashOf(row: number): number {
    return this.FAMILY[row] === 4
      ? this.hash4(this.R_ADDR4[row]!, this.R_PORT[row]!, this.L_PORT[row]!, this.LOCAL[row]!)
      : this.hash6(this.R_ADDR6, row * 16, this.R_PORT[row]!, this.L_PORT[row]!, this.LOCAL[row]!);
  }

  find4(raddr: number, rport: number, lport: number, local: number): number {
    const cells = this.cells, mask = this.mask;
    for (let i = this.hash4(raddr, rport, lport, local) & mask; ; i = (i + 1) & mask) {
      const c = cells[i]!;
      if (c === EMPTY) return -1;
      const r = c - 1;
      if (this.R_ADDR4[r] === raddr && this.R_PORT[r] === rport && this.L_PORT[r] === lport && this.LOCAL[r] === local && this.FAMILY[r] === 4) return r;
    }
  }

  /** The row whose remote IPv6 address is mem[at, at+16), or -1. */
  find6(mem: Uint8Array, at: number, rport: number, lport: number, local: number): number {
    const cells = this.cells, mask = this.mask, a6 = this.R_ADDR6;
    outer: for (let i = this.hash6(mem, at, rport, lport, local) & mask; ; i = (i + 1) & mask) {
      const c = cells[i]!;
      if (c === EMPTY) return -1;
      const r = c - 1;
      if (this.R_PORT[r] !== rport || this.L_PORT[r] !== lport || this.LOCAL[r] !== local || this.FAMILY[r] !== 6) continue;
      const b = r * 16;
      for (let k = 0; k < 16; k++) if (a6[b + k] !== mem[at + k]) continue outer;
      return r;
    }
  }

  /** Keys `row` (IPv4: `raddr`; IPv6: the address at mem[at, at+16)) and indexes it. */
  insert(row: number, family: number, raddr: number, mem: Uint8Array, at: number, rport: number, lport: number, local: number): void {
    this.FAMILY[row] = family;
    this.R_ADDR4[row] = family === 4 ? raddr : 0;
    if (family === 6) for (let k = 0; k < 16; k++) this.R_ADDR6[row * 16 + k] = mem[at + k]!;
    this.R_PORT[row] = rport;
    this.L_PORT[row] = lport;
    this.LOCAL[row] = local;
    const cells = this.cells, mask = this.mask;
    let i = this.hashOf(row) & mask;
    while (cells[i] !== EMPTY) i = (i + 1) & mask;
    cells[i] = row + 1;
    this.size++;
  }

  /** Copies the key of `from` (a row of `src`) into `row` of this one and indexes it. */
  insertFrom(row: number, src: TupleKeys, from: number): void {
    this.insert(row, src.FAMILY[from]!, src.R_ADDR4[from]!, src.R_ADDR6, from * 16, src.R_PORT[from]!, src.L_PORT[from]!, src.LOCAL[from]!);
  }

  remove(row: number): void {
    const cells = this.cells, mask = this.mask;
    let i = this.hashOf(row) & mask;
    while (cells[i] !== row + 1) {
      if (cells[i] === EMPTY) throw new Error(`tuple index: row ${row} is not indexed`);
      i = (i + 1) & mask;
    }
    let hole = i;
    for (let j = (i + 1) & mask; cells[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.hashOf(cells[j]! - 1) & mask;
      // The entry at j may fill the hole when its home is not in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        cells[hole] = cells[j]!;
        hole = j;
      }
    }
    cells[hole] = EMPTY;
    this.FAMILY[row] = 0;
    this.size--;
  }

  /** The row's key found again by its own lookup (for invariant checks). */
  findRow(row: number): number {
    return this.FAMILY[row] === 4
      ? this.find4(this.R_ADDR4[row]!, this.R_PORT[row]!, this.L_PORT[row]!, this.LOCAL[row]!)
      : this.find6(this.R_ADDR6, row * 16, this.R_PORT[row]!, this.L_PORT[row]!, this.LOCAL[row]!);
  }

  /** Cells in use (for invariant checks: equals size). */
  cellsInUse(): number {
    let n = 0;
    for (let i = 0; i < this.cells.length; i++) if (this.cells[i] !== EMPTY) n++;
    return n;
  }
}
