// Conditional requests: RFC 9110 §13.1 (preconditions), §8.8.3 (entity tags and comparison).
//
// The representation's entity tag is read in place from the image (quotes included), so a
// comparison makes no string out of it.

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Does the tag at header[from, to) equal the stored tag, by weak or strong comparison? */
function tagEquals(header: string, from: number, to: number, tag: Uint8Array, tagOff: number, tagLen: number, strong: boolean): boolean {
  if (to - from >= 2 && header.charCodeAt(from) === 0x57 && header.charCodeAt(from + 1) === 0x2f) {
    if (strong) return false; // W/"x" never matches strongly
    from += 2;
  }
  if (to - from !== tagLen) return false;
  for (let i = 0; i < tagLen; i++) {
    if (header.charCodeAt(from + i) !== tag[tagOff + i]) return false;
  }
  return true;
}

/**
 * Does a list of entity tags (If-None-Match, If-Match) match the stored one?
 * "*" matches any current representation. Weak comparison for If-None-Match, strong for
 * If-Match (RFC 9110 §13.1.1, §13.1.2).
 */
export function etagListMatches(header: string, tag: Uint8Array, tagOff: number, tagLen: number, strong: boolean): boolean {
  const len = header.length;
  let i = 0;
  while (i < len && isWs(header.charCodeAt(i))) i++;
  if (i < len && header.charCodeAt(i) === 0x2a) return true;
  while (i < len) {
    while (i < len && (isWs(header.charCodeAt(i)) || header.charCodeAt(i) === 0x2c)) i++;
    if (i >= len) break;
    // an entity-tag: [W/] DQUOTE etagc* DQUOTE; commas may not appear inside
    const start = i;
    if (header.charCodeAt(i) === 0x57 && header.charCodeAt(i + 1) === 0x2f) i += 2;
    if (header.charCodeAt(i) !== 0x22) {
      while (i < len && header.charCodeAt(i) !== 0x2c) i++; // malformed member: skip it
      continue;
    }
    const close = header.indexOf('"', i + 1);
    if (close < 0) return false;
    if (tagEquals(header, start, close + 1, tag, tagOff, tagLen, strong)) return true;
    i = close + 1;
  }
  return false;
}

/** If-Range (RFC 9110 §13.1.5): an entity tag compared strongly, or an exact date. */
export function ifRangeMatches(header: string, tag: Uint8Array, tagOff: number, tagLen: number, mtime: number, parseDate: (s: string) => number): boolean {
  const h = header.trim();
  if (h.startsWith('"') || h.startsWith('W/')) return tagEquals(h, 0, h.length, tag, tagOff, tagLen, true);
  return parseDate(h) === mtime;
}
