// The big zone of `bench dns --names N` and its query file.
//
// The zone is scripts/gen-zone.mjs's, the generator `bench zone-build` uses: N owner names
// under the origin (A, AAAA, MX, TXT, CNAME, a delegation every 10,000 names), addresses
// from 198.18.0.0/15 and 2001:db8::/32 only. The query file, in kxdpgun's "name type
// [flags]" lines, is drawn from that zone so that the lookups touch the whole table, not a
// hot corner of it:
//
//   about half   names that exist, each drawn uniformly over every eligible name of the
//                file (so every part of the file is equally likely); of those, most ask a
//                type the name has (CNAME owners: CNAME, or A answered through the CNAME)
//                and NODATA_SHARE ask a type it lacks (NODATA)
//   about half   names that do not exist (NXDOMAIN): a random label under the origin, or
//                a random label under an existing name, half each
//   half of all  with EDNS (kxdpgun's 'E' flag), as the small zone's mix has
//
// Names at or below a delegation are left out (they get referrals, neither answer nor
// NXDOMAIN). Everything is seeded: the same zone and seed give the same file.
//
// The generator reads the zone with a scanner of gen-zone's own dialect (one record per
// line, an owner in the first column or a blank for the last one, no parentheses across
// lines) rather than the build's parser: a million names are scanned in about a second,
// and the tests check its picks against the build's parser (test/appliance/bench/big-zone.test.ts).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApplianceError } from '../../basics/errors.js';

/** The big zone's origin: apart from the small zone's (bench.test), so one NSD can serve both for the reference answers. */
export const BIG_ZONE_ORIGIN = 'gen.test';

/** Lines of the big zone's query file: enough that each run of kxdpgun spreads its queries over the zone. */
export const BIG_MIX_LINES = 100_000;

/** Share of the existing-name lines that ask a type the name does not have. */
export const NODATA_SHARE = 0.2;

/** Types asked for NODATA: ordinary ones a name may lack (not DS, whose answer comes from the parent side). */
const NODATA_TYPES = ['A', 'AAAA', 'MX', 'TXT', 'SRV', 'CAA'];

