// `appliance serve IMAGE`: the socket backend here; the xdp backend runs the fused stack.

import { UsageError } from '../errors.js';
import { loadImage } from '../../specializers/image/format.js';
import { HttpTables } from '../http/tables.js';
import { HttpSocketServer } from '../backends/socket-http.js';
import { DnsSocketServer } from '../backends/socket-dns.js';
import { DnsTables } from '../dns/tables.js';

export interface ServeOptions {
  backend: 'socket' | 'xdp';
  http: string;
  dns: string;
  iface?: string;
  addr: string[];
  queues?: number;
  cpus?: string;
  idleTimeout: number;
}

/** "127.0.0.1:8080", "[::1]:8080", ":8080" (all addresses) → host and port. */
export function parseHostPort(s: string, what: string): { host: string; port: number } {
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') throw new UsageError(`${what} ${s}: expected [IPV6]:PORT`);
    host = s.slice(1, close);
    port = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new UsageError(`${what} ${s}: expected ADDR:PORT`);
    host = s.slice(0, colon) || '0.0.0.0';
    port = s.slice(colon + 1);
  }
  const p = Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new UsageError(`${what} ${s}: ${port} is not a port number`);
  return { host, port: p };
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function runServe(file: string, o: ServeOptions): Promise<void> {
  if (o.backend === 'xdp') {
    throw new UsageError('--backend xdp: the fused AF_XDP datapath is not built yet; use --backend socket');
  }
  const img = loadImage(file);
  const http = new HttpTables(img);
  const stops: Array<() => Promise<void>> = [];
  const lines: string[] = [];
  if (http.hasSites) {
    const { host, port } = parseHostPort(o.http, '--http');
    const server = new HttpSocketServer(http, { host, port, idleTimeoutMs: o.idleTimeout * 1000 });
    const addr = await server.listen();
    stops.push(() => server.close());
    const url = `http://${urlHost(addr.address)}:${addr.port}/`;
    lines.push(`HTTP  ${url}  (${img.meta.sites.length} site${img.meta.sites.length === 1 ? '' : 's'})`);
    lines.push(`      try: curl -i ${url}`);
  }
  const dns = new DnsTables(img);
  if (dns.hasZones) {
    const { host, port } = parseHostPort(o.dns, '--dns');
    const server = new DnsSocketServer(dns, { host, port, idleTimeoutMs: o.idleTimeout * 1000 });
    const addr = await server.listen();
    stops.push(() => server.close());
    const zones = img.meta.zones.map((z) => z.origin);
    lines.push(`DNS   ${urlHost(addr.address)}:${addr.port} UDP and TCP  (${zones.length} zone${zones.length === 1 ? '' : 's'}: ${zones.slice(0, 4).join(' ')}${zones.length > 4 ? ' …' : ''})`);
    lines.push(`      try: dig @${addr.address} -p ${addr.port} ${zones[0]} SOA`);
  }
  if (stops.length === 0) throw new UsageError(`${file}: the image has nothing to serve`);
  process.stdout.write(`appliance: serving ${file} (sha256 ${img.hash.slice(0, 16)}…) through kernel sockets\n${lines.join('\n')}\n` +
    'press Ctrl-C to stop\n');
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      process.stdout.write(`appliance: ${sig}: stopping\n`);
      Promise.all(stops.map((s) => s())).then(() => resolve());
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
