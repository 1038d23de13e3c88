// The HTTP tables of a loaded image, as typed views over the shared bytes (no copy).
//
// Layouts: specializers/http/layout.ts. Loading checks every index a request can reach,
// so that a hand-made or damaged image whose hash was recomputed can never make the
// responder read outside a table: it is refused with APPL_ERR_IMAGE_CORRUPT instead.

import { ImageError } from '../../basics/errors.js';
import { SectionId, sectionWords, type Image } from '../../specializers/image/format.js';
import { hashBytes } from '../../specializers/image/hash.js';
import * as L from '../../specializers/http/layout.js';

export class HttpTables {
  readonly blob: Uint8Array;
  /** Offset of the BLOB inside the shared image (for Buffer views of response bytes). */
  readonly blobAt: number;
  readonly sites: Uint32Array;
  readonly routes: Uint32Array;
  readonly hash: Uint32Array;
  readonly variants: Uint32Array;
  readonly responses: Uint32Array;
  readonly segments: Uint32Array;
  readonly special: Uint32Array;
  readonly siteCount: number;
  readonly defaultSite: number;
  private readonly hostIndex = new Map<string, number>();

  constructor(readonly image: Image) {
    const blob = image.sections.get(SectionId.BLOB)!;
    this.blob = new Uint8Array(image.shared, blob.offset, blob.length);
    this.blobAt = blob.offset;
    this.sites = sectionWords(image, SectionId.HTTP_SITES);
    this.routes = sectionWords(image, SectionId.HTTP_ROUTES);
    this.hash = sectionWords(image, SectionId.HTTP_ROUTE_HASH);
    this.variants = sectionWords(image, SectionId.HTTP_VARIANTS);
    this.responses = sectionWords(image, SectionId.HTTP_RESPONSES);
    this.segments = sectionWords(image, SectionId.HTTP_SEGMENTS);
    this.special = sectionWords(image, SectionId.HTTP_SPECIAL);
    this.siteCount = Math.floor(this.sites.length / L.SITE_WORDS);
    let def = 0;
    for (let s = 0; s < this.siteCount; s++) {
      const at = s * L.SITE_WORDS;
      if (this.sites[at + L.SITE_FLAGS]! & L.SITE_FLAG_DEFAULT) def = s;
      const len = this.sites[at + L.SITE_HOST_LEN]!;
      if (len > 0) {
        const off = this.sites[at + L.SITE_HOST_OFF]!;
        this.checkSpan(off, len, 'site host');
        this.hostIndex.set(Buffer.from(this.blob.buffer, this.blob.byteOffset + off, len).toString('latin1'), s);
      }
    }
    this.defaultSite = def;
    this.validate();
  }

  /** Does the image serve HTTP at all? */
  get hasSites(): boolean {
    return this.siteCount > 0;
  }

  /** The site for a Host header value ("Example.com:8080" → example.com's site), else the default. */
  siteFor(host: string | undefined): number {
    if (host === undefined || this.hostIndex.size === 0) return this.defaultSite;
    let h = host;
    if (h.charCodeAt(0) !== 0x5b) {
      const colon = h.lastIndexOf(':');
      if (colon >= 0) h = h.slice(0, colon);
    } else {
      const close = h.indexOf(']');
      if (close > 0) h = h.slice(0, close + 1);
    }
    if (h.endsWith('.')) h = h.slice(0, -1);
    const s = this.hostIndex.get(h) ?? this.hostIndex.get(h.toLowerCase());
    return s ?? this.defaultSite;
  }

  /** Route index of a normalized path in a site, or -1. */
  lookup(site: number, key: Uint8Array, keyLen: number): number {
    const at = site * L.SITE_WORDS;
    const base = this.sites[at + L.SITE_HASH_AT]!;
    const mask = this.sites[at + L.SITE_HASH_SIZE]! - 1;
    const h = hashBytes(key, 0, keyLen);
    const routes = this.routes;
    const blob = this.blob;
    for (let slot = h & mask, probes = 0; probes <= mask; slot = (slot + 1) & mask, probes++) {
      const entry = this.hash[base + slot]!;
      if (entry === 0) return -1;
      const r = entry - 1;
      const ra = r * L.ROUTE_WORDS;
      if (routes[ra + L.ROUTE_HASH] !== h || routes[ra + L.ROUTE_KEY_LEN] !== keyLen) continue;
      const off = routes[ra + L.ROUTE_KEY_OFF]!;
      let i = 0;
      while (i < keyLen && blob[off + i] === key[i]) i++;
      if (i === keyLen) return r;
    }
    return -1;
  }

  private corrupt(what: string): never {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', this.image.file, `HTTP tables: ${what}`);
  }

  private checkSpan(off: number, len: number, what: string): void {
    if (off + len > this.blob.length) this.corrupt(`${what} outside the BLOB`);
  }

  private checkResponse(r: number, what: string): void {
    if (r >= this.responses.length / L.RESPONSE_WORDS) this.corrupt(`${what} names response ${r}, past the table`);
  }

