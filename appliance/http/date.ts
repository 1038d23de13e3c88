// The Date header of responses, formatted once a second (RFC 9110 §6.6.1).

import { formatHttpDate } from '../../specializers/http/date.js';

/**
 * The current Date header value, formatted once a second. The time is passed in: only
 * the loop reads the clock.
 */
export class DateCache {
  private second = -1;
  readonly bytes = new Uint8Array(29);
  value = '';

  /** Updates for `nowMs`; returns true when the value changed. */
  update(nowMs: number): boolean {
    const s = Math.floor(nowMs / 1000);
    if (s === this.second) return false;
    this.second = s;
    this.value = formatHttpDate(s);
    for (let i = 0; i < 29; i++) this.bytes[i] = this.value.charCodeAt(i);
    return true;
  }
}
