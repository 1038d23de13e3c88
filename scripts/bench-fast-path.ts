// Micro-benchmark of the fused stack's per-frame work for DNS over IPv4/UDP, on one core,
// no network: the frames `appliance bench dns` has kxdpgun send (its query mix on the
// bench zone, UDP checksums set), each copied into a frame buffer and answered by
// Stack.handle (the fast path, then the responder, the header rewrites and checksums),
// against the bench's JS reflector (reflect(): a fixed answer) on the same frames, and the
// copy alone. A benchmark: it prints numbers and asserts nothing.
//
//   node build.mjs --tests && taskset -c 1 node build/scripts/bench-fast-path.js [--seconds 2] [--rounds 5]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addSums, finish, partialSum } from '../basics/checksum.js';
import { benchZoneText, BENCH_ZONE_FILE } from '../appliance/bench/dns-fixture.js';
import { encodeMixQuery, queryMix } from '../appliance/bench/dns-xdp.js';
import { reflect } from '../appliance/bench/reflector.js';
import { COUNTER_STRIDE } from '../appliance/stack/counters.js';
import { CSUM_AUTO } from '../appliance/wire/reasons.js';
import { makeStack } from '../appliance/worker/serve-worker.js';
import { buildImage } from '../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../specializers/http/compile.js';
import { loadImage } from '../specializers/image/format.js';
import { numberArg } from './query-mix.js';

const seconds = numberArg('bench-fast-path', 'seconds', 2);
const rounds = numberArg('bench-fast-path', 'rounds', 5);

const dir = mkdtempSync(join(tmpdir(), 'apl-fastpath-'));
const MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x10);
const PEER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x20);
const SERVER = [198, 18, 0, 10];
const CLIENT = [198, 18, 0, 20];
try {
  const zoneFile = join(dir, BENCH_ZONE_FILE);
  writeFileSync(zoneFile, benchZoneText());
  const imageFile = join(dir, 'bench.apl');
  await buildImage({ sites: [], zones: [{ origin: null, file: zoneFile }], output: imageFile, http: { ...DEFAULT_HTTP_OPTIONS } });
  const img = loadImage(imageFile);
  const counters = new Float64Array(COUNTER_STRIDE);
  const stack = makeStack({
    file: img.file, image: img.shared, ipv4: [SERVER.join('.')], ipv6: [], dnsPort: 53, checksums: CSUM_AUTO, tcpConnections: 64,
    secret: Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8), idleTimeoutMs: 10_000, messageTimeoutMs: 5_000, httpPort: 80, headerTimeoutMs: 5_000,
  }, { mac: MAC, mtu: 1500 }, counters, 0);

  // The frames, as kxdpgun sends them: Ethernet, IPv4 (DF, TTL 64), UDP with its checksum.
  const mix = queryMix().trim().split('\n');
  const frames = mix.map((line, i) => {
    const q = encodeMixQuery(line, i);
    const f = new Uint8Array(14 + 20 + 8 + q.length);
    f.set(MAC, 0);
    f.set(PEER_MAC, 6);
    f[12] = 0x08;
    f[14] = 0x45;
    const total = 20 + 8 + q.length;
    f[16] = total >> 8;
    f[17] = total & 0xff;
    f[20] = 0x40;
    f[22] = 64;
    f[23] = 17;
    f.set(CLIENT, 26);
    f.set(SERVER, 30);
    const ip = finish(partialSum(f, 14, 20));
    f[24] = ip >> 8;
    f[25] = ip & 0xff;
    const sport = 40000 + i;
    f[34] = sport >> 8;
    f[35] = sport & 0xff;
    f[37] = 53;
    f[38] = (8 + q.length) >> 8;
    f[39] = (8 + q.length) & 0xff;
    f.set(q, 42);
    let c = finish(addSums(partialSum(f, 26, 8, 17 + 8 + q.length), partialSum(f, 34, 8 + q.length)));
    if (c === 0) c = 0xffff;
    f[40] = c >> 8;
    f[41] = c & 0xff;
    return f;
  });

  // Frame buffers as UMEM has them: 2 KiB apart in shared memory, at a headroom offset.
  const FRAME = 2048, HEAD = 256, SLOTS = 64;
  const mem = new Uint8Array(new SharedArrayBuffer(FRAME * SLOTS));
  const cap = FRAME - HEAD;

  type Body = (at: number, len: number) => number;
  const loop = (body: Body) => (iterations: number): number => {
    let sum = 0;
    for (let k = 0, i = 0; k < iterations; k++) {
      const f = frames[i]!;
      const at = (k & (SLOTS - 1)) * FRAME + HEAD;
      mem.set(f, at);
      sum += body(at, f.length);
      if (++i === frames.length) i = 0;
    }
    return sum;
  };
  const rows: Array<{ name: string; run: (n: number) => number }> = [
    { name: 'copy only', run: loop(() => 1) },
    { name: 'JS reflector: reflect()', run: loop((at, len) => reflect(mem, at, len, cap)) },
    { name: 'appliance: Stack.handle()', run: loop((at, len) => stack.handle(mem, at, len, cap, 0)) },
  ];
  // Every frame is answered before anything is timed.
  let answered = 0;
  for (let i = 0; i < frames.length; i++) {
    mem.set(frames[i]!, HEAD);
    if (stack.handle(mem, HEAD, frames[i]!.length, cap, 0) > 0) answered++;
  }
  process.stdout.write(`bench zone, ${frames.length} frames of the kxdpgun mix; Stack.handle answered ${answered} of them\n`);
  for (const r of rows) r.run(2_000_000); // the JIT settles
  const rates = rows.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    rows.forEach((r, j) => {
      let done = 0;
      const t0 = performance.now();
      const deadline = t0 + (seconds * 1000) / rows.length;
      while (performance.now() < deadline) {
        r.run(200_000);
        done += 200_000;
      }
      rates[j]!.push(((performance.now() - t0) * 1e6) / done);
    });
  }
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const copy = median(rates[0]!);
  for (const [j, r] of rows.entries()) {
    const m = median(rates[j]!);
    process.stdout.write(`${r.name.padEnd(28)} ${m.toFixed(0).padStart(5)} ns a frame (min ${Math.min(...rates[j]!).toFixed(0)}, max ${Math.max(...rates[j]!).toFixed(0)})` +
      `${j > 0 ? `, ${(m - copy).toFixed(0)} ns beyond the copy` : ''}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