/** scripts/gen-zone.mjs, from dist/ or from build/ (the project's root above either). */
export function genZoneScript(): string {
  for (const rel of ['../scripts/gen-zone.mjs', '../../scripts/gen-zone.mjs', '../../../scripts/gen-zone.mjs']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new ApplianceError('APPL_ERR_BENCH', 'scripts/gen-zone.mjs is missing (the bench runs from a clone of the project)');
}

/** Writes gen-zone's zone of `names` names to `out` (a child process, bounded in time). */
export async function generateZone(o: { names: number; seed: number; origin: string; out: string }): Promise<void> {
  // About 3 µs a name here; ten times that, and a minute besides, before it counts as stuck.
  const timeout = 60_000 + Math.ceil(o.names * 0.03);
  try {
    await promisify(execFile)(process.execPath, [genZoneScript(), '--names', String(o.names), '--seed', String(o.seed), '--origin', o.origin, '--out', o.out],
      { timeout, maxBuffer: 1 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new ApplianceError('APPL_ERR_BENCH', `scripts/gen-zone.mjs --names ${o.names} failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
}

/** mulberry32, as scripts/gen-zone.mjs: a number in [0, 1) per call, the same on every platform. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the query file is drawn from: the zone's names, as the scanner read them. */
export interface ZoneNames {
  /** Without the trailing dot, lower case. */
  origin: string;
  /** Owner names that answer for themselves (none at or below a delegation), in file order; absolute, lower case, no trailing dot. */
  names: string[];
  /** The types each of `names` holds (shared arrays: few combinations repeat over a million names). */
  types: ReadonlyArray<readonly string[]>;
  /** Every name that exists in the zone: owners, empty non-terminals, names at and below delegations. */
  exists: ReadonlySet<string>;
}

const TTL_OR_CLASS = /^(\d+[smhdw]?)+$|^(IN|CH|HS)$/i;

/** Reads owner names and their types from a zone in gen-zone's dialect (see the header). */
export function scanZone(text: string): ZoneNames {
  let origin = '';
  let owner = '';
  // Arrays, not sets: a name has one to four types, and a million sets cost far more.
  const typesOf = new Map<string, string[]>();
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    if (raw.trim() === '' || raw.trimStart().startsWith(';')) continue;
    if (raw.startsWith('$')) {
      const [dir, arg] = raw.split(/\s+/);
      if (dir === '$ORIGIN' && arg) origin = arg.replace(/\.$/, '').toLowerCase();
      else if (dir !== '$TTL') throw new ApplianceError('APPL_ERR_BENCH', `line ${lineNo}: ${dir} is not in scripts/gen-zone.mjs's dialect`);
      continue;
    }
    // The fields before any quoted text (a TXT's strings come after the type).
    const quote = raw.indexOf('"');
    const head = quote < 0 ? raw : raw.slice(0, quote);
    if (head.includes('(') && !head.includes(')')) throw new ApplianceError('APPL_ERR_BENCH', `line ${lineNo}: a record across lines is not in scripts/gen-zone.mjs's dialect`);
    const fields = head.trim().split(/\s+/);
    if (!/^\s/.test(raw)) {
      const o = fields.shift()!.toLowerCase();
      owner = o === '@' ? origin : o.endsWith('.') ? o.slice(0, -1) : `${o}.${origin}`;
    }
    if (owner === '' || origin === '') throw new ApplianceError('APPL_ERR_BENCH', `line ${lineNo}: a record before $ORIGIN and an owner`);
    const type = fields.find((f) => !TTL_OR_CLASS.test(f))?.toUpperCase();
    if (type === undefined) throw new ApplianceError('APPL_ERR_BENCH', `line ${lineNo}: no type`);
    if (type === 'DNAME' || owner.startsWith('*.')) {
      // A DNAME or a wildcard would make names below it exist that the scanner cannot list.
      throw new ApplianceError('APPL_ERR_BENCH', `line ${lineNo}: ${type === 'DNAME' ? 'DNAME' : 'a wildcard'} is not in scripts/gen-zone.mjs's dialect`);
    }
    const list = typesOf.get(owner);
    if (list === undefined) typesOf.set(owner, [type]);
    else if (!list.includes(type)) list.push(type);
  }
  if (origin === '') throw new ApplianceError('APPL_ERR_BENCH', 'the zone has no $ORIGIN');

  const exists = new Set<string>();
  const suffix = `.${origin}`;
  for (const name of typesOf.keys()) {
    if (name !== origin && !name.endsWith(suffix)) throw new ApplianceError('APPL_ERR_BENCH', `${name} is outside the zone ${origin}`);
    // The name and each of its ancestors down to the origin (empty non-terminals).
    for (let n = name; !exists.has(n); n = n.slice(n.indexOf('.') + 1)) {
      exists.add(n);
      if (n === origin) break;
    }
  }
  const cuts = new Set<string>();
  for (const [name, list] of typesOf) if (name !== origin && list.includes('NS')) cuts.add(name);
  const underCut = (name: string): boolean => {
    for (let n = name; n !== origin; n = n.slice(n.indexOf('.') + 1)) if (cuts.has(n)) return true;
    return false;
  };
  const shared = new Map<string, readonly string[]>();
  const names: string[] = [];
  const types: Array<readonly string[]> = [];
  for (const [name, list] of typesOf) {
    if (cuts.size > 0 && underCut(name)) continue;
    const key = list.join(' ');
    let t = shared.get(key);
    if (t === undefined) shared.set(key, (t = list));
    names.push(name);
    types.push(t);
  }
  return { origin, names, types, exists };
}

export type MixKind = 'existing' | 'nodata' | 'nxdomain';

export interface MixLine {
  /** Absolute, without the trailing dot. */
  name: string;
  type: string;
  edns: boolean;
  kind: MixKind;
}

export interface QueryFile {
  lines: MixLine[];
  /** kxdpgun's input: "name. TYPE[ E]" a line. */
  text: string;
  counts: Record<MixKind, number>;
}

/** A label that gen-zone never makes (its names are h<digits>, ns1, ns2, mail and department names). */
function randomLabel(rand: () => number): string {
  let s = 'nx-';
  for (let i = 0; i < 8; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 36)];
  return s;
}

/** The query file drawn from a scanned zone: `lines` lines, seeded (see the header for the mix). */
export function makeQueryFile(z: ZoneNames, o: { lines: number; seed: number }): QueryFile {
  if (z.names.length === 0) throw new ApplianceError('APPL_ERR_BENCH', `the zone ${z.origin} has no names to ask for`);
  // Not the zone's own stream: the zone and the mix of one seed are drawn independently.
  const rand = mulberry32(Math.imul(o.seed ^ 0x5bd1e995, 0x9e3779b1));
  const pick = (): number => Math.floor(rand() * z.names.length);
  const lines: MixLine[] = [];
  const counts: Record<MixKind, number> = { existing: 0, nodata: 0, nxdomain: 0 };
  for (let i = 0; i < o.lines; i++) {
    const edns = rand() < 0.5;
    let line: MixLine;
    if (rand() < 0.5) {
      const k = pick();
      const name = z.names[k]!;
      const has = z.types[k]!;
      const lacks = has.includes('CNAME') ? [] : NODATA_TYPES.filter((t) => !has.includes(t));
      if (lacks.length > 0 && rand() < NODATA_SHARE) {
        line = { name, type: lacks[Math.floor(rand() * lacks.length)]!, edns, kind: 'nodata' };
      } else if (has.includes('CNAME')) {
        // A at a CNAME owner is answered through the CNAME (the chase); CNAME itself is not.
        line = { name, type: rand() < 0.5 ? 'CNAME' : 'A', edns, kind: 'existing' };
      } else {
        line = { name, type: has[Math.floor(rand() * has.length)]!, edns, kind: 'existing' };
      }
    } else {
      const under = rand() < 0.5 ? z.origin : z.names[pick()]!;
      let name = `${randomLabel(rand)}.${under}`;
      // Eight random characters collide with a name of the zone about never; a collision is redrawn all the same.
      while (z.exists.has(name)) name = `${randomLabel(rand)}.${under}`;
      line = { name, type: rand() < 0.5 ? 'A' : 'AAAA', edns, kind: 'nxdomain' };
    }
    counts[line.kind]++;
    lines.push(line);
  }
  const text = lines.map((l) => `${l.name}. ${l.type}${l.edns ? ' E' : ''}`).join('\n') + '\n';
  return { lines, text, counts };
}
