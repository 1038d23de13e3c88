// Secondary-zone tests: zone files the primaries serve (a copy of a fixture, its serial
// changed), the served SOA serial read over UDP, and a wait for a serial.

import { cpSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FIXTURE_ZONES } from './fixtures.js';
import { udpExchange } from './dns.js';
import { question, header } from './dns-wire.js';
import dnsPacket from 'dns-packet';

/** Copies fixture zone `name` (and its .d directory, if any) into dir; returns the copy's path. */
export function copyZone(dir: string, name: string): string {
  const file = join(dir, name);
  cpSync(join(FIXTURE_ZONES, name), file);
  const d = join(FIXTURE_ZONES, name.replace(/\.zone$/, '.d'));
  try { cpSync(d, join(dir, basename(d)), { recursive: true }); } catch { /* none */ }
  return file;
}

/** The bench's: the SOA serial of a zone file set, lines appended. */
export { setZoneSerial as setSerial } from '../../appliance/bench/secondary.js';

/** The SOA serial the server at host:port answers for `zone` over UDP (rcode as a negative number, null when no answer). */
export async function servedSerial(port: number, zone: string, host = '127.0.0.1'): Promise<number | null> {
  const q = Buffer.concat([header({ id: 1 }), question(zone, 6)]);
  const [a] = await udpExchange(port, [q], host, 1000);
  if (!a) return null;
  const rcode = a[3]! & 0xf;
  if (rcode !== 0) return -rcode;
  const soa = dnsPacket.decode(a).answers?.find((r) => r.type === 'SOA');
  return soa ? (soa.data as { serial: number }).serial : -100;
}

/** Resolves with the ms it took once the served serial is `serial`; throws after timeoutMs. */
export async function untilSerial(port: number, zone: string, serial: number, timeoutMs: number, host = '127.0.0.1', everyMs = 10): Promise<number> {
  const started = performance.now();
  for (;;) {
    const s = await servedSerial(port, zone, host).catch(() => null);
    if (s === serial) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${zone}: serial ${serial} not served after ${timeoutMs} ms (last: ${s})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The text `get` gives once it matches every one of `res` (the metrics follow a switch by a moment); throws after timeoutMs with the last text. */
export async function untilMatches(get: () => Promise<string>, res: RegExp[], timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await get();
    if (res.every((re) => re.test(text))) return text;
    if (Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
}
