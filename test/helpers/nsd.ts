// NSD as the reference for the DNS differential tests: Debian's package, on the test's
// own address and port, rate limiting off, minimal responses, version and identity hidden
// (or given, for the CHAOS comparison), in the foreground, stopped by its pid.

import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startProcess, type Started } from './processes.js';
import { nsdConf, type NsdZone } from '../../appliance/bench/nsd.js';
import type { Topology } from '../../appliance/bench/netns.js';
import { loadZones } from '../../specializers/dns/model.js';
import { nameToText } from '../../specializers/dns/zone.js';

export type { NsdZone } from '../../appliance/bench/nsd.js';
/** identity and version in nsd.conf, null for hide-identity / hide-version (as the responder's ChaosStrings). */
export interface NsdChaos { identity: string | null; version: string | null }

/**
 * `address`: one, or several separated by commas. `zonesdir`: NSD reads $INCLUDE paths
 * relative to it (the appliance: relative to the including file). The config is the
 * benchmarks' (appliance/bench/nsd.ts), with minimal responses and identity hidden
 * unless `chaos` says otherwise.
 */
export function nsdConfig(dir: string, address: string, port: number, zones: NsdZone[], zonesdir = dir, chaos?: NsdChaos): string {
  return nsdConf({
    dir, addresses: address.split(','), port, zonesdir, verbosity: 1, hideIdentity: true, chaos, minimalResponses: true,
    zones: zones.map((z) => ({ origin: z.origin, file: resolve(z.file), extra: z.extra })),
  });
}

/** Resolves once the server answers a query over UDP (any answer). */
export async function waitForDns(host: string, port: number, timeoutMs = 15_000, started?: Started): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const q = Buffer.from('abcd01000001000000000000000006000100', 'hex'); // ". SOA"
  for (;;) {
    if (started && started.proc.exitCode !== null) throw new Error(`the server exited: ${started.output()}`);
    const ok = await new Promise<boolean>((res) => {
      const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      const t = setTimeout(() => { s.close(); res(false); }, 200);
      s.on('message', () => { clearTimeout(t); s.close(); res(true); });
      s.on('error', () => { clearTimeout(t); s.close(); res(false); });
      s.send(q, port, host);
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no DNS answer from ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `chaos`: NSD's identity and version (null: hide-identity, hide-version); default both hidden. */
export async function startNsd(dir: string, address: string, port: number, zones: NsdZone[], zonesdir = dir, chaos?: NsdChaos): Promise<Started> {
  const conf = join(dir, 'nsd.conf');
  writeFileSync(conf, nsdConfig(dir, address, port, zones, zonesdir, chaos));
  const nsd = startProcess('nsd', ['-d', '-c', conf]);
  await waitForDns(address.split(',')[0]!, port, 15_000, nsd);
  return nsd;
}

/**
 * NSD in the topology's server namespace on its own addresses (IPv4 and IPv6), port 53,
 * serving `zoneFiles` (the fixtures' $INCLUDEs relative to `zonesdir`); resolves once it
 * answers dig over TCP from the client namespace. Stop it with stopProcess.
 */
export async function startNsdInNamespace(topo: Topology, dir: string, zoneFiles: string[], zonesdir: string): Promise<ChildProcess> {
  const { parsed } = loadZones(zoneFiles.map((file) => ({ origin: null, file })));
  const conf = join(dir, 'nsd.conf');
  writeFileSync(conf, nsdConfig(dir, `${topo.server.ipv4},${topo.server.ipv6}`, 53, parsed.map((z) => ({ origin: nameToText(z.origin), file: z.file })), zonesdir));
  const nsd = topo.spawn(topo.server.ns, 'nsd', ['-d', '-c', conf]);
  const soa = ['+short', '+tries=1', '+time=1', '+tcp', `@${topo.server.ipv4}`, 'example.com', 'SOA'];
  const deadline = Date.now() + 15_000;
  while (!(await topo.run(topo.client.ns, 'dig', soa).catch(() => '')).includes('hostmaster')) {
    if (nsd.exitCode !== null || Date.now() > deadline) throw new Error(`NSD did not come up in ${topo.server.ns} (status ${nsd.exitCode})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return nsd;
}

/** nsd.conf for NSD as a secondary on address:port: each zone requested (AXFR) from its primary ADDR@PORT, with a key when given. */
export function nsdSecondaryConf(dir: string, address: string, port: number, zones: Array<{ origin: string; primary: string; key?: string }>,
  keys: Array<{ name: string; algorithm: string; secret: string }> = []): string {
  return nsdConf({
    dir, addresses: [address], port, verbosity: 1, hideIdentity: true, minimalResponses: true,
    zones: zones.map((z) => ({ origin: z.origin, file: join(dir, `${z.origin}zone`), extra: [`request-xfr: AXFR ${z.primary} ${z.key ?? 'NOKEY'}`] })),
  }) + keys.flatMap((k) => ['key:', `    name: ${k.name}`, `    algorithm: ${k.algorithm}`, `    secret: "${k.secret}"`, '']).join('\n');
}

/**
 * NSD as a secondary on 127.0.0.1:port, the reference for the appliance's secondary zones
 * (nsdSecondaryConf). Resolves once NSD answers (not once it has the zones: wait for their serials).
 */
export async function startNsdSecondary(dir: string, port: number, zones: Array<{ origin: string; primary: string; key?: string }>,
  keys: Array<{ name: string; algorithm: string; secret: string }> = []): Promise<Started> {
  const conf = join(dir, 'nsd.conf');
  writeFileSync(conf, nsdSecondaryConf(dir, '127.0.0.1', port, zones, keys));
  const nsd = startProcess('nsd', ['-d', '-c', conf]);
  await waitForDns('127.0.0.1', port, 15_000, nsd);
  return nsd;
}
