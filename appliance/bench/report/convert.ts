// Each bench's result, as the figures of the results file (results.ts).

import type { DnsBenchResult } from '../dns-xdp.js';
import type { DnsSocketBenchResult } from '../dns-socket.js';
import type { DnsTcpBenchResult } from '../dns-tcp.js';
import { HTTP_LOAD_INFO, type HttpBenchResult } from '../http-xdp.js';
import type { ReflectorBenchResult } from '../reflector-bench.js';
import type { DnsSocketFigures, DnsTcpFigures, DnsUdpFigures, HttpFigures, HttpSocketFigures, Pinning, ReflectorFigures } from './results.js';

const TCP_MODES: Record<string, string> = { 'per-query': 'a connection per query', reuse: 'connections reused', udp: 'UDP (the same generator)' };
const TCP_SERVERS: Record<string, string> = { appliance: 'appliance (fused TCP)', knot: 'Knot DNS (XDP)', nsd: 'NSD (kernel TCP)' };
const HTTP_SERVERS: Record<string, string> = { nginx: 'nginx', socket: 'appliance, socket backend', fused: 'appliance, fused (AF_XDP)' };

export function dnsUdpFigures(r: Pick<DnsBenchResult, 'rows' | 'wrong' | 'bigZone'>, o: Pinning & { seconds: number; qps: number; command: string }): DnsUdpFigures {
  const z = r.bigZone;
  return {
    kind: 'dns-udp', command: o.command, seconds: o.seconds, qps: o.qps, serverCpu: o.serverCpu, loadCpu: o.loadCpu, wrong: r.wrong,
    ...(z ? { names: z.names, seed: z.seed, queryLines: z.queryLines } : {}),
    rows: r.rows.map((x) => ({ server: x.server, names: x.names, answers: x.rounds, busy: x.busy, note: x.note })),
  };
}

export function dnsSocketFigures(r: DnsSocketBenchResult, o: Pinning & { seconds: number; command: string }): DnsSocketFigures {
  return {
    kind: 'dns-socket', command: o.command, seconds: o.seconds, serverCpu: o.serverCpu, loadCpu: o.loadCpu, mismatches: r.mismatches.length,
    rows: [{ server: 'NSD', answers: r.nsd }, ...r.byWorkers.map((b) => ({
      server: b.workers === 0 ? 'appliance, node:dgram' : `appliance, ${b.workers} worker${b.workers === 1 ? '' : 's'}`, answers: b.answers,
    }))],
  };
}

export function dnsTcpFigures(r: DnsTcpBenchResult, o: Pinning & { seconds: number; command: string }): DnsTcpFigures {
  const rows: DnsTcpFigures['rows'] = [];
  for (const [key, samples] of r.samples) {
    const [mode, server] = key.split('/') as [string, string];
    rows.push({ server: TCP_SERVERS[server] ?? server, mode: TCP_MODES[mode] ?? mode, answers: samples.map((s) => s.answered), busy: samples.map((s) => s.busy) });
  }
  return { kind: 'dns-tcp', command: o.command, seconds: o.seconds, serverCpu: o.serverCpu, loadCpu: o.loadCpu, wrong: r.wrong, rows };
}

export function httpFigures(r: HttpBenchResult, o: Pinning & { seconds: number; connections: number; command: string }): HttpFigures {
  const rows: HttpFigures['rows'] = [];
  for (const [load, byServer] of r.results) {
    const info = HTTP_LOAD_INFO[load];
    for (const [server, samples] of byServer) {
      rows.push({
        load, what: info.what, fileBytes: info.bytes, mode: info.mode, server: HTTP_SERVERS[server] ?? server,
        rounds: samples.map((s) => ({ rps: s.rps, gbps: s.gbps, p50Ms: s.p50Ms, p99Ms: s.p99Ms, busy: s.busy, procUs: s.procUs, errors: s.errors })),
      });
    }
  }
  return { kind: 'http', command: o.command, seconds: o.seconds, connections: o.connections, serverCpu: o.serverCpu, loadCpu: o.loadCpu, rows };
}

export function httpSocketFigures(r: { nginx: number[]; appliance: number[] }, o: Pinning & { seconds: number; connections: number; fileBytes: number; command: string }): HttpSocketFigures {
  return {
    kind: 'http-socket', command: o.command, seconds: o.seconds, connections: o.connections, fileBytes: o.fileBytes, serverCpu: o.serverCpu, loadCpu: o.loadCpu,
    rows: [{ server: 'nginx', rps: r.nginx }, { server: 'appliance (socket backend)', rps: r.appliance }],
  };
}

export function reflectorFigures(r: ReflectorBenchResult, serverCpu: number): ReflectorFigures {
  return {
    kind: 'reflector', command: r.command, seconds: r.duration, qps: r.qps, serverCpu, loadCpu: r.loadCpu,
    rows: r.figures.map((f) => ({ server: f.server, answers: f.rounds })),
  };
}
