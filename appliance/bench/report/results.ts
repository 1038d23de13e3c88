// The figures of the benches as data: what `--json FILE` writes for one bench and what
// `bench report` gathers into results.json (every figure of every round, the command that
// measured it, the pinned CPUs, the machine and the versions of every peer), so that a run
// on one machine can be drawn on another (`bench report --from`).

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { ApplianceError } from '../../../basics/errors.js';

export const RESULTS_VERSION = 1;

export interface Pinning {
  serverCpu: number;
  loadCpu: number;
}

/** DNS over UDP through the fused path and its peers (bench dns): answers/s per round. */
export interface DnsUdpFigures extends Pinning {
  kind: 'dns-udp';
  command: string;
  seconds: number;
  /** What kxdpgun was asked for. */
  qps: number;
  /** With --names: the generated zone's names, gen-zone's seed, and the lines of the query file drawn from it. */
  names?: number;
  seed?: number;
  queryLines?: number;
  /** names: of the zone the row served (a run with --names has rows on the small zone too; files from before it have none). */
  rows: Array<{ server: string; names?: number; answers: number[]; busy: number[]; note: string }>;
  wrong: number;
}

/** DNS over kernel sockets on loopback (bench dns-socket). */
export interface DnsSocketFigures extends Pinning {
  kind: 'dns-socket';
  command: string;
  seconds: number;
  rows: Array<{ server: string; answers: number[] }>;
  mismatches: number;
}

/** DNS over TCP (bench dns --transport tcp): per server and mode. */
export interface DnsTcpFigures extends Pinning {
  kind: 'dns-tcp';
  command: string;
  seconds: number;
  rows: Array<{ server: string; mode: string; answers: number[]; busy: number[] }>;
  wrong: number;
}

export interface HttpRound {
  rps: number;
  gbps: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of the server CPU busy; the server process's CPU µs per request. */
  busy: number;
  procUs: number;
  errors: number;
}

/** HTTP by file size and connection mode (bench http). */
export interface HttpFigures extends Pinning {
  kind: 'http';
  command: string;
  seconds: number;
  connections: number;
  rows: Array<{ load: string; what: string; fileBytes: number; mode: 'keep-alive' | 'close' | 'pipelined'; server: string; rounds: HttpRound[] }>;
}

/** Building a big zone against nsd-checkzone (bench zone-build). */
export interface ZoneBuildFigures {
  kind: 'zone-build';
  command: string;
  names: number;
  zoneBytes: number;
  rows: Array<{ tool: string; seconds: number[]; rssMB: number[] }>;
}

/** HTTP over kernel sockets on loopback (bench http-socket): requests/s per round. */
export interface HttpSocketFigures extends Pinning {
  kind: 'http-socket';
  command: string;
  seconds: number;
  connections: number;
  fileBytes: number;
  rows: Array<{ server: string; rps: number[] }>;
}

/** The bare reflector against Knot and NSD (bench reflector): the AF_XDP path's ceiling. */
export interface ReflectorFigures extends Pinning {
  kind: 'reflector';
  command: string;
  seconds: number;
  qps: number;
  rows: Array<{ server: string; answers: number[] }>;
}

export type Figures = DnsUdpFigures | DnsSocketFigures | DnsTcpFigures | HttpFigures | ZoneBuildFigures | HttpSocketFigures | ReflectorFigures;
export type FiguresKind = Figures['kind'];

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  /** Version lines of the peers and generators (null: not installed). */
  tools: Record<string, string | null>;
}

export interface Results {
  version: number;
  generatedAt: string;
  mode: 'quick' | 'full' | 'single';
  machine: Machine;
  figures: Figures[];
  /** What was not measured, and why (a bench that failed, a tool missing). */
  notes: string[];
}

/** The first line a command prints for its version (stdout or stderr), or null when it is not there. */
/** The first line a tool prints for its version, on stdout or stderr (nginx -v and nsd -v use stderr, with status 0), or null when it is not installed. */
function versionOf(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? null;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    tools: {
      nginx: versionOf('nginx', ['-v']),
      nsd: versionOf('nsd', ['-v']),
      knot: versionOf('knotd', ['--version']),
      wrk: versionOf('wrk', ['--version']),
      kxdpgun: versionOf('kxdpgun', ['--version']),
      dnsperf: versionOf('dnsperf', ['-h'])?.replace(/^.*?(DNS Performance Testing Tool)?\s*/, '') ?? null,
    },
  };
}

export function newResults(mode: Results['mode']): Results {
  return { version: RESULTS_VERSION, generatedAt: new Date().toISOString(), mode, machine: machine(), figures: [], notes: [] };
}

export function writeResults(file: string, r: Results): void {
  writeFileSync(file, JSON.stringify(r, null, 1) + '\n');
}

/** One bench's figures as a results file of its own (`--json FILE`). */
export function writeFigures(file: string, f: Figures): void {
  const r = newResults('single');
  r.figures.push(f);
  writeResults(file, r);
}

/** A results file, checked enough to draw from: its version and the shape of each figure set. */
export function readResults(file: string): Results {
  let r: Results;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Results;
  } catch (e) {
    throw new ApplianceError('APPL_ERR_USAGE', `${file}: not a results file (${(e as Error).message})`);
  }
  if (typeof r !== 'object' || r === null || r.version !== RESULTS_VERSION || !Array.isArray(r.figures)) {
    throw new ApplianceError('APPL_ERR_USAGE', `${file}: not a results file of version ${RESULTS_VERSION} (written by bench report or a bench's --json)`);
  }
  const kinds: FiguresKind[] = ['dns-udp', 'dns-socket', 'dns-tcp', 'http', 'zone-build', 'http-socket', 'reflector'];
  r.figures.forEach((f, i) => {
    if (!kinds.includes(f.kind) || !Array.isArray((f as { rows?: unknown }).rows)) {
      throw new ApplianceError('APPL_ERR_USAGE', `${file}: figures[${i}] is not one of ${kinds.join(', ')} with rows`);
    }
  });
  r.notes ??= [];
  return r;
}

/** Merges the figures of several results files (the later wins for a kind given twice). */
export function mergeResults(into: Results, from: Results): void {
  for (const f of from.figures) {
    into.figures = into.figures.filter((g) => g.kind !== f.kind);
    into.figures.push(f);
  }
  into.notes.push(...from.notes);
}
