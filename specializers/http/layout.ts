// Record layouts of the HTTP tables in the image (all u32 words, little-endian).
//
// Byte offsets (…_OFF) point into the BLOB section. Every response is stored as its full
// header block followed at once by its body, so a response is one contiguous span and
// the TCP segments cut from it are spans too.
//
//   SITES      one record per site                      SITE_WORDS words
//   ROUTES     one record per path of every site        ROUTE_WORDS words
//   ROUTE_HASH per site, a power-of-two run of slots:   slot = route index + 1, 0 = empty
//   VARIANTS   one record per representation            VARIANT_WORDS words
//   RESPONSES  one record per prebuilt response         RESPONSE_WORDS words;
//              a response with a body at index r has its HEAD form (same header block,
//              no body) at r + 1
//   SEGMENTS   per response and MSS, consecutive        SEGMENT_WORDS words
//   SPECIAL    response indices for errors that do not depend on the site (SPECIAL_*)
//
// A response's header block always starts like this, so that the two per-request fields
// sit at offsets stored in the record, inside the first TCP segment, with fixed widths:
//
//   HTTP/1.1 200 OK\r\n
//   Date: Wed, 25 Nov 2026 18:06:42 GMT\r\n      ← RESP_DATE_AT: 29 bytes, IMF-fixdate
//   Connection: keep-alive\r\n                    ← RESP_CONN_AT: 10 bytes, "keep-alive"
//   Server: appliance\r\n                                         or "close     "
//   …the representation's fields (Content-Type, ETag, …)…   ← VAR_FIELDS_OFF/LEN
//   Content-Length: N\r\n
//   \r\n

export const SITE_WORDS = 8;
export const SITE_HOST_OFF = 0; // host name (lower case, no port), BLOB bytes
export const SITE_HOST_LEN = 1; // 0 for a site that has no host name
export const SITE_HASH_AT = 2; // first slot of this site's run in ROUTE_HASH
export const SITE_HASH_SIZE = 3; // number of slots (power of two)
export const SITE_RESP_404 = 4; // its 404 response (its own 404.html, or the default page)
export const SITE_RESP_403 = 5; // directory without an index
export const SITE_FLAGS = 6;
export const SITE_FLAG_DEFAULT = 1;

export const ROUTE_WORDS = 8;
export const ROUTE_KEY_OFF = 0; // the decoded, normalized path ("/a b/ü.html"), BLOB bytes
export const ROUTE_KEY_LEN = 1;
export const ROUTE_HASH = 2; // hashBytes of the key
export const ROUTE_KIND = 3;
export const ROUTE_A = 4;
export const ROUTE_B = 5;
export const ROUTE_C = 6;
export const ROUTE_SITE = 7;
/** A file: A = first variant, B = variant count (identity first). */
export const KIND_FILE = 1;
/** A directory named without its slash: A = the 301 response, B/C = Location path bytes. */
export const KIND_REDIRECT = 2;
/** A directory without an index file: A = the site's 403 response. */
export const KIND_FORBIDDEN = 3;

export const VARIANT_WORDS = 12;
export const VAR_ENCODING = 0; // ENC_*
export const VAR_ETAG_OFF = 1; // the entity tag with its quotes
export const VAR_ETAG_LEN = 2;
export const VAR_MTIME = 3; // Last-Modified, seconds since the epoch
export const VAR_BODY_OFF = 4;
export const VAR_BODY_LEN = 5;
export const VAR_RESP = 6; // the 200 response; its HEAD form is VAR_RESP + 1
export const VAR_RESP_304 = 7;
export const VAR_FIELDS_OFF = 8; // the representation's header lines, reused for 206
export const VAR_FIELDS_LEN = 9;

export const ENC_IDENTITY = 0;
export const ENC_GZIP = 1;
export const ENC_BR = 2;
export const ENCODING_NAMES = ['identity', 'gzip', 'br'] as const;

export const RESPONSE_WORDS = 12;
export const RESP_STATUS = 0;
export const RESP_FLAGS = 1;
export const RESP_HEAD_OFF = 2;
export const RESP_HEAD_LEN = 3;
export const RESP_BODY_LEN = 4; // the body follows the header block at once
export const RESP_DATE_AT = 5; // offset of the Date value from the start of the header block
export const RESP_CONN_AT = 6; // offset of the Connection value
export const RESP_SEG4_AT = 7; // first segment for MSS_IPV4
export const RESP_SEG4_COUNT = 8;
export const RESP_SEG6_AT = 9; // first segment for MSS_IPV6
export const RESP_SEG6_COUNT = 10;
/** The connection must be closed after this response (400, 414, 431, 505). */
export const RESP_FLAG_CLOSE = 1;
/** This record is the HEAD form of the record before it. */
export const RESP_FLAG_HEAD = 2;

export const SEGMENT_WORDS = 2;
export const SEG_OFF = 0; // BLOB offset of the payload
export const SEG_LEN_SUM = 1; // length << 16 | RFC 1071 partial sum of the payload

export const MSS_IPV4 = 1460;
export const MSS_IPV6 = 1440;

export const SPECIAL_400 = 0;
export const SPECIAL_405 = 1;
export const SPECIAL_414 = 2;
export const SPECIAL_431 = 3;
export const SPECIAL_505 = 4;
export const SPECIAL_COUNT = 5;

export const DATE_LEN = 29; // "Wed, 25 Nov 2026 18:06:42 GMT"
export const CONN_LEN = 10;
export const CONN_KEEP_ALIVE = 'keep-alive';
export const CONN_CLOSE = 'close     ';
export const SERVER_NAME = 'appliance';
