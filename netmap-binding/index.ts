// netmap-binding: NIC queue rings in JavaScript memory.
//
//   device.ts       the Device interface every backend implements (read it first)
//   afxdp.ts        AF_XDP backend (Linux): sockets, UMEM, rings, the XDP program
//   pipe.ts         in-memory pipe backend: two devices back to back, pure TypeScript
//   pcap.ts         pcap writer, capturing wrapper, reader and replay
//   loader.ts       finds and loads the native module (netmap_binding.node)
//   native.d.ts     the native module's shape
//   device-util.ts  whole-frame helpers for tests and tools (they allocate)
//
// The native module is loaded lazily, on the first AF_XDP call: the pipe and pcap parts
// work without it.

export { BATCH, emptyStats, copyStats, type Device, type DeviceKind, type DeviceStats } from './device.js';
export {
  AfXdpDevice,
  XdpProgram,
  XDP_HEADROOM,
  XSK_RELEASE_SETTLE_MS,
  attachXdp,
  openAfXdp,
  pinThread,
  currentCpu,
  adviseHugePages,
  interfaceInfo,
  addressBytes,
  parseIPv4,
  parseIPv6,
  type AfXdpOptions,
  type AttachOptions,
  type ServeSpec,
  type XdpMode,
} from './afxdp.js';
export { PipeDevice, createPipe, type PipeEndOptions } from './pipe.js';
export { CaptureDevice, PcapWriter, readPcap, replay, LINKTYPE_ETHERNET, type PcapFile, type PcapRecord } from './pcap.js';
export { XdpError, loadNative, nativeCandidates, packageRoot, NATIVE_PATH_ENV } from './loader.js';
export { sendFrames, receiveFrames } from './device-util.js';
export { UdpBatchSocket, UDP_BATCH, UDP_SLOT } from './udp.js';
