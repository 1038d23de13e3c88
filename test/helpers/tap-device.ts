// A device that shows a test every frame another device's application receives and
// transmits, in place (mem, addr, len), as they change hands — before a fault injector
// below it drops any. The lossy tests put it right under the stack so that the invariant
// checker sees every frame the appliance emits, lost ones included.

import type { Device, DeviceStats } from '../../netmap-binding/device.js';

export type FrameTap = (mem: Uint8Array, addr: number, len: number) => void;

export class TapDevice implements Device {
  constructor(readonly inner: Device, private readonly onTransmit: FrameTap | null, private readonly onReceive: FrameTap | null = null) {}

  get kind() { return this.inner.kind; }
  get name() { return this.inner.name; }
  get queue() { return this.inner.queue; }
  get mac() { return this.inner.mac; }
  get mtu() { return this.inner.mtu; }
  get mode() { return `${this.inner.mode}+tap`; }
  get mem() { return this.inner.mem; }
  get view() { return this.inner.view; }
  get frameSize() { return this.inner.frameSize; }
  get frameCount() { return this.inner.frameCount; }
  get maxFrameLen() { return this.inner.maxFrameLen; }

  receive(addrs: Uint32Array, lens: Uint32Array, max: number): number {
    const n = this.inner.receive(addrs, lens, max);
    if (this.onReceive) for (let i = 0; i < n; i++) this.onReceive(this.inner.mem, addrs[i]!, lens[i]!);
    return n;
  }

  allocate(addrs: Uint32Array, max: number): number {
    return this.inner.allocate(addrs, max);
  }

  transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number {
    // Shown before they are handed on: once taken, a frame may be sent (and poisoned) at once.
    if (this.onTransmit) for (let i = 0; i < count; i++) this.onTransmit(this.inner.mem, addrs[i]!, lens[i]!);
    return this.inner.transmit(addrs, lens, count);
  }

  release(addrs: Uint32Array, count: number, start?: number): void {
    this.inner.release(addrs, count, start);
  }

  flush(): void {
    this.inner.flush();
  }

  wait(timeoutMs: number): boolean {
    return this.inner.wait(timeoutMs);
  }

  stats(out?: DeviceStats): DeviceStats {
    return this.inner.stats(out);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
