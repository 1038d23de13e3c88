// A bounded UDP burst to run inside a test namespace (the test process itself cannot enter one):
//   node build/test/helpers/dns-burst.js IN.json OUT.json
// IN.json: { host, port, query: hex, count, spanMs }: `count` copies of the query (IDs
// 0..count-1) from one socket, spread evenly over spanMs (stopped at spanMs + 2 s whatever
// was sent), answers waited for 800 ms after. OUT.json: { sent, whole, truncated, dropped }.

import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';

export interface BurstResult { sent: number; whole: number; truncated: number; dropped: number }

export interface PacedRun {
  /** How many were sent (all, unless the span plus 2 s ran out first). */
  sent: number;
  /** When each was sent (Date.now()). */
  sentAt: number[];
  /** The first answer to each, by ID. */
  responses: Array<Buffer | null>;
}

/**
 * Sends queries[i] (its ID set to i) to host:port from a socket bound to
 * sources[sourceOf(i)] (undefined: any address), spread evenly over `spanMs`: bounded by the
 * count and by spanMs + 2 s; answers are waited for 800 ms after.
 */
export async function pacedQueries(host: string, port: number, queries: Buffer[], sources: Array<string | undefined>, sourceOf: (i: number) => number, spanMs: number): Promise<PacedRun> {
  const n = queries.length;
  if (n > 65536) throw new Error('IDs are 16 bits');
  const socks = await Promise.all(sources.map((source) => new Promise<dgram.Socket>((resolve, reject) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, source, () => resolve(s));
  })));
  const responses: Array<Buffer | null> = new Array(n).fill(null);
  const sentAt: number[] = new Array(n).fill(0);
  for (const s of socks) {
    s.on('message', (m) => {
      const id = m.readUInt16BE(0);
      if (id < n && responses[id] === null) responses[id] = m;
    });
  }
  const t0 = Date.now();
  let i = 0;
  while (i < n && Date.now() - t0 < spanMs + 2000) {
    const due = Math.min(n, Math.floor(((Date.now() - t0 + 1) * n) / spanMs));
    for (; i < due; i++) {
      const q = Buffer.from(queries[i]!);
      q.writeUInt16BE(i, 0);
      sentAt[i] = Date.now();
      socks[sourceOf(i)]!.send(q, port, host);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 800));
  for (const s of socks) s.close();
  return { sent: i, sentAt, responses };
}

/** `count` copies of one query from one socket; `source`: the address to send from (default: any). */
export async function udpBurst(host: string, port: number, query: Buffer, count: number, spanMs: number, source?: string): Promise<BurstResult> {
  const run = await pacedQueries(host, port, new Array<Buffer>(count).fill(query), [source], () => 0, spanMs);
  const out: BurstResult = { sent: run.sent, whole: 0, truncated: 0, dropped: 0 };
  for (let k = 0; k < run.sent; k++) {
    const m = run.responses[k];
    if (m == null) out.dropped++;
    else if (m.readUInt16BE(2) & 0x0200) out.truncated++;
    else out.whole++;
  }
  return out;
}

const [inFile, outFile] = process.argv.slice(2);
if (inFile && outFile && process.argv[1]?.endsWith('dns-burst.js')) {
  const job = JSON.parse(readFileSync(inFile, 'utf8')) as { host: string; port: number; query: string; count: number; spanMs: number };
  const r = await udpBurst(job.host, job.port, Buffer.from(job.query, 'hex'), Math.min(job.count, 65536), Math.min(job.spanMs, 10_000));
  writeFileSync(outFile, JSON.stringify(r));
}
