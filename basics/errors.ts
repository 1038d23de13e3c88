// The errors a person sees: build, configuration, image and binding errors.
//
// basics/ is the leaf of the dependency rule: it imports nothing from the repository.
//
// One small class tree with stable codes. A message says what is wrong, where, and what
// to do. Malformed packets on the hot path are never errors: they are counted drops.

export type ErrorCode =
  | 'APPL_ERR_USAGE'
  | 'APPL_ERR_IMAGE_OPEN'
  | 'APPL_ERR_IMAGE_TRUNCATED'
  | 'APPL_ERR_IMAGE_MAGIC'
  | 'APPL_ERR_IMAGE_VERSION'
  | 'APPL_ERR_IMAGE_CHECKSUM'
  | 'APPL_ERR_IMAGE_CORRUPT'
  | 'APPL_ERR_IMAGE_WRITE'
  | 'APPL_ERR_SITE_READ'
  | 'APPL_ERR_SITE_SYMLINK'
  | 'APPL_ERR_SITE_CONFIG'
  | 'APPL_ERR_BUILD_STRICT'
  | 'APPL_ERR_ZONE_READ'
  | 'APPL_ERR_ZONE_PARSE'
  | 'APPL_ERR_ZONE_CHECK'
  | 'APPL_ERR_ZONE_DNSSEC'
  | 'APPL_ERR_LISTEN'
  | 'APPL_ERR_XDP_OPEN'
  | 'APPL_ERR_XDP_PERMISSION'
  | 'APPL_ERR_XDP_UNSUPPORTED'
  | 'APPL_ERR_XDP_IFACE'
  | 'APPL_ERR_XDP_QUEUE'
  | 'APPL_ERR_XDP_UMEM'
  | 'APPL_ERR_XDP_ATTACH'
  | 'APPL_ERR_XDP_BUSY'
  | 'APPL_ERR_XDP_NATIVE'
  | 'APPL_ERR_XDP_NETNS'
  | 'APPL_ERR_XDP_LOAD'
  | 'APPL_ERR_CAPTURE'
  | 'APPL_ERR_WORKER'
  | 'APPL_ERR_RELOAD'
  | 'APPL_ERR_CONFIG'
  | 'APPL_ERR_BENCH'
  | 'APPL_ERR_INSTALL'
  // Zone transfers from a primary (appliance/secondary/): RFC 5936, RFC 1995, RFC 8945.
  | 'APPL_ERR_XFR_TIMEOUT'
  | 'APPL_ERR_XFR_CONNECT'
  | 'APPL_ERR_XFR_RCODE'
  | 'APPL_ERR_XFR_FORMAT'
  | 'APPL_ERR_XFR_TSIG'
  | 'APPL_ERR_XFR_LIMIT'
  | 'APPL_ERR_XFR_CLOSED'
  | 'APPL_ERR_XFR_ABORTED'
  | 'APPL_ERR_SECONDARY';

export class ApplianceError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApplianceError';
    this.code = code;
  }
}

/** The image file is unreadable, truncated, corrupted, foreign or of another version. */
export class ImageError extends ApplianceError {
  constructor(code: ErrorCode, readonly file: string, message: string) {
    super(code, `${file}: ${message}`);
    this.name = 'ImageError';
  }
}

/** A site or zone input that cannot be built; names the file (and line, for zones). */
export class BuildInputError extends ApplianceError {
  constructor(code: ErrorCode, readonly file: string, readonly line: number | undefined, message: string) {
    super(code, line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'BuildInputError';
  }
}

/** A command-line or configuration mistake. */
export class UsageError extends ApplianceError {
  constructor(message: string) {
    super('APPL_ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

/**
 * Is this an error a person should see as "CODE: message"? Ours, or one of another layer
 * with the same kind of code (netmap-binding has its own class, as it imports nothing).
 */
export function isApplianceError(e: unknown): e is Error & { code: ErrorCode } {
  if (e instanceof ApplianceError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('APPL_ERR_');
}
