// The DNS answer compiler (zones → answer templates). Being written: see issue 3.

import { UsageError } from '../../appliance/errors.js';
import type { ImageWriter } from '../image/format.js';

export interface ZoneSpec { origin: string | null; file: string }
export interface DnsBuildResult {
  sections: Array<[number, Uint32Array]>;
  zones: Array<{ origin: string; file: string; records: number; names: number }>;
  warnings: string[];
}

export function compileDns(_w: ImageWriter, _zones: ZoneSpec[]): DnsBuildResult {
  throw new UsageError('--zone: serving DNS zones is not built yet');
}