  private validate(): void {
    const nResp = this.responses.length / L.RESPONSE_WORDS;
    const nSeg = this.segments.length / L.SEGMENT_WORDS;
    const nVar = this.variants.length / L.VARIANT_WORDS;
    const nRoute = this.routes.length / L.ROUTE_WORDS;
    if (![nResp, nSeg, nVar, nRoute].every(Number.isInteger) || this.sites.length % L.SITE_WORDS !== 0) {
      this.corrupt('a table is not a whole number of records');
    }
    if (this.siteCount > 0 && this.special.length !== L.SPECIAL_COUNT) this.corrupt('special responses missing');
    for (let i = 0; i < this.special.length; i++) this.checkResponse(this.special[i]!, 'special response');
    for (let r = 0; r < nResp; r++) {
      const a = r * L.RESPONSE_WORDS;
      const headOff = this.responses[a + L.RESP_HEAD_OFF]!;
      const headLen = this.responses[a + L.RESP_HEAD_LEN]!;
      this.checkSpan(headOff, headLen + this.responses[a + L.RESP_BODY_LEN]!, `response ${r}`);
      if (this.responses[a + L.RESP_DATE_AT]! + L.DATE_LEN > headLen || this.responses[a + L.RESP_CONN_AT]! + L.CONN_LEN > headLen) {
        this.corrupt(`response ${r}: patch offsets outside its header block`);
      }
      for (const [at, count] of [[L.RESP_SEG4_AT, L.RESP_SEG4_COUNT], [L.RESP_SEG6_AT, L.RESP_SEG6_COUNT]] as const) {
        if (this.responses[a + at]! + this.responses[a + count]! > nSeg) this.corrupt(`response ${r}: segments past the table`);
      }
      if (this.responses[a + L.RESP_BODY_LEN]! > 0 && r + 1 >= nResp) this.corrupt(`response ${r}: no HEAD form`);
    }
    for (let s = 0; s < nSeg; s++) {
      const a = s * L.SEGMENT_WORDS;
      this.checkSpan(this.segments[a + L.SEG_OFF]!, this.segments[a + L.SEG_LEN_SUM]! >>> 16, `segment ${s}`);
    }
    for (let v = 0; v < nVar; v++) {
      const a = v * L.VARIANT_WORDS;
      this.checkSpan(this.variants[a + L.VAR_ETAG_OFF]!, this.variants[a + L.VAR_ETAG_LEN]!, `variant ${v} etag`);
      this.checkSpan(this.variants[a + L.VAR_BODY_OFF]!, this.variants[a + L.VAR_BODY_LEN]!, `variant ${v} body`);
      this.checkSpan(this.variants[a + L.VAR_FIELDS_OFF]!, this.variants[a + L.VAR_FIELDS_LEN]!, `variant ${v} fields`);
      this.checkResponse(this.variants[a + L.VAR_RESP]!, `variant ${v}`);
      this.checkResponse(this.variants[a + L.VAR_RESP_304]!, `variant ${v}`);
      if (this.variants[a + L.VAR_ENCODING]! > L.ENC_BR) this.corrupt(`variant ${v}: unknown encoding`);
    }
    for (let r = 0; r < nRoute; r++) {
      const a = r * L.ROUTE_WORDS;
      this.checkSpan(this.routes[a + L.ROUTE_KEY_OFF]!, this.routes[a + L.ROUTE_KEY_LEN]!, `route ${r} key`);
      const kind = this.routes[a + L.ROUTE_KIND]!;
      if (kind === L.KIND_FILE) {
        const first = this.routes[a + L.ROUTE_A]!, count = this.routes[a + L.ROUTE_B]!;
        if (count === 0 || first + count > nVar) this.corrupt(`route ${r}: variants past the table`);
      } else if (kind === L.KIND_REDIRECT) {
        this.checkResponse(this.routes[a + L.ROUTE_A]!, `route ${r}`);
        this.checkSpan(this.routes[a + L.ROUTE_B]!, this.routes[a + L.ROUTE_C]!, `route ${r} location`);
      } else if (kind === L.KIND_FORBIDDEN) {
        this.checkResponse(this.routes[a + L.ROUTE_A]!, `route ${r}`);
      } else {
        this.corrupt(`route ${r}: unknown kind ${kind}`);
      }
    }
    for (let s = 0; s < this.siteCount; s++) {
      const a = s * L.SITE_WORDS;
      const base = this.sites[a + L.SITE_HASH_AT]!, size = this.sites[a + L.SITE_HASH_SIZE]!;
      if (size === 0 || (size & (size - 1)) !== 0 || base + size > this.hash.length) this.corrupt(`site ${s}: bad hash table`);
      this.checkResponse(this.sites[a + L.SITE_RESP_404]!, `site ${s}`);
      this.checkResponse(this.sites[a + L.SITE_RESP_403]!, `site ${s}`);
    }
    for (let i = 0; i < this.hash.length; i++) {
      if (this.hash[i]! > nRoute) this.corrupt(`hash slot ${i} names a route past the table`);
    }
  }
}
