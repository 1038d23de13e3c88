// The secondary zones' compile, in a worker thread (bundled as dist/compile-worker.js):
// first the changed zone's new copy written (an AXFR's records, or the kept copy with an
// IXFR applied: zone-diff.ts), then `build`'s own compiler over the zones as kept, into an
// image of their own. A thread of its own so that neither the text nor a big zone's
// compile blocks serve's event loop or stays in its heap; a thread rather than a process
// so that no second Node and CLI start per change.

import { parentPort, workerData } from 'node:worker_threads';
import { isApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { writeZoneCopy, type ZoneWrite } from './zone-diff.js';

export interface CompileJob { zones: Array<{ origin: string; file: string }>; output: string; write?: ZoneWrite }
export type CompileReply =
  | { ok: true; seconds: number; writeMs: number; records: number }
  | { ok: false; code: string; message: string; ixfrMismatch: boolean };

const job = workerData as CompileJob | null;
if (parentPort !== null && job !== null) {
  let reply: CompileReply;
  try {
    const t0 = performance.now();
    const records = job.write ? writeZoneCopy(job.write) : 0;
    const writeMs = performance.now() - t0;
    const r = await buildImage({ sites: [], zones: job.zones, output: job.output, http: DEFAULT_HTTP_OPTIONS, cache: null });
    reply = { ok: true, seconds: r.seconds, writeMs, records };
  } catch (e) {
    reply = {
      ok: false, code: isApplianceError(e) ? e.code : 'APPL_ERR_SECONDARY', message: (e as Error).message ?? String(e),
      ixfrMismatch: (e as { ixfrMismatch?: boolean }).ixfrMismatch === true,
    };
  }
  parentPort.postMessage(reply);
}
