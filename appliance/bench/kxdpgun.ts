// kxdpgun (Knot DNS's AF_XDP load generator) as a runner: a bounded run from the client
// namespace, pinned to one CPU, its summary parsed. kxdpgun attaches its own XDP program
// through netlink and leaves it behind; the runner detaches it afterwards.

import { ApplianceError } from '../../basics/errors.js';
import type { Topology } from './netns.js';

export interface KxdpgunOptions {
  /** Destination (the server's address). */
  target: string;
  queryFile: string;
  /** Seconds of load (bounded: 1..60). */
  duration: number;
  /** Queries per second asked for. */
  qps: number;
  /** CPU for kxdpgun's thread (-F). */
  cpu: number;
  batch?: number;
  port?: number;
  /** Queries over TCP (-T): a connection per query. */
  tcp?: boolean;
}

export interface KxdpgunResult {
  sent: number;
  received: number;
  /** Answers per second over the run. */
  answeredPerSec: number;
  /** Queries per second actually sent. */
  sentPerSec: number;
  durationSec: number;
  raw: string;
}

export async function runKxdpgun(topo: Topology, o: KxdpgunOptions): Promise<KxdpgunResult> {
  const duration = Math.max(1, Math.min(60, Math.round(o.duration)));
  await topo.detachXdp(topo.client);
  const args = [
    '-t', String(duration), '-Q', String(o.qps), '-b', String(o.batch ?? (o.tcp ? 1 : 64)), '-F', String(o.cpu), ...(o.tcp ? ['-T'] : []),
    '-i', o.queryFile, '-I', topo.client.iface, '-l', topo.client.ipv4,
    '-L', topo.client.mac, '-R', topo.server.mac, '-p', String(o.port ?? 53), o.target,
  ];
  let raw: string;
  try {
    raw = await topo.run(topo.client.ns, 'kxdpgun', args, (duration + 20) * 1000);
  } finally {
    await topo.detachXdp(topo.client);
  }
  return { ...parseKxdpgun(raw), raw };
}

/** Reads kxdpgun's summary ("total queries: N (Q pps)", "total replies: N (R pps) (P%)"). */
export function parseKxdpgun(out: string): Omit<KxdpgunResult, 'raw'> {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(out);
    return m ? Number(m[1]) : undefined;
  };
  // Over TCP the summary counts SYNs (one connection, one query each) rather than queries.
  const sent = num(/total queries:\s+(\d+)/i) ?? num(/total SYNs:\s+(\d+)/i);
  const received = num(/total replies:\s+(\d+)/i);
  const durationMs = num(/duration:\s+(\d+)\s*(?:ms|msec)/i);
  const sentPps = num(/total (?:queries|SYNs):\s+\d+\s+\((\d+)\s+pps\)/i);
  const recvPps = num(/total replies:\s+\d+\s+\((\d+)\s+pps\)/i);
  if (sent === undefined || received === undefined) throw new ApplianceError('APPL_ERR_BENCH', `cannot read kxdpgun's summary:\n${out}`);
  const durationSec = durationMs !== undefined ? durationMs / 1000 : 0;
  return {
    sent,
    received,
    durationSec,
    sentPerSec: sentPps ?? (durationSec ? sent / durationSec : 0),
    answeredPerSec: recvPps ?? (durationSec ? received / durationSec : 0),
  };
}
