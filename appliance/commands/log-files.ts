// The access log (--access-log FILE) and the query log (--query-log FILE): records taken
// from the serving loops' rings (appliance/log-ring.ts) a few times a second, formatted
// here, appended to the files; both reopened on SIGUSR1, for logrotate, as nginx does.
//
// Access log formats: "combined", nginx's default (
//   $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
// with nginx's escaping: ", \ and bytes outside printable ASCII as \xHH), or "json" (one
// object a line). Query log formats: "text", one line a query:
//   2026-12-01T14:42:16.123Z 198.18.0.2#53000 udp example.com. IN A NOERROR qr aa 72b
// or "json".

import { closeSync, openSync, writeSync } from 'node:fs';
import { ApplianceError } from '../../basics/errors.js';
import { KIND_ACCESS, KIND_QUERY, TRANSPORT_TCP, type LogRecord, type LogRing } from '../log-ring.js';
import { errorFields, type Logger } from '../log.js';

export type AccessFormat = 'combined' | 'json';
export type QueryFormat = 'text' | 'json';
export const ACCESS_FORMATS: readonly AccessFormat[] = ['combined', 'json'];
export const QUERY_FORMATS: readonly QueryFormat[] = ['text', 'json'];

/** A log file, opened for appending (created 0640 when missing). */
export class LogFile {
  private fd: number;

  constructor(readonly path: string, private readonly what: string) {
    this.fd = LogFile.open(path, what);
  }

