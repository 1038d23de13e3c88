// A full garbage collection on request, for the moments it matters. After a reload, when
// the old image is no longer referenced (below); and between the phases of a big zone's
// build (specializers/dns/model.ts), where each phase leaves hundreds of megabytes of
// garbage that V8 would otherwise let pile up on the next phase's live data before it
// collects: at a million names the build's peak was the two together.
//
// An image is a SharedArrayBuffer of the image file's size; it is freed only when every thread that saw it has collected its last reference,
// and a serving worker allocates so little that its heap may go minutes without a full
// collection (30 reloads of a 48 MB image held 19 of them). V8 gives the gc() function to
// contexts made after --expose-gc is set, so it is set at run time and taken from a new
// context, once; the rest of the process is not changed by it.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/** Collects now (a full, blocking collection of this thread's heap); false when this V8 cannot. */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  if (gc === null || typeof gc !== 'function') return false;
  gc();
  return true;
}
