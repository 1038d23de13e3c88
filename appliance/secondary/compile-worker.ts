// The secondary zones' compile, in a worker thread (bundled as dist/compile-worker.js): the
// changed zone's records (an AXFR's, or the kept copy with an IXFR applied: zone-diff.ts)
// compiled straight from memory with the others by `build`'s own compiler, into an image of
// their own; then, while serve links and swaps that image in, the new copy written as zone
// text beside the old. A thread of its own so that neither a big zone's compile nor its
// text blocks serve's event loop or stays in its heap; a thread rather than a process so
// that no second Node and CLI start per change.
//
// Two messages: { compiled } once the image is written (or why not), then { written } once
// the copy is on disk (or why not).

import { parentPort, workerData } from 'node:worker_threads';
import { isApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { parsedFrom, writeZone, zoneRecords, type ZoneWrite } from './zone-diff.js';
import type { WireRecord } from './wire-records.js';

export interface CompileJob { zones: Array<{ origin: string; file: string }>; output: string; write?: ZoneWrite }
export interface CompileFailure { code: string; message: string; ixfrMismatch: boolean }
export type CompileReply =
  | { compiled: { seconds: number; records: number } }
  | { written: { ms: number } }
  | { failed: CompileFailure; stage: 'compile' | 'write' };

function failure(e: unknown): CompileFailure {
  return {
    code: isApplianceError(e) ? e.code : 'APPL_ERR_SECONDARY', message: (e as Error).message ?? String(e),
    ixfrMismatch: (e as { ixfrMismatch?: boolean }).ixfrMismatch === true,
  };
}

const job = workerData as CompileJob | null;
if (parentPort !== null && job !== null) {
  const post = (m: CompileReply): void => parentPort!.postMessage(m);
  let records: WireRecord[] | null = null;
  try {
    const w = job.write;
    records = w ? zoneRecords(w) : null;
    const zones = job.zones.map((z) => (w && records && z.file === w.file ? { ...z, parsed: parsedFrom(w.origin, w.file, records) } : z));
    const r = await buildImage({ sites: [], zones, output: job.output, http: DEFAULT_HTTP_OPTIONS, cache: null });
    post({ compiled: { seconds: r.seconds, records: records?.length ?? 0 } });
  } catch (e) {
    post({ failed: failure(e), stage: 'compile' });
    records = null;
  }
  if (records !== null && job.write) {
    try {
      const t0 = performance.now();
      writeZone(job.write.file, job.write.origin, records);
      post({ written: { ms: performance.now() - t0 } });
    } catch (e) {
      post({ failed: failure(e), stage: 'write' });
    }
  }
}
