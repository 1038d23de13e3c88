// Micro-benchmark of response rate limiting: DnsResponder.answer() in a loop on one core,
// over a fixed query mix, without and with ResponseRateLimiter.decide() after each answer
// (and slip() for the answers it slips), as a UDP transport would call them. A benchmark:
// it prints numbers and asserts nothing.
//
//   node build.mjs --tests && taskset -c 1 node build/scripts/bench-rrl.js \
//        [--seconds 2] [--rounds 3] [--queries 16384] [--sources 10000] [--flood 0.5] \
//        [--vqps 1000000] [--table 1048576] [--names 0] [--seed 1]
//
// The query mix is scripts/query-mix.ts's (50% existing names, 20% NXDOMAIN, 15%
// wildcard answers, 10% referrals, 5% REFUSED; mixed case, EDNS on half), over the image
// of fixtures/zones (plus a generated zone of --names names when asked). Each query comes from a source address: a --flood share of them from one
// address (a spoofed victim: limited most of the time), the rest from --sources other
// /24s. Time passes as if the queries came at --vqps per second (the limiter is given that
// clock; nothing here is limited by the real one). The table has NSD's size (2^20 buckets,
// 32 MiB) unless --table says otherwise.
//
// Timed, each for --rounds rounds of --seconds:
//   answer         copy the query into the work buffer, answer() it
//   answer + RRL   the same, then decide() with the responder's rrlClass and rrlName,
//                  and slip() when it says RRL_SLIP
//   decide() alone over the (class, name) of each query, recorded from one pass

import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { DnsResponder, TRANSPORT_UDP } from '../appliance/dns/responder.js';
import {
  C_RRL_DROPPED, C_RRL_REPLACED, C_RRL_SLIPPED, FAMILY_IPV4, RRL_SLIP, ResponseRateLimiter, rrlClassName,
} from '../appliance/dns/rrl.js';
import { WORK, answerLoop, mulberry32, numberArg, queryMix } from './query-mix.js';

const arg = (name: string, def: number): number => numberArg('bench-rrl', name, def);
const seconds = arg('seconds', 2);
const rounds = Math.max(1, arg('rounds', 3));
const nQueries = arg('queries', 16384);
const nSources = Math.max(1, arg('sources', 10_000));
const flood = Math.min(1, arg('flood', 0.5));
const vqps = Math.max(1, arg('vqps', 1_000_000));
const tableSize = arg('table', 1 << 20);
const names = arg('names', 0);
const rand = mulberry32(arg('seed', 1));

const mix = await queryMix({
  names, count: nQueries, rand, imageFile: join(process.cwd(), '.tmp', 'rrl-bench', `rrl-${names}.apl`),
});
const { tables, queries, all, workAt, starts } = mix;

// The source addresses, four bytes each: one address for the flood, the others in /24s of
// their own from 198.18.0.0/15 and beyond (the limiter only hashes them).
const src = new Uint8Array(queries.length * 4);
for (let i = 0; i < queries.length; i++) {
  const s = rand() < flood ? 0 : 1 + Math.floor(rand() * nSources);
  src.set([198, 18 + (s >> 16), (s >> 8) & 0xff, s & 0xff], i * 4);
  if (s !== 0) src[i * 4 + 3] = 1 + (i & 0x7f); // any host of that /24
}

const responder = new DnsResponder(tables);
const rrl = new ResponseRateLimiter({ size: tableSize });
/** A virtual clock in whole seconds (what decide() takes): it ticks every --vqps queries. */
class Clock {
  sec = 0;
  private inSec = 0;
  tick(): void {
    if (++this.inSec >= vqps) {
      this.inSec = 0;
      this.sec++;
    }
  }
}
const clock = new Clock();

const answerOnly = answerLoop(mix, responder);

function answerRrl(iterations: number): number {
  const nq = starts.length - 1;
  let sum = 0;
  for (let k = 0, i = 0; k < iterations; k++) {
    const s = starts[i]!, e = starts[i + 1]!;
    all.copyWithin(workAt, s, e);
    let n = responder.answer(all, workAt, e - s, WORK, TRANSPORT_UDP);
    if (n > 0) {
      const d = rrl.decide(src, i * 4, FAMILY_IPV4, responder.rrlClass, responder.rrlName, clock.sec);
      if (d === RRL_SLIP) n = responder.slip(all, workAt);
      else if (d !== 0) n = 0;
    }
    sum += n;
    clock.tick();
    if (++i === nq) i = 0;
  }
  return sum;
}

