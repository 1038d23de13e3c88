// A probe across reloads, run where the server can be reached (inside a test namespace for
// the xdp backend):  node build/test/helpers/reload-probe.js IN.json
// IN.json: { host, httpPort, dnsPort, zone, path, everyMs }. Every `everyMs` it sends one DNS
// query (the zone's SOA, UDP) and one HTTP request (GET path, on one keep-alive connection; none when httpPort is 0)
// until its stdin closes, then prints one JSON line: what was sent, answered and lost, and
// the SOA serials and HTTP bodies seen, in the order they came.

import dgram from 'node:dgram';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';

export interface ProbeResult {
  dns: { sent: number; answered: number; lost: number; wrong: number; serials: number[] };
  http: { sent: number; answered: number; lost: number; errors: string[]; bodies: string[] };
}

/** Consecutive duplicates dropped: [1, 1, 2, 2, 2, 3] → [1, 2, 3]. */
function push<T>(list: T[], v: T): void {
  if (list[list.length - 1] !== v) list.push(v);
}

async function probe(o: { host: string; httpPort: number; dnsPort: number; zone: string; path: string; everyMs: number }, stop: Promise<void>): Promise<ProbeResult> {
  const r: ProbeResult = {
    dns: { sent: 0, answered: 0, lost: 0, wrong: 0, serials: [] },
    http: { sent: 0, answered: 0, lost: 0, errors: [], bodies: [] },
  };
  const udp = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((res) => udp.bind(0, res));
  const pending = new Map<number, NodeJS.Timeout>();
  udp.on('message', (msg) => {
    try {
      const m = dnsPacket.decode(msg);
      const t = pending.get(m.id ?? -1);
      if (t === undefined) return;
      clearTimeout(t);
      pending.delete(m.id!);
      const soa = m.answers?.find((a) => a.type === 'SOA');
      if (((m.flags ?? 0) & 0xf) !== 0 || soa === undefined) r.dns.wrong++;
      else push(r.dns.serials, (soa.data as { serial: number }).serial);
      r.dns.answered++;
    } catch {
      r.dns.wrong++;
    }
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const inFlight = new Set<Promise<void>>();
  let id = 0;
  let done = false;
  void stop.then(() => { done = true; });
  while (!done) {
    // DNS: a fresh id each time; unanswered after 2 s is lost.
    const qid = (++id) & 0xffff;
    const q = dnsPacket.encode({ type: 'query', id: qid, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'SOA', name: o.zone }] });
    pending.set(qid, setTimeout(() => { pending.delete(qid); r.dns.lost++; }, 2000));
    udp.send(q, o.dnsPort, o.host);
    r.dns.sent++;
    // HTTP: on the one keep-alive connection (queued behind the last when it is slow); httpPort 0: DNS only.
    if (o.httpPort === 0) {
      await new Promise((res) => setTimeout(res, o.everyMs));
      continue;
    }
    r.http.sent++;
    const p = new Promise<void>((resolve) => {
      const req = http.get({ host: o.host, port: o.httpPort, path: o.path, agent, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => {
          if (res.statusCode === 200) {
            r.http.answered++;
            push(r.http.bodies, body.trim());
          } else r.http.errors.push(`status ${res.statusCode}`);
          resolve();
        });
        res.on('error', (e) => { r.http.errors.push(e.message); resolve(); });
      });
      req.on('timeout', () => { r.http.lost++; req.destroy(new Error('timeout')); });
      req.on('error', (e) => { if (e.message !== 'timeout') r.http.errors.push(e.message); resolve(); });
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
    await new Promise((res) => setTimeout(res, o.everyMs));
  }
  await Promise.all(inFlight);
  // What is still unanswered gets its 2 s.
  await new Promise((res) => setTimeout(res, pending.size > 0 ? 2100 : 0));
  udp.close();
  agent.destroy();
  return r;
}

const [inFile] = process.argv.slice(2);
if (inFile) {
  const o = JSON.parse(readFileSync(inFile, 'utf8')) as Parameters<typeof probe>[0];
  const stop = new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
  process.stdout.write('probing\n');
  const r = await probe(o, stop);
  process.stdout.write(JSON.stringify(r) + '\n');
}
