// The HTTP responder: a parsed request head in, the response to send out.
//
// It knows requests and the image's tables, never sockets or segments: the answer is a
// plan (a prebuilt response to send as is, with its Date and Connection fields patched,
// or for the rare dynamic cases — 206, 412, 416, a redirect that keeps a query — a header
// block made here and a span of the image to send after it). Transports render the plan.
//
// RFC 9110 §9.3.1-2 (GET, HEAD), §13.2.2 (order of preconditions), §14 (ranges),
// §15.4.2 (301), §15.5.6 (405 with Allow).

import { ENC_IDENTITY } from '../../specializers/http/layout.js';
import * as L from '../../specializers/http/layout.js';
import { reasonPhrase } from '../../specializers/http/status.js';
import { etagListMatches, ifRangeMatches } from './conditional.js';
import { parseHttpDate } from '../../specializers/http/date.js';
import { chooseEncoding } from './negotiate.js';
import { MAX_PATH_BYTES, normalizePath, PATH_BAD, targetAuthority } from '../../specializers/http/path.js';
import { parseRange, RANGE_ONE, RANGE_UNSATISFIABLE, type RangeOut } from './range.js';
import { METHOD_GET, METHOD_HEAD, type RequestHead } from './request.js';
import type { HttpTables } from './tables.js';

export const PLAN_TEMPLATE = 0;
export const PLAN_DYNAMIC = 1;

/** What to send. Reused per connection; the responder overwrites every field. */
export class ResponsePlan {
  kind = PLAN_TEMPLATE;
  /** PLAN_TEMPLATE: the response record to send. */
  resp = 0;
  /** Close the connection after this response. */
  close = false;
  status = 0;
  /** PLAN_DYNAMIC: the header block, complete with Date and Connection. */
  head = '';
  /** PLAN_DYNAMIC: the body as a span of the BLOB (length 0: none). */
  bodyOff = 0;
  bodyLen = 0;
}

export class HttpResponder {
  private readonly key = new Uint8Array(MAX_PATH_BYTES);
  private readonly range: RangeOut = { first: 0, last: 0 };
  /** The Date field value used in dynamic heads; the transport keeps it current. */
  date = '';
  /** The last request's target and Host, and the site and route they led to (forgotten when the tables change). */
  private lastTarget: string | null = null;
  private lastHost: string | undefined = undefined;
  private lastSite = 0;
  private lastRoute = -1;

  constructor(private tables: HttpTables) {}

  get t(): HttpTables {
    return this.tables;
  }

  /** A reloaded image's tables, for the requests from now on. */
  setTables(t: HttpTables): void {
    this.tables = t;
    this.lastTarget = null;
    this.lastHost = undefined;
    this.lastRoute = -1;
  }

  /** A prebuilt response for a request that could not be parsed (400, 414, 431, 505). */
  planError(status: number, plan: ResponsePlan): void {
    const slot = status === 414 ? L.SPECIAL_414 : status === 431 ? L.SPECIAL_431 : status === 505 ? L.SPECIAL_505 : L.SPECIAL_400;
    this.template(plan, this.t.special[slot]!, true);
  }

