// NSD with response rate limiting on, as the reference for the RRL tests: the tests' NSD
// config (test/helpers/nsd.ts, which turns RRL off with rrl-ratelimit: 0) with that line
// replaced by the RRL settings asked for (NSD's defaults where not given), and a reader of
// the "ratelimit block" lines NSD logs at verbosity 1 (rrl.c rrl_msg()), which name the
// class and the name of the bucket that started to be limited.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RRL_NAME_MASK } from '../../appliance/dns/rrl.js';
import { nameToWire } from '../../specializers/dns/dns-name.js';
import { nsdConfig, waitForDns, type NsdZone } from './nsd.js';
import { startProcess, type Started } from './processes.js';

export interface NsdRrl {
  /** rrl-ratelimit (NSD's default 200). */
  ratelimit?: number;
  /** rrl-slip (default 2). */
  slip?: number;
  /** rrl-ipv4-prefix-length (default 24). */
  ipv4PrefixLength?: number;
  /** rrl-ipv6-prefix-length (default 64). */
  ipv6PrefixLength?: number;
  /** rrl-size (default 1000000). */
  size?: number;
}

export function nsdRrlConfig(dir: string, address: string, port: number, zones: NsdZone[], zonesdir: string, rrl: NsdRrl): string {
  const conf = nsdConfig(dir, address, port, zones, zonesdir);
  const off = '    rrl-ratelimit: 0\n';
  if (!conf.includes(off)) throw new Error('the NSD config no longer turns RRL off with "rrl-ratelimit: 0": update test/helpers/nsd-rrl.ts');
  const lines = [
    rrl.ratelimit !== undefined ? `    rrl-ratelimit: ${rrl.ratelimit}` : '',
    rrl.slip !== undefined ? `    rrl-slip: ${rrl.slip}` : '',
    rrl.ipv4PrefixLength !== undefined ? `    rrl-ipv4-prefix-length: ${rrl.ipv4PrefixLength}` : '',
    rrl.ipv6PrefixLength !== undefined ? `    rrl-ipv6-prefix-length: ${rrl.ipv6PrefixLength}` : '',
    rrl.size !== undefined ? `    rrl-size: ${rrl.size}` : '',
  ].filter(Boolean);
  // An empty list leaves NSD's compiled-in defaults (Debian builds NSD with RRL on by default).
  return conf.replace(off, lines.map((l) => l + '\n').join(''));
}

export async function startNsdRrl(dir: string, address: string, port: number, zones: NsdZone[], zonesdir: string, rrl: NsdRrl = {}): Promise<Started> {
  const conf = join(dir, 'nsd.conf');
  writeFileSync(conf, nsdRrlConfig(dir, address, port, zones, zonesdir, rrl));
  const nsd = startProcess('nsd', ['-d', '-c', conf]);
  // waitForDns's probe (". SOA", REFUSED) uses one bucket of 127.0.0.0/24's error class.
  await waitForDns(address, port, 15_000, nsd);
  return nsd;
}

export interface RrlBlock {
  /** The name of the bucket, as NSD prints it ("" when the class has none). */
  name: string;
  /** NSD's class name: positive, nxdomain, referral, ... */
  type: string;
  /** The prefix, "127.0.5.0/24". */
  target: string;
}

/** The "ratelimit block" lines of NSD's log so far. */
export function readRrlBlocks(dir: string): RrlBlock[] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'nsd.log'), 'utf8');
  } catch {
    return [];
  }
  const out: RrlBlock[] = [];
  // "ratelimit block www.example.com. type positive target 127.0.5.0/24 query 127.0.5.1 A"
  const re = /ratelimit block (.*?) type ([a-z]+)(?:\(whitelisted\))? target (\S+) query /g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ name: m[1]!, type: m[2]!, target: m[3]! });
  return out;
}

/**
 * The hash DnsResponder.rrlName carries for a name given as text (NSD's log prints them
 * so, escapes included): FNV-1a of the lower-cased wire name, as the image's name table
 * hashes names, cut to RRL_NAME_MASK. "" (a class NSD keys without a name) is 0, as
 * rrlName's "none".
 */
export function rrlNameHash(text: string): number {
  if (text === '') return 0;
  let h = 0x811c9dc5;
  for (const c of nameToWire(text.endsWith('.') ? text : text + '.')) h = Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), 0x01000193);
  return h & RRL_NAME_MASK;
}
