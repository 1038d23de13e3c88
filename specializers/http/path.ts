// Request-target paths: from what the client sent to the key the route table is built on.
//
// RFC 9112 §3.2 (request-target forms), RFC 3986 §2.1 (percent-encoding) and §5.2.4
// (remove_dot_segments). Like nginx, the path is percent-decoded first and dot segments
// are removed after (so "%2e%2e" climbs too), runs of slashes are merged, and the query
// and fragment play no part in the lookup. A path that climbs above the root is refused.

/** Longest decoded path kept; longer request-targets were already refused with 414. */
export const MAX_PATH_BYTES = 8192;

export const PATH_BAD = -1;

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * Index where the path of an origin-form or absolute-form target starts, or -1.
 * For "http://host/x" that is the index of "/x"; for a target without a path
 * ("http://host") it is the target's length (the path is then "/").
 */
export function pathStart(target: string): number {
  if (target.charCodeAt(0) === 0x2f) return 0;
  const colon = target.indexOf('://');
  if (colon <= 0) return -1;
  const scheme = target.slice(0, colon).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return -1;
  const slash = target.indexOf('/', colon + 3);
  return slash < 0 ? target.length : slash;
}

/** The authority of an absolute-form target ("http://Host:80/x" → "Host:80"), else undefined. */
export function targetAuthority(target: string): string | undefined {
  if (target.charCodeAt(0) === 0x2f) return undefined;
  const colon = target.indexOf('://');
  if (colon <= 0) return undefined;
  const start = colon + 3;
  let end = start;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break;
    end++;
  }
  return target.slice(start, end);
}

const scratch = new Uint8Array(MAX_PATH_BYTES);

/**
 * Decodes and normalizes the path of a request-target into `out`. Returns the length of
 * the normalized path (always starting with "/"), or PATH_BAD when the target is not a
 * path, has a malformed or NUL percent-escape, is too long, or climbs above the root.
 *
 * Two passes without allocation: percent-decode into a scratch buffer (a decoded "%2F"
 * then separates segments, as in nginx), then walk the segments into `out`, where ".."
 * truncates `out` back to the slash before the previous segment.
 */
export function normalizePath(target: string, out: Uint8Array): number {
  let i = pathStart(target);
  if (i < 0) return PATH_BAD;
  let len = 0;
  for (const end = target.length; i < end; ) {
    let c = target.charCodeAt(i);
    if (c === 0x3f || c === 0x23) break; // query, fragment
    if (c === 0x25) {
      if (i + 2 >= end) return PATH_BAD;
      const h = hexVal(target.charCodeAt(i + 1));
      const l = hexVal(target.charCodeAt(i + 2));
      if (h < 0 || l < 0) return PATH_BAD;
      c = (h << 4) | l;
      if (c === 0) return PATH_BAD;
      i += 3;
    } else {
      if (c > 0xff) return PATH_BAD; // the parser already refused such targets
      i++;
    }
    if (len >= scratch.length) return PATH_BAD;
    scratch[len++] = c;
  }
  return removeDotSegments(scratch, len, out);
}

/** RFC 3986 §5.2.4 over a decoded path, slashes merged; PATH_BAD if it climbs above the root. */
export function removeDotSegments(src: Uint8Array, len: number, out: Uint8Array): number {
  let n = 0;
  out[n++] = 0x2f;
  let i = 0;
  while (i < len && src[i] === 0x2f) i++;
  while (i < len) {
    let j = i;
    while (j < len && src[j] !== 0x2f) j++;
    const segLen = j - i;
    if (segLen === 1 && src[i] === 0x2e) {
      // "." names the directory it is in: nothing to write
    } else if (segLen === 2 && src[i] === 0x2e && src[i + 1] === 0x2e) {
      if (n === 1) return PATH_BAD;
      n -= 2; // before the slash that ends the previous segment
      while (out[n] !== 0x2f) n--;
      n++;
    } else {
      if (n + segLen + 1 > out.length) return PATH_BAD;
      for (let k = i; k < j; k++) out[n++] = src[k]!;
      if (j < len) out[n++] = 0x2f; // a slash follows: the segment is a directory
    }
    i = j;
    while (i < len && src[i] === 0x2f) i++;
  }
  return n;
}

const UNRESERVED_OR_PATH = (() => {
  const t = new Uint8Array(256);
  const ok = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&\'()*+,;=:@/';
  for (let i = 0; i < ok.length; i++) t[ok.charCodeAt(i)] = 1;
  return t;
})();

/** Percent-encodes a decoded path (bytes) for use in a Location header. */
export function encodePath(path: Uint8Array): string {
  let s = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    s += UNRESERVED_OR_PATH[c] ? String.fromCharCode(c) : '%' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
  }
  return s;
}
