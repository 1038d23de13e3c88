// The zone and the query list that DNS benchmarks share: one small zone, queries for its
// names, so every server answers NOERROR from the same data.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_ZONE = 'bench.test';
export const BENCH_ZONE_FILE = 'bench.test.zone';
export const BENCH_QUERY_FILE = 'queries.txt';

/**
 * A zone as a bench configures its servers with: the origin (no trailing dot), the file
 * (absolute, or relative to the bench's directory), a name in it with an A record that is
 * asked until a server answers, and its number of names (the start-up waits scale with it).
 */
export interface ServedZone {
  origin: string;
  file: string;
  probe: string;
  names: number;
}

/** The small zone, as writeDnsFixture writes it into the bench's directory: @, ns1, www, host0..15. */
export const SMALL_ZONE: ServedZone = { origin: BENCH_ZONE, file: BENCH_ZONE_FILE, probe: `www.${BENCH_ZONE}`, names: 19 };

export function benchZoneText(): string {
  const lines = [
    `$ORIGIN ${BENCH_ZONE}.`,
    '$TTL 3600',
    '@ IN SOA ns1 hostmaster 1 7200 3600 1209600 3600',
    '@ IN NS ns1',
    'ns1 IN A 198.18.0.1',
    'www IN A 198.18.0.1',
  ];
  for (let i = 0; i < 16; i++) lines.push(`host${i} IN A 198.18.1.${i + 1}`);
  return lines.join('\n') + '\n';
}

/** kxdpgun's input: "name type" per line. */
export function benchQueriesText(): string {
  const q = ['www', ...Array.from({ length: 16 }, (_, i) => `host${i}`)];
  return q.map((n) => `${n}.${BENCH_ZONE}. A`).join('\n') + '\n';
}

/** Writes the zone and the query list into dir; returns their paths. */
export function writeDnsFixture(dir: string): { zoneFile: string; queryFile: string } {
  const zoneFile = join(dir, BENCH_ZONE_FILE);
  const queryFile = join(dir, BENCH_QUERY_FILE);
  writeFileSync(zoneFile, benchZoneText());
  writeFileSync(queryFile, benchQueriesText());
  return { zoneFile, queryFile };
}
