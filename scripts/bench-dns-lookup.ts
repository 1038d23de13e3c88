// Micro-benchmark of the DNS answer table: DnsResponder.answer() in a loop, on one core,
// over a fixed query mix, with the image built from fixtures/zones plus a generated zone
// (scripts/gen-zone.mjs) so that the name table is not all in cache. A benchmark: it
// prints numbers and asserts nothing.
//
//   node build.mjs --tests && taskset -c 1 node build/scripts/bench-dns-lookup.js \
//        [--names 1000000] [--seconds 2] [--rounds 3] [--queries 16384] [--seed 1]
//
// The query mix (each query its own ID, names in mixed case half of the time, EDNS with
// DO on half of them): 50% existing names (a random name of the generated zone or of the
// fixtures, with a type it has or A/AAAA/MX/TXT), 20% NXDOMAIN, 15% wildcard answers,
// 10% below a delegation (referrals), 5% outside every zone (REFUSED). Each iteration
// copies the query into the work buffer (the responder answers in place) and answers it;
// the copy is part of what is timed, as it is in every transport.
//
// The generated zone is written once to .tmp/zone-bench/ (not in git) and reused.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import { DnsResponder, TRANSPORT_UDP, C_ANSWERED, C_NXDOMAIN, C_REFUSED, C_FORMERR } from '../appliance/dns/responder.js';
import { DnsTables } from '../appliance/dns/tables.js';
import { buildImage } from '../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../specializers/http/compile.js';
import { loadImage } from '../specializers/image/format.js';
import { buildModel, loadZones, typesOf } from '../specializers/dns/model.js';
import { T } from '../specializers/dns/rr-types.js';
import * as D from '../specializers/dns/layout.js';

const ROOT = process.cwd();
const GEN_ORIGIN = 'gen.test';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`bench-dns-lookup: --${name} needs a number\n`);
    process.exit(2);
  }
  return v;
}

const names = arg('names', 1_000_000);
const seconds = arg('seconds', 2);
const rounds = arg('rounds', 3);
const nQueries = arg('queries', 16384);
let seed = arg('seed', 1) >>> 0;

function rand(): number {
  // mulberry32, as scripts/gen-zone.mjs
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <X>(xs: X[]): X => xs[Math.floor(rand() * xs.length)]!;

const dir = join(ROOT, '.tmp', 'zone-bench');
mkdirSync(dir, { recursive: true });
const zoneFiles = readdirSync(join(ROOT, 'fixtures', 'zones')).filter((f) => f.endsWith('.zone')).sort().map((f) => join(ROOT, 'fixtures', 'zones', f));
const specs = zoneFiles.map((file) => ({ origin: null as string | null, file }));
if (names > 0) {
  const gen = join(dir, `gen-${names}-seed1-${GEN_ORIGIN}.zone`);
  if (!existsSync(gen)) {
    process.stderr.write(`generating ${gen} ...\n`);
    const g = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-zone.mjs'), '--names', String(names), '--origin', GEN_ORIGIN, '--out', gen], { stdio: 'inherit' });
    if (g.status !== 0) process.exit(1);
  }
  specs.push({ origin: GEN_ORIGIN, file: gen });
}
const imageFile = join(dir, `lookup-${names}.apl`);
process.stderr.write(`building ${imageFile} ...\n`);
const built = await buildImage({ sites: [], zones: specs, output: imageFile, http: { ...DEFAULT_HTTP_OPTIONS } });
const tables = new DnsTables(loadImage(imageFile));

// The query mix, from the names the model holds.
const { parsed } = loadZones(specs);
const model = buildModel(parsed);
const existing: Array<{ name: Uint8Array; types: number[] }> = [];
const cuts: Uint8Array[] = [];
for (const n of model.nodes.values()) {
  if (n.isCut) cuts.push(n.name);
  if (n.recCount === 0 || n.cutAbove || n.isCut || n.name[0] === 1 && n.name[1] === 0x2a) continue;
  existing.push({ name: n.name, types: typesOf(n) });
}
const label = (s: string): Uint8Array => Uint8Array.of(s.length, ...Buffer.from(s, 'latin1'));
const join2 = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const wire = (text: string): Uint8Array => join2(...text.split('.').filter(Boolean).map(label), Uint8Array.of(0));
const wildParents = ['wild.example.com', 'apps.sub.example.com'].map(wire);
const genOrigin = wire(GEN_ORIGIN);

function mixCase(name: Uint8Array): Uint8Array {
  const out = Uint8Array.from(name);
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c >= 0x61 && c <= 0x7a && rand() < 0.5) out[i] = c ^ 0x20;
  }
  return out;
}

