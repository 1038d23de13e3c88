// A device that shows a test every frame another device's application receives and
// transmits, in place (mem, addr, len), as they change hands — before a fault injector
// below it drops any. The lossy tests put it right under the stack so that the invariant
// checker sees every frame the appliance emits, lost ones included.

import { DeviceWrapper, type Device } from '../../netmap-binding/device.js';

export type FrameTap = (mem: Uint8Array, addr: number, len: number) => void;

export class TapDevice extends DeviceWrapper {
  constructor(inner: Device, private readonly onTransmit: FrameTap | null, private readonly onReceive: FrameTap | null = null) {
    super(inner, 'tap');
  }

  override receive(addrs: Uint32Array, lens: Uint32Array, max: number): number {
    const n = this.inner.receive(addrs, lens, max);
    if (this.onReceive) for (let i = 0; i < n; i++) this.onReceive(this.inner.mem, addrs[i]!, lens[i]!);
    return n;
  }

  override transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number {
    // Shown before they are handed on: once taken, a frame may be sent (and poisoned) at once.
    if (this.onTransmit) for (let i = 0; i < count; i++) this.onTransmit(this.inner.mem, addrs[i]!, lens[i]!);
    return this.inner.transmit(addrs, lens, count);
  }
}
