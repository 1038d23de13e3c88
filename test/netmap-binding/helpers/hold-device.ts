// Child process for the SIGKILL test: opens a device (attaching its own program) and
// holds it until killed. argv: iface netns ipv4
import { openAfXdp } from '../../../netmap-binding/afxdp.js';

const [iface, netns, ipv4] = process.argv.slice(2) as [string, string, string];
const dev = openAfXdp({ iface, netns, queue: 0, frames: 256, ringSize: 128, serve: { ipv4: [ipv4], udpPorts: [7777] } });
process.stdout.write(`ready ${dev.mode}\n`);
setInterval(() => dev.flush(), 50);
setTimeout(() => process.exit(3), 30_000); // bounded even if nobody kills it
