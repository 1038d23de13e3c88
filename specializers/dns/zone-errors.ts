// Zone problems, collected so that one build run reports all of them (as nsd-checkzone
// does), then thrown as one BuildInputError whose message lists them, one per line.

import { BuildInputError, type ErrorCode } from '../../basics/errors.js';

export interface ZoneProblem {
  readonly code: ErrorCode;
  readonly file: string;
  readonly line: number | undefined;
  readonly message: string;
}

/** How many problems a message lists; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50;
/** How many problems are kept on the error object; past that they are only counted. */
const MAX_KEPT_PROBLEMS = 1000;

export function where(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`;
}

/**
 * Several zone problems at once. `code`, `file` and `line` are those of the first problem;
 * `problems` holds each (up to 1,000) and `total` counts them all.
 */
export class ZoneErrors extends BuildInputError {
  constructor(readonly problems: readonly ZoneProblem[], readonly total: number, zone: string) {
    const first = problems[0]!;
    const rest = problems.slice(1, MAX_LISTED_PROBLEMS).map((p) => `\n${where(p.file, p.line)}: ${p.message}`).join('');
    const more = total > MAX_LISTED_PROBLEMS ? `\n... and ${total - MAX_LISTED_PROBLEMS} more` : '';
    const summary = total > 1 ? `\n${total} errors in zone ${zone}; no image was written` : '';
    super(first.code, first.file, first.line, first.message + rest + more + summary);
    this.name = 'ZoneErrors';
  }
}

export class ProblemList {
  readonly problems: ZoneProblem[] = [];
  total = 0;

  add(code: ErrorCode, file: string, line: number | undefined, message: string): void {
    this.total++;
    if (this.problems.length < MAX_KEPT_PROBLEMS) this.problems.push({ code, file, line, message });
  }

  /** Throws ZoneErrors if any problem was added. */
  throwIfAny(zone: string): void {
    if (this.total > 0) throw new ZoneErrors(this.problems, this.total, zone);
  }
}
