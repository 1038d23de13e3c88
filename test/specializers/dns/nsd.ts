// Test helpers: run nsd-checkzone on a file, and reduce zones to comparable sets.
//
// The differential test parses a zone with our parser (records A), has nsd-checkzone -p
// print it, parses that output with our parser (records B), and compares A and B as sets
// of canonical records: owner lower-cased, TTL, class, type and canonical wire RDATA.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, basename } from 'node:path';
import { canonicalRdata, lowerName, type ParsedZone } from '../../../specializers/dns/zone.js';

const CANDIDATES = ['/usr/sbin/nsd-checkzone', '/usr/bin/nsd-checkzone', '/usr/local/sbin/nsd-checkzone'];

export const NSD_CHECKZONE: string | undefined = CANDIDATES.find((p) => existsSync(p)) ??
  (spawnSync('sh', ['-c', 'command -v nsd-checkzone'], { encoding: 'utf8' }).stdout.trim() || undefined);

export const NSD_MISSING = 'nsd-checkzone is not installed (apt-get install nsd): the NSD differential tests are SKIPPED';

export interface NsdResult {
  ok: boolean;
  /** The zone as nsd-checkzone -p prints it (when ok). */
  printed: string;
  /** Lines named in error messages, in order. */
  errorLines: number[];
  errors: string[];
  warnings: string[];
}

/** Runs `nsd-checkzone -p ORIGIN FILE` in the file's directory ($INCLUDE paths are relative to it). */
export function runNsd(origin: string, file: string): NsdResult {
  const r = spawnSync(NSD_CHECKZONE!, ['-p', origin, basename(file)], { cwd: dirname(file), encoding: 'utf8', maxBuffer: 1 << 28 });
  const errors: string[] = [];
  const warnings: string[] = [];
  const errorLines: number[] = [];
  for (const l of r.stderr.split('\n')) {
    const m = /: (error|warning): (.*)$/.exec(l);
    if (m === null) continue;
    if (m[1] === 'error') {
      errors.push(m[2]!);
      const lm = /^[^:]*:(\d+): /.exec(m[2]!);
      if (lm !== null) errorLines.push(Number(lm[1]));
    } else {
      warnings.push(m[2]!);
    }
  }
  return { ok: r.status === 0, printed: r.stdout, errorLines, errors, warnings };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** One line per record: a set-comparable canonical form (RFC 4034 §6.2 names). */
export function canonicalSet(z: ParsedZone): Set<string> {
  const s = new Set<string>();
  for (const r of z.records) {
    s.add(`${hex(lowerName(r.owner))} ${r.ttl} ${r.class} ${r.type} ${hex(canonicalRdata(r.type, r.rdata))}`);
  }
  return s;
}

export function setDifference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x));
}
