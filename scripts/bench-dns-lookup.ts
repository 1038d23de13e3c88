// Micro-benchmark of the DNS answer table: DnsResponder.answer() in a loop, on one core,
// over a fixed query mix, with the image built from fixtures/zones plus a generated zone
// (scripts/gen-zone.mjs) so that the name table is not all in cache. A benchmark: it
// prints numbers and asserts nothing.
//
//   node build.mjs --tests && taskset -c 1 node build/scripts/bench-dns-lookup.js \
//        [--names 1000000] [--seconds 2] [--rounds 3] [--queries 16384] [--seed 1]
//
// The query mix is scripts/query-mix.ts's (50% existing names, 20% NXDOMAIN, 15% wildcard
// answers, 10% referrals, 5% REFUSED; mixed case, EDNS on half). Each iteration copies the
// query into the work buffer (the responder answers in place) and answers it; the copy is
// part of what is timed, as it is in every transport. Then the same a receive batch of 64
// at a time, with and without the batch's read-ahead (DnsResponder.warm; a no-op below
// DnsTables.WARM_ABOVE names), the rows alternating in each round.

import { PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { DnsResponder, TRANSPORT_UDP, C_ANSWERED, C_NXDOMAIN, C_REFUSED, C_FORMERR } from '../appliance/dns/responder.js';
import * as D from '../specializers/dns/layout.js';
import { DnsTables } from '../appliance/dns/tables.js';
import { WORK, answerLoop, mulberry32, numberArg, queryMix } from './query-mix.js';

const names = numberArg('bench-dns-lookup', 'names', 1_000_000);
const seconds = numberArg('bench-dns-lookup', 'seconds', 2);
const rounds = numberArg('bench-dns-lookup', 'rounds', 3);
const nQueries = numberArg('bench-dns-lookup', 'queries', 16384);
const rand = mulberry32(numberArg('bench-dns-lookup', 'seed', 1));

const mix = await queryMix({
  names, count: nQueries, rand, imageFile: join(process.cwd(), '.tmp', 'zone-bench', `lookup-${names}.apl`),
});
const { tables, queries, all, workAt, starts, built } = mix;

const responder = new DnsResponder(tables);

// Every answer decodes, before anything is timed.
let bad = 0;
for (let i = 0; i < queries.length; i++) {
  const len = starts[i + 1]! - starts[i]!;
  all.copyWithin(workAt, starts[i]!, starts[i + 1]!);
  const n = responder.answer(all, workAt, len, WORK, TRANSPORT_UDP);
  try {
    if (n < 12) throw new Error('no answer');
    dnsPacket.decode(Buffer.from(all.buffer, workAt, n));
  } catch {
    bad++;
  }
}
const c0 = Float64Array.from(responder.counters);

const run = answerLoop(mix, responder);

let gcs = 0;
const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
obs.observe({ entryTypes: ['gc'] });

run(2_000_000); // warm up: let the JIT settle
const rates: number[] = [];
const gcBefore = gcs;
for (let round = 0; round < rounds; round++) {
  const batch = 1_000_000;
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  while (performance.now() < deadline && done < 1e9) {
    run(batch);
    done += batch;
  }
  const dt = (performance.now() - t0) / 1000;
  rates.push(done / dt);
}
// The table lookup alone (what the answer table costs, without parsing, copying the
// template and writing the header): the query name hashed and found, then its qtype's
// template, or the closest encloser's when the name does not exist.
const nameAt = new Uint32Array(queries.length);
const nameLen = new Uint32Array(queries.length);
const qtypes = new Uint16Array(queries.length);
for (let i = 0; i < queries.length; i++) {
  const s0 = starts[i]! + 12;
  let p = s0;
  while (all[p] !== 0) p += all[p]! + 1;
  nameAt[i] = s0;
  nameLen[i] = p + 1 - s0;
  qtypes[i] = (all[p + 1]! << 8) | all[p + 2]!;
}
const namesW = tables.names;
function lookups(iterations: number): number {
  const nq = queries.length;
  let sum = 0;
  for (let k = 0, i = 0; k < iterations; k++) {
    let at = nameAt[i]!, len = nameLen[i]!;
    let n = tables.find(all, at, len);
    // not there: strip labels until an existing ancestor (the closest encloser)
    while (n < 0 && len > 1) {
      const l = all[at]! + 1;
      at += l;
      len -= l;
      n = tables.find(all, at, len);
    }
    if (n >= 0) {
      const a = n * D.NAME_WORDS;
      sum += tables.typeTemplate(namesW[a + D.NAME_TYPES_AT]!, namesW[a + D.NAME_TYPES_COUNT]!, qtypes[i]!);
    }
    if (++i === nq) i = 0;
  }
  return sum;
}
lookups(2_000_000);
const lookupRates: number[] = [];
for (let round = 0; round < rounds; round++) {
  let done = 0;
  const t0 = performance.now();
  while (performance.now() < t0 + seconds * 1000) {
    lookups(1_000_000);
    done += 1_000_000;
  }
  lookupRates.push(done / ((performance.now() - t0) / 1000));
}
lookupRates.sort((a, b) => a - b);
await new Promise((r) => setTimeout(r, 50)); // let the GC observer deliver
obs.disconnect();

// Answered a receive batch at a time (BATCH queries, each in its own slot, as frames of a
// ring are), with and without the read-ahead of the batch's lookups (DnsResponder.warm)
// that the fused path and the socket workers make before a batch.
const BATCH = 64;
const SLOT = 1024;
const ring = new Uint8Array(BATCH * SLOT);
const offs = new Int32Array(BATCH), lens = new Int32Array(BATCH);
function batched(iterations: number, warm: boolean): number {
  const nq = queries.length;
  let sum = 0;
  for (let k = 0, i = 0; k < iterations; k += BATCH) {
    for (let j = 0; j < BATCH; j++) {
      const s = starts[i]!, e = starts[i + 1]!;
      for (let x = s, y = j * SLOT; x < e; x++, y++) ring[y] = all[x]!;
      offs[j] = j * SLOT;
      lens[j] = e - s;
      if (++i === nq) i = 0;
    }
    if (warm) responder.warm(ring, offs, lens, BATCH);
    for (let j = 0; j < BATCH; j++) sum += responder.answer(ring, offs[j]!, lens[j]!, SLOT, TRANSPORT_UDP);
  }
  return sum;
}
batched(1_000_000, false);
batched(1_000_000, true);
const plain: number[] = [], warmed: number[] = [];
for (let round = 0; round < rounds; round++) {
  for (const [warm, out] of [[false, plain], [true, warmed]] as const) {
    let done = 0;
    const t0 = performance.now();
    while (performance.now() < t0 + seconds * 1000) {
      batched(BATCH * 4096, warm);
      done += BATCH * 4096;
    }
    out.push(done / ((performance.now() - t0) / 1000));
  }
}
plain.sort((a, b) => a - b);
warmed.sort((a, b) => a - b);

const c = responder.counters;
const m = (x: number): string => (x / 1e6).toFixed(2);
const sorted = [...rates].sort((a, b) => a - b);
process.stdout.write([
  `image: ${built.dns!.zones.length} zones, ${tables.nameCount.toLocaleString('en-US')} names, ${built.dns!.templates.toLocaleString('en-US')} templates (${(built.size / 1048576).toFixed(1)} MiB)`,
  `query mix: ${queries.length} queries; first pass: ${c0[C_ANSWERED]} answered (${c0[C_NXDOMAIN]} NXDOMAIN), ${c0[C_REFUSED]} REFUSED, ${c0[C_FORMERR]} FORMERR; ${bad} did not decode`,
  `answer() on one core: ${rounds} rounds of ${seconds} s: median ${m(sorted[rounds >> 1]!)} M/s (min ${m(sorted[0]!)}, max ${m(sorted[rounds - 1]!)})`,
  `answer() a batch of ${BATCH} at a time: median ${m(plain[rounds >> 1]!)} M/s; with the batch's read-ahead (warm()${tables.warmPays ? '' : ': a no-op below ' + DnsTables.WARM_ABOVE.toLocaleString('en-US') + ' names'}): median ${m(warmed[rounds >> 1]!)} M/s (${(warmed[rounds >> 1]! / plain[rounds >> 1]!).toFixed(2)}×)`,
  `table lookups alone (name → template, closest encloser for names that do not exist): median ${m(lookupRates[rounds >> 1]!)} M/s (min ${m(lookupRates[0]!)}, max ${m(lookupRates[rounds - 1]!)})`,
  `garbage collections during the timed rounds: ${gcs - gcBefore}; answered in all: ${c[C_ANSWERED]!.toLocaleString('en-US')}`,
  '',
].join('\n'));
