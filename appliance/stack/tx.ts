// The batch's TX queue: zero or more frames out per frame in. A reply that fits in the
// frame it answers is written there and goes back out of it (zero copy); a received frame
// that produced no reply is kept as a spare for the frames TCP builds later in the batch
// (segments of an answer, ACKs, retransmissions), and only then are new frames allocated
// from the device. At the end of the batch everything queued is transmitted and the
// spares left over are given back.
//
//   receive ─► frame ─► reply in place ──────────────► push ─┐
//                   └─► no reply ─► spare ─► take() ─► push ─┼─► flush(): transmit, release
//                                     device.allocate() ─────┘

import { BATCH, type Device } from '../../netmap-binding/device.js';

/**
 * Frames one batch may send: each received frame's reply plus what TCP adds. Twice the
 * receive batch: at four times, a large transfer spent so long sending (~250 frames a
 * batch, 64 taken in) that the RX ring overflowed with the peer's ACKs and requests
 * (about 2,000 frames lost per 5 s at 1 MiB, then timeouts); at twice, none were lost.
 */
export const TX_MAX = 2 * BATCH;

export class TxQueue {
  readonly addrs = new Uint32Array(TX_MAX);
  readonly lens = new Uint32Array(TX_MAX);
  count = 0;
  private readonly spares = new Uint32Array(BATCH);
  private spareCount = 0;
  private readonly alloc = new Uint32Array(BATCH);
  private allocCount = 0;
  /** Frames TCP wanted and could not have (no room in the batch, no free frame). */
  starved = 0;

  constructor(private dev: Device) {}

  /** The device frames come from and go to (a test or a wrapper may change it between batches). */
  attach(dev: Device): void {
    this.dev = dev;
  }

  get mem(): Uint8Array {
    return this.dev.mem;
  }

  get maxFrameLen(): number {
    return this.dev.maxFrameLen;
  }

  /** Room for more frames this batch? */
  get room(): number {
    return TX_MAX - this.count;
  }

  /** A frame to write into: a spare received frame, else a new one; -1 when none is left. */
  take(): number {
    if (this.count >= TX_MAX) {
      this.starved++;
      return -1;
    }
    if (this.spareCount > 0) return this.spares[--this.spareCount]!;
    if (this.allocCount === 0) {
      this.allocCount = this.dev.allocate(this.alloc, BATCH);
      if (this.allocCount === 0) {
        this.starved++;
        return -1;
      }
    }
    return this.alloc[--this.allocCount]!;
  }

  /** Gives back a frame take() returned that was not used after all. */
  untake(addr: number): void {
    if (this.spareCount < BATCH) this.spares[this.spareCount++] = addr;
    else this.dev.release(Uint32Array.of(addr), 1);
  }

  /** Queues a frame (taken, or a received one answered in place) for transmission. */
  push(addr: number, len: number): void {
    this.addrs[this.count] = addr;
    this.lens[this.count++] = len;
  }

  /** A received frame that produced no reply in place: kept for reuse this batch. */
  spare(addr: number): void {
    if (this.spareCount < BATCH) this.spares[this.spareCount++] = addr;
    else this.dev.release(Uint32Array.of(addr), 1);
  }

  /**
   * Transmits what is queued; frames the ring did not take and the spares left over go back
   * to the device. Returns the frames sent; `unsent` tells how many were given back unsent.
   */
  flush(): number {
    const dev = this.dev;
    const n = this.count;
    const sent = n > 0 ? dev.transmit(this.addrs, this.lens, n) : 0;
    this.unsent = n - sent;
    if (sent < n) dev.release(this.addrs, n - sent, sent);
    if (this.spareCount > 0) dev.release(this.spares, this.spareCount);
    if (this.allocCount > 0) dev.release(this.alloc, this.allocCount);
    this.count = 0;
    this.spareCount = 0;
    this.allocCount = 0;
    return sent;
  }

  unsent = 0;
}
