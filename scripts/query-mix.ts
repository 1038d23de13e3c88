// The query mix of the DNS micro-benchmarks (bench-dns-lookup.ts, bench-rrl.ts): an image
// of fixtures/zones (plus a generated zone of `names` names, written once to
// .tmp/zone-bench/ and reused), and `count` queries over it, each its own ID, names in
// mixed case half of the time, EDNS (DO on half of those) on half: 50% existing names (a
// type the name has, or A/AAAA/MX/TXT), 20% NXDOMAIN, 15% wildcard answers, 10% below a
// delegation (referrals), 5% outside every zone (REFUSED).
//
// The queries stand back to back in one buffer with a work area after them: a benchmark
// moves a query into the work area with copyWithin (a memmove, no allocation; on the wire
// the NIC puts it there) and answers it in place, so the copy is timed as in a transport.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TRANSPORT_UDP, type DnsResponder } from '../appliance/dns/responder.js';
import { DnsTables } from '../appliance/dns/tables.js';
import { buildImage } from '../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../specializers/http/compile.js';
import { loadImage } from '../specializers/image/format.js';
import { buildModel, loadZones, typesOf } from '../specializers/dns/model.js';
import { T } from '../specializers/dns/rr-types.js';

const ROOT = process.cwd();
const GEN_ORIGIN = 'gen.test';
/** Bytes of the work area after the queries. */
export const WORK = 4096;

/** `--name N` from the command line, `def` when absent; exits 2 on what is not a number. */
export function numberArg(prog: string, name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`${prog}: --${name} needs a number\n`);
    process.exit(2);
  }
  return v;
}

/** mulberry32, as scripts/gen-zone.mjs (the benches' one copy in TypeScript). */
export { mulberry32 } from '../appliance/bench/big-zone.js';

export interface QueryMix {
  tables: DnsTables;
  queries: Uint8Array[];
  /** Every query back to back, then WORK bytes of work area at `workAt`. */
  all: Uint8Array;
  workAt: number;
  /** Query i is all[starts[i], starts[i + 1]). */
  starts: Uint32Array;
  built: Awaited<ReturnType<typeof buildImage>>;
}

/** The image (built to `imageFile`) and the mix of `count` queries, drawn with `rand`. */
export async function queryMix(opts: { names: number; count: number; rand: () => number; imageFile: string }): Promise<QueryMix> {
  const { names, count, rand, imageFile } = opts;
  const pick = <X>(xs: X[]): X => xs[Math.floor(rand() * xs.length)]!;
  const zoneDir = join(ROOT, 'fixtures', 'zones');
  const zoneFiles = readdirSync(zoneDir).filter((f) => f.endsWith('.zone')).sort().map((f) => join(zoneDir, f));
  const specs = zoneFiles.map((file) => ({ origin: null as string | null, file }));
  if (names > 0) {
    const genDir = join(ROOT, '.tmp', 'zone-bench');
    const gen = join(genDir, `gen-${names}-seed1-${GEN_ORIGIN}.zone`);
    if (!existsSync(gen)) {
      mkdirSync(genDir, { recursive: true });
      process.stderr.write(`generating ${gen} ...\n`);
      const g = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-zone.mjs'), '--names', String(names), '--origin', GEN_ORIGIN, '--out', gen], { stdio: 'inherit' });
      if (g.status !== 0) process.exit(1);
    }
    specs.push({ origin: GEN_ORIGIN, file: gen });
  }
  mkdirSync(dirname(imageFile), { recursive: true });
  process.stderr.write(`building ${imageFile} ...\n`);
  const built = await buildImage({ sites: [], zones: specs, output: imageFile, http: { ...DEFAULT_HTTP_OPTIONS } });
  const tables = new DnsTables(loadImage(imageFile));

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
  const nxOrigin = names > 0 ? wire(GEN_ORIGIN) : wire('example.com');
  const mixCase = (name: Uint8Array): Uint8Array => {
    const out = Uint8Array.from(name);
    for (let i = 0; i < out.length; i++) {
      const c = out[i]!;
      if (c >= 0x61 && c <= 0x7a && rand() < 0.5) out[i] = c ^ 0x20;
    }
    return out;
  };

  const COMMON = [T.A, T.AAAA, T.MX, T.TXT];
  const queries: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    let name: Uint8Array;
    let qtype: number = pick(COMMON);
    if (r < 0.5) {
      const e = pick(existing);
      name = e.name;
      if (rand() < 0.5) qtype = pick(e.types);
    } else if (r < 0.7) {
      name = join2(label(`nx${i}`), nxOrigin);
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

  const total = queries.reduce((s, q) => s + q.length, 0);
  const all = new Uint8Array(total + WORK);
  const starts = new Uint32Array(queries.length + 1);
  for (let i = 0, at = 0; i < queries.length; i++) {
    all.set(queries[i]!, at);
    starts[i] = at;
    at += queries[i]!.length;
    starts[i + 1] = at;
  }
  return { tables, queries, all, workAt: total, starts, built };
}

/** A loop of `iterations` answers over the mix, round and round: each query moved into the work area and answered in place. */
export function answerLoop(mix: QueryMix, responder: DnsResponder): (iterations: number) => number {
  const { all, starts, workAt } = mix;
  const nq = starts.length - 1;
  return (iterations) => {
    let sum = 0;
    for (let k = 0, i = 0; k < iterations; k++) {
      const s = starts[i]!, e = starts[i + 1]!;
      all.copyWithin(workAt, s, e);
      sum += responder.answer(all, workAt, e - s, WORK, TRANSPORT_UDP);
      if (++i === nq) i = 0;
    }
    return sum;
  };
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
