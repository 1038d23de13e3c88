// Worker thread for the two-queue test: owns one queue on each end of the veth, sends
// from the client end, answers in place on the server end, and reports.
import { parentPort, workerData } from 'node:worker_threads';
import { BATCH } from '../../../netmap-binding/device.js';
import { currentCpu, openAfXdp, pinThread } from '../../../netmap-binding/afxdp.js';
import { answerInPlace, responder } from './frames.js';
import { collect, frameTo } from './contract.js';

interface Job { queue: number; cpu: number; server: { ns: string; iface: string; ip: string; mapFd: number }; client: { ns: string; iface: string; ip: string; mapFd: number }; port: number; count: number }
const job = workerData as Job;
pinThread(job.cpu);
const open = (s: Job['server']) => openAfXdp({ iface: s.iface, netns: s.ns, queue: job.queue, xskMapFd: s.mapFd, frames: 512, ringSize: 128 });
const a = open(job.server);
const b = open(job.client);
const frames = Array.from({ length: job.count }, (_, i) => frameTo(b, a, job.client.ip, job.server.ip, job.port, i, 80 + job.queue));
const addrs = new Uint32Array(BATCH);
const lens = new Uint32Array(BATCH);
// sendFrames without the helper's allocation: one batch.
const n = b.allocate(addrs, frames.length);
for (let i = 0; i < n; i++) { b.mem.set(frames[i]!, addrs[i]!); lens[i] = frames[i]!.length; }
b.transmit(addrs, lens, n);
b.flush();
const r = responder(a.mac, job.server.ip);
let answered = 0;
const end = Date.now() + 5000;
while (answered < n && Date.now() < end) {
  const got = a.receive(addrs, lens, BATCH);
  for (let i = 0; i < got; i++) lens[i] = answerInPlace(r, a.mem, addrs[i]!, lens[i]!);
  a.transmit(addrs, lens, got);
  a.flush();
  answered += got;
  if (got === 0) a.wait(5);
}
const replies = await collect(b, answered, 5000);
parentPort!.postMessage({ queue: job.queue, sent: n, answered, replies: replies.length, cpu: currentCpu(), payloadLen: replies[0] ? replies[0].length - 42 : -1 });
await a.close();
await b.close();