// The (class, name) of every query, for decide() alone.
const classes = new Int32Array(queries.length);
const nameHashes = new Int32Array(queries.length);
const byClass = new Map<string, number>();
for (let i = 0; i < queries.length; i++) {
  const s = starts[i]!, e = starts[i + 1]!;
  all.copyWithin(workAt, s, e);
  responder.answer(all, workAt, e - s, WORK, TRANSPORT_UDP);
  classes[i] = responder.rrlClass;
  nameHashes[i] = responder.rrlName;
  const c = rrlClassName(responder.rrlClass);
  byClass.set(c, (byClass.get(c) ?? 0) + 1);
}
const rrlAlone = new ResponseRateLimiter({ size: tableSize });
const clock2 = new Clock();
function decideOnly(iterations: number): number {
  const nq = queries.length;
  let sum = 0;
  for (let k = 0, i = 0; k < iterations; k++) {
    sum += rrlAlone.decide(src, i * 4, FAMILY_IPV4, classes[i]!, nameHashes[i]!, clock2.sec);
    clock2.tick();
    if (++i === nq) i = 0;
  }
  return sum;
}

let gcs = 0;
const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
obs.observe({ entryTypes: ['gc'] });

/** ns per call, per round: the loops interleaved round by round so that drift hits all alike. */
function time(loops: Array<(n: number) => number>): number[][] {
  const out = loops.map(() => [] as number[]);
  for (const f of loops) f(2_000_000); // warm up: let the JIT settle
  for (let round = 0; round < rounds; round++) {
    loops.forEach((f, li) => {
      const batch = 1_000_000;
      let done = 0;
      const t0 = performance.now();
      while (performance.now() < t0 + seconds * 1000 && done < 1e9) {
        f(batch);
        done += batch;
      }
      out[li]!.push(((performance.now() - t0) * 1e6) / done);
    });
  }
  return out;
}

const gcBefore = gcs;
const [tAnswer, tRrl, tDecide] = time([answerOnly, answerRrl, decideOnly]);
await new Promise((r) => setTimeout(r, 50)); // let the GC observer deliver
obs.disconnect();

const med = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const fmt = (v: number[]): string => `median ${med(v).toFixed(1)} ns (min ${Math.min(...v).toFixed(1)}, max ${Math.max(...v).toFixed(1)})`;
const c = rrl.counters;
const checked = c[0]!;
process.stdout.write([
  `image: ${tables.zoneCount} zones, ${tables.nameCount.toLocaleString('en-US')} names; query mix: ${queries.length} queries, classes ${[...byClass].map(([k, v]) => `${k} ${v}`).join(', ')}`,
  `sources: ${(flood * 100).toFixed(0)}% from one address, the rest from ${nSources.toLocaleString('en-US')} /24s; virtual rate ${vqps.toLocaleString('en-US')} q/s; table ${rrl.size.toLocaleString('en-US')} buckets (${(rrl.table.byteLength / 1048576).toFixed(0)} MiB)`,
  `answer() alone:           ${fmt(tAnswer!)} per answer`,
  `answer() + decide():      ${fmt(tRrl!)} per answer`,
  `difference:               ${(med(tRrl!) - med(tAnswer!)).toFixed(1)} ns per answer (${(((med(tRrl!) / med(tAnswer!)) - 1) * 100).toFixed(1)}%)`,
  `decide() alone:           ${fmt(tDecide!)} per call`,
  `decisions with RRL: ${checked.toLocaleString('en-US')} checked, ${((c[C_RRL_DROPPED]! / checked) * 100).toFixed(1)}% dropped, ${((c[C_RRL_SLIPPED]! / checked) * 100).toFixed(1)}% slipped, ${c[C_RRL_REPLACED]!.toLocaleString('en-US')} buckets replaced`,
  `garbage collections during the timed rounds: ${gcs - gcBefore}`,
  '',
].join('\n'));
