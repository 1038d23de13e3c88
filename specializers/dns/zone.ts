// The zone-file front end of the DNS specializer: what the answer compiler, `appliance
// inspect` and the tests use. The work is done in the files re-exported here:
//
//   zone-lexer.ts   bytes → tokens of one entry          (RFC 1035 §5.1)
//   zone-parser.ts  entries → records, directives         (RFC 1035 §5, RFC 2308, RFC 3597)
//   rdata-parse.ts  RDATA text → wire, by type layout     (rr-types.ts: one layout per type)
//   rdata-text.ts   RDATA wire → text, same layouts
//   zone-check.ts   nsd-checkzone's checks, duplicates, the signed-zone refusal
//
// Build order: parseZoneFile → checkZone → refuseSigned. Each throws a BuildInputError
// (ZoneErrors, listing every problem with file and line) and writes nothing.

import { nameToText } from './dns-name.js';
import { rdataToText } from './rdata-text.js';
import { classToText, typeToText } from './rr-types.js';
import type { ZoneRecord } from './zone-parser.js';

export {
  parseZoneFile, parseZoneText, DEFAULT_TTL, MAX_INCLUDE_DEPTH,
  type ZoneRecord, type ParsedZone, type ParseOptions, type ParseTextOptions,
} from './zone-parser.js';
export { checkZone, refuseSigned, canonicalRdata } from './zone-check.js';
export { ZoneErrors, type ZoneProblem } from './zone-errors.js';
export {
  nameToWire, nameToText, namesEqual, isSubdomain, lowerName, wireNameLength, labelCount, MAX_NAME_LEN, MAX_LABEL_LEN,
} from './dns-name.js';
export { rdataToText, genericRdataText } from './rdata-text.js';
export { typeToText, textToType, classToText, textToClass, T as RRType, CLASS_IN } from './rr-types.js';

/** "owner ttl CLASS TYPE rdata", absolute names: a line that parses back to the record. */
export function recordToText(r: ZoneRecord): string {
  return `${nameToText(r.owner)} ${r.ttl} ${classToText(r.class)} ${typeToText(r.type)} ${rdataToText(r.type, r.rdata)}`;
}
