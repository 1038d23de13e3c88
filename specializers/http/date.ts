// HTTP dates: IMF-fixdate out (RFC 9110 §5.6.7), all three formats in. Shared by the build
// (Last-Modified, the Date placeholder) and the runtime (conditional requests, the Date patch).

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** "Wed, 25 Nov 2026 18:06:42 GMT" for a time in seconds since the epoch. */
export function formatHttpDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} GMT`;
}

/** Seconds since the epoch of an HTTP-date in any of the three formats, or NaN. */
export function parseHttpDate(s: string): number {
  s = s.trim();
  // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT",
  // asctime "Sun Nov  6 08:49:37 1994"
  let m = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(s);
  if (m) return toSeconds(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  m = /^[A-Za-z]+, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(s);
  if (m) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    let y = 2000 + +m[3]!;
    if (y > new Date().getUTCFullYear() + 50) y -= 100;
    return toSeconds(y, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(s);
  if (m) return toSeconds(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return NaN;
}

function toSeconds(y: number, mon: string, d: number, h: number, mi: number, sec: number): number {
  const month = MONTHS.indexOf(mon[0]!.toUpperCase() + mon.slice(1).toLowerCase());
  if (month < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return NaN;
  return Date.UTC(y, month, d, h, mi, sec) / 1000;
}
