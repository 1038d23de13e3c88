// Convenience for tests, tools and replay: whole frames in and out of any Device, as
// copies. These allocate; the per-core loop never uses them.

import { BATCH, type Device } from './device.js';

/** Copies frames into free frames of `dev`, transmits and flushes them; returns how many went. */
export function sendFrames(dev: Device, frames: readonly Uint8Array[]): number {
  const addrs = new Uint32Array(BATCH);
  const lens = new Uint32Array(BATCH);
  let sent = 0;
  for (let i = 0; i < frames.length; i += BATCH) {
    const chunk = frames.slice(i, i + BATCH);
    const n = dev.allocate(addrs, chunk.length);
    for (let k = 0; k < n; k++) {
      const f = chunk[k]!;
      dev.mem.set(f, addrs[k]!);
      lens[k] = f.length;
    }
    const took = dev.transmit(addrs, lens, n);
    if (took < n) dev.release(addrs, n - took, took);
    dev.flush();
    sent += took;
    if (n < chunk.length) break;
  }
  return sent;
}

/** Receives up to `max` frames as copies and gives the frames back to the device. */
export function receiveFrames(dev: Device, max = Infinity): Uint8Array[] {
  const addrs = new Uint32Array(BATCH);
  const lens = new Uint32Array(BATCH);
  const out: Uint8Array[] = [];
  while (out.length < max) {
    const n = dev.receive(addrs, lens, Math.min(BATCH, max - out.length));
    if (n === 0) break;
    for (let k = 0; k < n; k++) out.push(dev.mem.slice(addrs[k]!, addrs[k]! + lens[k]!));
    dev.release(addrs, n);
  }
  dev.flush();
  return out;
}
