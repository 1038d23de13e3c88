// A bounded UDP burst to run inside a test namespace (the test process itself cannot enter one):
//   node build/test/helpers/dns-burst.js IN.json OUT.json
// IN.json: { host, port, query: hex, count, spanMs }: `count` copies of the query (IDs
// 0..count-1) from one socket, spread evenly over spanMs (stopped at spanMs + 2 s whatever
// was sent), answers waited for 800 ms after. OUT.json: { sent, whole, truncated, dropped }.

import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';

export interface BurstResult { sent: number; whole: number; truncated: number; dropped: number }

/** The burst itself; `source`: the address to send from (default: any). */
export async function udpBurst(host: string, port: number, query: Buffer, count: number, spanMs: number, source?: string): Promise<BurstResult> {
  if (count > 65536) throw new Error('IDs are 16 bits');
  const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, source, () => resolve());
  });
  const got: Array<Buffer | null> = new Array(count).fill(null);
  s.on('message', (m) => {
    const id = m.readUInt16BE(0);
    if (id < count && got[id] === null) got[id] = m;
  });
  const t0 = Date.now();
  let i = 0;
  while (i < count && Date.now() - t0 < spanMs + 2000) {
    const due = Math.min(count, Math.floor(((Date.now() - t0 + 1) * count) / spanMs));
    for (; i < due; i++) {
      const q = Buffer.from(query);
      q.writeUInt16BE(i, 0);
      s.send(q, port, host);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 800));
  s.close();
  const out: BurstResult = { sent: i, whole: 0, truncated: 0, dropped: 0 };
  for (let k = 0; k < i; k++) {
    const m = got[k];
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