  private static open(path: string, what: string): number {
    try {
      return openSync(path, 'a', 0o640);
    } catch (e) {
      throw new ApplianceError('APPL_ERR_USAGE', `${what} ${path}: cannot open it for appending (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }

  write(text: string): void {
    if (text.length > 0) writeSync(this.fd, text);
  }

  /** Closes and opens the path again: after logrotate moved the file, a new one starts. */
  reopen(): void {
    const fd = LogFile.open(this.path, this.what);
    const old = this.fd;
    this.fd = fd;
    closeSync(old);
  }

  /** Closes the file (again: nothing). */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** nginx's $time_local, in UTC: 01/Dec/2026:14:42:16 +0000. */
export function timeLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** nginx's access log escaping of a value: ", \ and bytes outside 0x20–0x7e as \xHH. */
function escapeNginx(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    s += c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c ? `\\x${c.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(c);
  }
  return s;
}

/** The head's request line and the values of two headers, as byte spans. */
interface HeadParts { line: [number, number]; referer: [number, number] | null; agent: [number, number] | null }

function headParts(b: Uint8Array): HeadParts {
  const lineEnd = (from: number): number => {
    let i = from;
    while (i < b.length && b[i] !== 0x0a) i++;
    return i;
  };
  const trimCr = (from: number, to: number): number => (to > from && b[to - 1] === 0x0d ? to - 1 : to);
  const first = lineEnd(0);
  const parts: HeadParts = { line: [0, trimCr(0, first)], referer: null, agent: null };
  for (let at = first + 1; at < b.length;) {
    const end = lineEnd(at);
    const e = trimCr(at, end);
    if (e === at) break;
    const colon = b.indexOf(0x3a, at);
    if (colon > at && colon < e) {
      const name = Buffer.from(b.buffer, b.byteOffset + at, colon - at).toString('latin1').toLowerCase();
      let v = colon + 1;
      while (v < e && (b[v] === 0x20 || b[v] === 0x09)) v++;
      let w = e;
      while (w > v && (b[w - 1] === 0x20 || b[w - 1] === 0x09)) w--;
      if (name === 'referer' && parts.referer === null) parts.referer = [v, w];
      else if (name === 'user-agent' && parts.agent === null) parts.agent = [v, w];
    }
    at = end + 1;
  }
  return parts;
}

export function formatAccess(r: LogRecord, format: AccessFormat): string {
  const b = r.bytes;
  const p = b.length > 0 ? headParts(b) : null;
  const span = (s: [number, number] | null | undefined): string | null => (s ? escapeNginx(b, s[0], s[1]) : null);
  const request = span(p?.line) ?? '';
  const referer = span(p?.referer);
  const agent = span(p?.agent);
  if (format === 'json') {
    const text = (s: [number, number] | null | undefined): string | null => (s ? Buffer.from(b.subarray(s[0], s[1])).toString('latin1') : null);
    return JSON.stringify({
      time: new Date(r.time).toISOString(), remote_addr: r.addr, remote_port: r.port, request: text(p?.line) ?? '',
      status: r.code, body_bytes_sent: r.size, http_referer: text(p?.referer), http_user_agent: text(p?.agent),
    }) + '\n';
  }
  return `${r.addr} - - [${timeLocal(r.time)}] "${request}" ${r.code} ${r.size} "${referer ?? '-'}" "${agent ?? '-'}"\n`;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR',
  39: 'DNAME', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 50: 'NSEC3', 51: 'NSEC3PARAM', 52: 'TLSA', 64: 'SVCB',
  65: 'HTTPS', 99: 'SPF', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};
const CLASSES: Record<number, string> = { 1: 'IN', 3: 'CH', 4: 'HS', 254: 'NONE', 255: 'ANY' };

/** The answer's header and question: qname (presentation form), type, class, rcode, flags. */
function question(b: Uint8Array): { name: string; type: string; cls: string; rcode: string; flags: string[] } | null {
  if (b.length < 12) return null;
  const flags = (b[2]! << 8) | b[3]!;
  const rcode = RCODES[flags & 0xf] ?? `RCODE${flags & 0xf}`;
  const f = [['qr', 0x8000], ['aa', 0x0400], ['tc', 0x0200], ['rd', 0x0100], ['ra', 0x0080], ['ad', 0x0020], ['cd', 0x0010]]
    .filter(([, bit]) => flags & (bit as number)).map(([n]) => n as string);
  if (((b[4]! << 8) | b[5]!) === 0) return { name: '', type: '', cls: '', rcode, flags: f };
  let at = 12;
  const labels: string[] = [];
  while (at < b.length && b[at] !== 0) {
    const n = b[at]!;
    if (n > 63 || at + 1 + n > b.length) return null;
    labels.push(escapeLabel(b, at + 1, at + 1 + n));
    at += 1 + n;
  }
  if (at + 5 > b.length) return null;
  const type = (b[at + 1]! << 8) | b[at + 2]!;
  const cls = (b[at + 3]! << 8) | b[at + 4]!;
  return { name: labels.join('.') + '.', type: TYPES[type] ?? `TYPE${type}`, cls: CLASSES[cls] ?? `CLASS${cls}`, rcode, flags: f };
}

/** A label in presentation form (RFC 1035 §5.1): ".", "\" and unprintable bytes escaped. */
function escapeLabel(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s;
}

export function formatQuery(r: LogRecord, format: QueryFormat): string {
  const q = question(r.bytes);
  const transport = r.code === TRANSPORT_TCP ? 'tcp' : 'udp';
  if (format === 'json') {
    return JSON.stringify({
      time: new Date(r.time).toISOString(), client: r.addr, port: r.port, transport,
      qname: q?.name ?? null, qtype: q?.type ?? null, qclass: q?.cls ?? null, rcode: q?.rcode ?? null, flags: q?.flags ?? [], size: r.size,
    }) + '\n';
  }
  return `${new Date(r.time).toISOString()} ${r.addr}#${r.port} ${transport} ${q ? `${q.name || '-'} ${q.cls || '-'} ${q.type || '-'} ${q.rcode} ${q.flags.join(' ') || '-'}` : '(unreadable)'} ${r.size}b\n`;
}

export interface LogTargets {
  access?: { file: LogFile; format: AccessFormat };
  query?: { file: LogFile; format: QueryFormat };
}

/** Drains rings into the log files every `everyMs`, and once more at stop. */
export class LogDrain {
  private readonly timer: NodeJS.Timeout;
  private failed = false;

  constructor(private readonly rings: () => LogRing[], private readonly targets: LogTargets, private readonly log: Logger, everyMs = 100) {
    this.timer = setInterval(() => this.drain(), everyMs);
    this.timer.unref();
  }

  drain(): void {
    let access = '';
    let query = '';
    const { access: a, query: q } = this.targets;
    for (const ring of this.rings()) {
      ring.take((r) => {
        if (r.kind === KIND_ACCESS && a) access += formatAccess(r, a.format);
        else if (r.kind === KIND_QUERY && q) query += formatQuery(r, q.format);
      });
    }
    // A full disk or a file gone read-only costs that file's lines, said once until it works again.
    let failed = false;
    for (const [t, text] of [[a, access], [q, query]] as const) {
      try {
        t?.file.write(text);
      } catch (e) {
        failed = true;
        if (!this.failed) this.log.error({ ...errorFields(e), file: t?.file.path }, 'cannot write to a log file; its lines are lost until it can');
      }
    }
    this.failed = failed;
  }

  /** SIGUSR1: what is waiting goes to the old files, then both are reopened. */
  reopen(): void {
    this.drain();
    for (const t of [this.targets.access, this.targets.query]) {
      if (!t) continue;
      try {
        t.file.reopen();
        this.log.info({ file: t.file.path }, 'log file reopened');
      } catch (e) {
        this.log.error({ ...errorFields(e) }, `cannot reopen ${t.file.path}; writing on to the old file`);
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.drain();
    this.targets.access?.file.close();
    this.targets.query?.file.close();
  }
}