function query(id: number, name: Uint8Array, qtype: number, edns: boolean, dnssecOk: boolean): Uint8Array {
  const q = new Uint8Array(12 + name.length + 4 + (edns ? 11 : 0));
  const v = new DataView(q.buffer);
  v.setUint16(0, id);
  v.setUint16(2, 0x0100);
  v.setUint16(4, 1);
  v.setUint16(10, edns ? 1 : 0);
  q.set(name, 12);
  let p = 12 + name.length;
  v.setUint16(p, qtype);
  v.setUint16(p + 2, 1);
  p += 4;
  if (edns) {
    v.setUint16(p + 1, 41);
    v.setUint16(p + 3, 1232);
    v.setUint16(p + 7, dnssecOk ? 0x8000 : 0);
  }
  return q;
}

const COMMON = [T.A, T.AAAA, T.MX, T.TXT];
const queries: Uint8Array[] = [];
for (let i = 0; i < nQueries; i++) {
  const r = rand();
  let name: Uint8Array;
  let qtype: number = pick(COMMON);
  if (r < 0.5) {
    const e = pick(existing);
    name = e.name;
    if (rand() < 0.5) qtype = pick(e.types);
  } else if (r < 0.7) {
    name = join2(label(`nx${i}`), names > 0 ? genOrigin : wire('example.com'));
  } else if (r < 0.85) {
    name = join2(label(`w${i}`), pick(wildParents));
  } else if (r < 0.95 && cuts.length > 0) {
    name = join2(label(`www${i}`), pick(cuts));
  } else {
    name = wire(`host${i}.example.invalid`);
  }
  if (rand() < 0.5) name = mixCase(name);
  const edns = rand() < 0.5;
  queries.push(query(i & 0xffff, name, qtype, edns, edns && rand() < 0.5));
}

// One buffer holds every query back to back, and the work area after them: a query is
// moved into the work area with copyWithin (a memmove, no allocation; on the wire the NIC
// puts it there) and answered in place.
const WORK = 4096;
const total = queries.reduce((s, q) => s + q.length, 0);
const all = new Uint8Array(total + WORK);
const workAt = total;
const starts = new Uint32Array(queries.length + 1);
for (let i = 0, at = 0; i < queries.length; i++) {
  all.set(queries[i]!, at);
  starts[i] = at;
  at += queries[i]!.length;
  starts[i + 1] = at;
}

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

function run(iterations: number): number {
  const nq = starts.length - 1;
  let sum = 0;
  for (let k = 0, i = 0; k < iterations; k++) {
    const s = starts[i]!, e = starts[i + 1]!;
    all.copyWithin(workAt, s, e);
    sum += responder.answer(all, workAt, e - s, WORK, TRANSPORT_UDP);
    if (++i === nq) i = 0;
  }
  return sum;
}

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

const c = responder.counters;
const m = (x: number): string => (x / 1e6).toFixed(2);
const sorted = [...rates].sort((a, b) => a - b);
process.stdout.write([
  `image: ${built.dns!.zones.length} zones, ${tables.nameCount.toLocaleString('en-US')} names, ${built.dns!.templates.toLocaleString('en-US')} templates (${(built.size / 1048576).toFixed(1)} MiB)`,
  `query mix: ${queries.length} queries; first pass: ${c0[C_ANSWERED]} answered (${c0[C_NXDOMAIN]} NXDOMAIN), ${c0[C_REFUSED]} REFUSED, ${c0[C_FORMERR]} FORMERR; ${bad} did not decode`,
  `answer() on one core: ${rounds} rounds of ${seconds} s: median ${m(sorted[rounds >> 1]!)} M/s (min ${m(sorted[0]!)}, max ${m(sorted[rounds - 1]!)})`,
  `table lookups alone (name → template, closest encloser for names that do not exist): median ${m(lookupRates[rounds >> 1]!)} M/s (min ${m(lookupRates[0]!)}, max ${m(lookupRates[rounds - 1]!)})`,
  `garbage collections during the timed rounds: ${gcs - gcBefore}; answered in all: ${c[C_ANSWERED]!.toLocaleString('en-US')}`,
  '',
].join('\n'));
