// The zone-file front end of the DNS specializer: what the answer compiler, `appliance
// inspect` and the tests use. The work is done in the files re-exported here:
//
//   zone-lexer.ts   bytes → tokens of one entry          (RFC 1035 §5.1)
//   zone-parser.ts  entries → records, directives         (RFC 1035 §5, RFC 2308, RFC 3597)
//   rdata-parse.ts  RDATA text → wire, by type layout     (rr-types.ts: one layout per type)
//   rdata-text.ts   RDATA wire → text, same layouts
//   zone-check.ts   nsd-checkzone's checks, duplicates, the signed-zone refusal
//
// Build order: parseZoneFile → checkZone (then, for a signed zone, dnssec.ts's chain checks). Each throws a BuildInputError
// (ZoneErrors, listing every problem with file and line) and writes nothing. Parse errors
// stop before the checks: a zone with both is reported in two rounds.
//
// Records share memory: owners with the same spelling are one array, and RDATA arrays are
// views into shared 256 KiB chunks. Treat both as read-only, and use byteOffset/length
// (never `.buffer` alone) when copying them out.
//
// The origin (apex) is opts.origin, else the owner of the first SOA, else the first
// $ORIGIN: nsd-checkzone -p prints `$ORIGIN com.` before `example SOA ...`.
//
// Where we differ from nsd-checkzone 4.6.1, on purpose (test/specializers/dns/zone-nsd.test.ts
// keeps the list honest):
//   - no NS at the apex is an error (nsd does not check; kzonecheck does);
//   - a TTL above 2^31-1 is an error (RFC 2181 §8; nsd silently makes it 0 or 3600);
//   - `\DDD` above 255 is an error (nsd warns and stores a wrong octet);
//   - `\# len hex` whose data is not `len` octets is an error (RFC 3597 §5; nsd takes the data);
//   - a `(` still open at the end of the file is an error (nsd accepts it);
//   - RRSIG times in seconds are accepted (RFC 4034 §3.2; nsd wants YYYYMMDDHHmmSS);
//   - OPT and the other meta types are refused in a zone (nsd accepts OPT);
//   - the SvcParam `ohttp` (RFC 9540) is known (nsd 4.6 rejects it);
//   - warnings nsd does not give: no $TTL, an owner named like a class, data below or
//     beside a zone cut, missing glue, duplicates dropped;
//   - error lines: ours is the line of the token at fault; nsd's is often the next line.

import { nameToText } from './dns-name.js';
import { rdataToText } from './rdata-text.js';
import { classToText, typeToText } from './rr-types.js';
import type { ZoneRecord } from './zone-parser.js';

export {
  parseZoneFile, parseZoneText, DEFAULT_TTL, MAX_INCLUDE_DEPTH, MAX_ZONE_BYTES,
  type ZoneRecord, type ParsedZone, type ParseOptions, type ParseTextOptions,
} from './zone-parser.js';
export { checkZone, canonicalRdata } from './zone-check.js';
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
