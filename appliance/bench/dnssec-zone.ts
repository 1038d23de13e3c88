// The small bench zone signed, for `appliance bench dns --signed`: keys made with
// ldns-keygen (a KSK and a ZSK, ECDSAP256SHA256: the algorithm most signed zones use
// today), the zone signed by ldns-signzone with NSEC3 as RFC 9276 asks (no salt, no extra
// iterations), so that every NXDOMAIN costs the server one SHA-1 of the next closer name.
// NSD, Knot and the appliance then serve the same signed file. The in-process figure of
// what each kind of answer costs the responder (responderCosts) goes with the rates.

import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApplianceError } from '../../basics/errors.js';
import { DnsResponder } from '../dns/responder.js';
import { DnsTables } from '../dns/tables.js';
import { loadImage } from '../../specializers/image/format.js';

const execFileP = promisify(execFile);

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    return (await execFileP(cmd, args, { cwd, timeout: 120_000 })).stdout;
  } catch (e) {
    const x = e as { code?: string; stderr?: string; message: string };
    if (x.code === 'ENOENT') throw new ApplianceError('APPL_ERR_BENCH', `${cmd} is not installed: --signed signs the bench zone with ldns (apt-get install ldnsutils)`);
    throw new ApplianceError('APPL_ERR_BENCH', `${cmd} ${args.join(' ')}: ${(x.stderr || x.message).trim()}`);
  }
}

/** Signs `zoneFile` (origin without the trailing dot) into DIR/ORIGIN.zone.signed with NSEC3, no salt, 0 iterations; returns its path. */
export async function signBenchZone(dir: string, zoneFile: string, origin: string): Promise<string> {
  const keys = join(dir, 'keys');
  mkdirSync(keys, { recursive: true });
  const ksk = (await run('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', `${origin}.`], keys)).trim();
  const zsk = (await run('ldns-keygen', ['-a', 'ECDSAP256SHA256', `${origin}.`], keys)).trim();
  const out = join(dir, `${origin}.zone.signed`);
  await run('ldns-signzone', ['-n', '-a', '1', '-t', '0', '-o', `${origin}.`, '-f', out, zoneFile, join(keys, ksk), join(keys, zsk)], dir);
  return out;
}

export interface ResponderCost {
  what: string;
  line: string;
  nsPerQuery: number;
  bytes: number;
}

/**
 * Nanoseconds per answer of the responder alone (no stack, no I/O), for one query (in
 * wire form) of each kind, over the image: a loop of `count` answers after a warm-up, the fastest of
 * three runs (the machine is shared: the fastest is the least disturbed).
 */
export function responderCosts(image: string, kinds: Array<{ what: string; line: string; query: Buffer }>, count = 200_000): ResponderCost[] {
  const r = new DnsResponder(new DnsTables(loadImage(image)));
  const buf = new Uint8Array(4096);
  return kinds.map(({ what, line, query: q }) => {
    let bytes = 0;
    const once = (): void => {
      buf.set(q, 0);
      bytes = r.answer(buf, 0, q.length, buf.length, 0);
    };
    for (let i = 0; i < 20_000; i++) once();
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < count; i++) once();
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / count);
    }
    return { what, line, nsPerQuery: best, bytes };
  });
}