  respond(req: RequestHead, plan: ResponsePlan): void {
    const t = this.t;
    const head = req.method === METHOD_HEAD;
    let close = !req.keepAlive;
    if (req.method !== METHOD_GET && !head) {
      // Any body is read and discarded by the session, chunked or not (as nginx).
      this.template(plan, t.special[L.SPECIAL_405]!, close);
      return;
    }
    let site: number, r: number;
    if (req.target === this.lastTarget && req.host === this.lastHost) {
      // The same target and Host as the last request (a client asking again): the same route.
      site = this.lastSite;
      r = this.lastRoute;
    } else {
      const n = normalizePath(req.target, this.key);
      if (n === PATH_BAD) {
        this.template(plan, t.special[L.SPECIAL_400]!, true);
        return;
      }
      site = t.siteFor(targetAuthority(req.target) ?? req.host);
      r = t.lookup(site, this.key, n);
      this.lastTarget = req.target;
      this.lastHost = req.host;
      this.lastSite = site;
      this.lastRoute = r;
    }
    if (r < 0) {
      this.template(plan, this.headForm(t.sites[site * L.SITE_WORDS + L.SITE_RESP_404]!, head), close);
      return;
    }
    const ra = r * L.ROUTE_WORDS;
    const kind = t.routes[ra + L.ROUTE_KIND]!;
    if (kind === L.KIND_FORBIDDEN) {
      this.template(plan, this.headForm(t.routes[ra + L.ROUTE_A]!, head), close);
      return;
    }
    if (kind === L.KIND_REDIRECT) {
      const q = req.target.indexOf('?');
      if (q < 0) {
        this.template(plan, this.headForm(t.routes[ra + L.ROUTE_A]!, head), close);
      } else {
        // nginx keeps the query of a directory redirect; so do we, in a header made here.
        const loc = this.blobText(t.routes[ra + L.ROUTE_B]!, t.routes[ra + L.ROUTE_C]!) + req.target.slice(q);
        const resp = t.routes[ra + L.ROUTE_A]!;
        const body = this.respBody(resp);
        this.dynamic(plan, 301, `Location: ${loc}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body[1]}\r\n`,
          head ? 0 : body[0], head ? 0 : body[1], close);
      }
      return;
    }
    // A file: choose the representation, then evaluate preconditions in RFC 9110 §13.2.2 order.
    const first = t.routes[ra + L.ROUTE_A]!;
    const count = t.routes[ra + L.ROUTE_B]!;
    const enc = chooseEncoding(req.acceptEncoding, t.routes[ra + L.ROUTE_C]!);
    let v = first;
    if (enc !== ENC_IDENTITY) {
      for (let i = 0; i < count; i++) {
        if (t.variants[(first + i) * L.VARIANT_WORDS + L.VAR_ENCODING] === enc) v = first + i;
      }
    }
    const va = v * L.VARIANT_WORDS;
    const tagOff = t.variants[va + L.VAR_ETAG_OFF]!;
    const tagLen = t.variants[va + L.VAR_ETAG_LEN]!;
    const mtime = t.variants[va + L.VAR_MTIME]!;
    if (req.ifMatch !== undefined) {
      if (!etagListMatches(req.ifMatch, t.blob, tagOff, tagLen, true)) return this.preconditionFailed(plan, close);
    } else if (req.ifUnmodifiedSince !== undefined) {
      const since = parseHttpDate(req.ifUnmodifiedSince);
      if (since === since && mtime > since) return this.preconditionFailed(plan, close);
    }
    if (req.ifNoneMatch !== undefined) {
      if (etagListMatches(req.ifNoneMatch, t.blob, tagOff, tagLen, false)) {
        this.template(plan, t.variants[va + L.VAR_RESP_304]!, close);
        return;
      }
    } else if (req.ifModifiedSince !== undefined) {
      const since = parseHttpDate(req.ifModifiedSince);
      if (since === since && mtime <= since) {
        this.template(plan, t.variants[va + L.VAR_RESP_304]!, close);
        return;
      }
    }
    // Ranges are defined for GET only (RFC 9110 §14.2); HEAD gets the 200 header block.
    if (req.range !== undefined && !head) {
      const size = t.variants[va + L.VAR_BODY_LEN]!;
      if (req.ifRange === undefined || ifRangeMatches(req.ifRange, t.blob, tagOff, tagLen, mtime, parseHttpDate)) {
        const kindOfRange = parseRange(req.range, size, this.range);
        if (kindOfRange === RANGE_ONE) {
          const { first: a, last: b } = this.range;
          const fields = this.blobText(t.variants[va + L.VAR_FIELDS_OFF]!, t.variants[va + L.VAR_FIELDS_LEN]!);
          this.dynamic(plan, 206, fields + `Content-Range: bytes ${a}-${b}/${size}\r\nContent-Length: ${b - a + 1}\r\n`,
            t.variants[va + L.VAR_BODY_OFF]! + a, b - a + 1, close);
          return;
        }
        if (kindOfRange === RANGE_UNSATISFIABLE) {
          this.dynamic(plan, 416, `Content-Range: bytes */${size}\r\nContent-Length: 0\r\n`, 0, 0, close);
          return;
        }
      }
    }
    this.template(plan, this.headForm(t.variants[va + L.VAR_RESP]!, head), close);
  }

  private preconditionFailed(plan: ResponsePlan, close: boolean): void {
    this.dynamic(plan, 412, 'Content-Length: 0\r\n', 0, 0, close);
  }

  /** The HEAD form of a response that has a body is the record after it. */
  private headForm(resp: number, head: boolean): number {
    return head && this.t.responses[resp * L.RESPONSE_WORDS + L.RESP_BODY_LEN]! > 0 ? resp + 1 : resp;
  }

  private template(plan: ResponsePlan, resp: number, close: boolean): void {
    const a = resp * L.RESPONSE_WORDS;
    plan.kind = PLAN_TEMPLATE;
    plan.resp = resp;
    plan.status = this.t.responses[a + L.RESP_STATUS]!;
    plan.close = close || (this.t.responses[a + L.RESP_FLAGS]! & L.RESP_FLAG_CLOSE) !== 0;
    plan.bodyOff = 0;
    plan.bodyLen = 0;
    plan.head = '';
  }

  private dynamic(plan: ResponsePlan, status: number, fields: string, bodyOff: number, bodyLen: number, close: boolean): void {
    plan.kind = PLAN_DYNAMIC;
    plan.status = status;
    plan.close = close;
    plan.head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nDate: ${this.date}\r\nConnection: ${close ? 'close' : 'keep-alive'}\r\n` +
      `Server: ${L.SERVER_NAME}\r\n${fields}\r\n`;
    plan.bodyOff = bodyOff;
    plan.bodyLen = bodyLen;
  }

  private respBody(resp: number): [number, number] {
    const a = resp * L.RESPONSE_WORDS;
    const r = this.t.responses;
    return [r[a + L.RESP_HEAD_OFF]! + r[a + L.RESP_HEAD_LEN]!, r[a + L.RESP_BODY_LEN]!];
  }

  private blobText(off: number, len: number): string {
    return Buffer.from(this.t.blob.buffer, this.t.blob.byteOffset + off, len).toString('latin1');
  }
}
