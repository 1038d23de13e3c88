// The build cache: what a build derives from a file's bytes (compressed variants, the
// partial sums of the TCP segments cut from them), kept between builds so that a rebuild
// redoes only what changed (--cache DIR; by default under the user's cache directory).
//
// Content-addressed: an entry's key is the SHA-256 of everything that shapes its bytes
// (the input's own SHA-256, the settings, the compressor's version), so an entry is never
// stale, only unused; a renamed file finds its entries, a changed one misses them. What
// the key names is the caller's (specializers/http/compress.ts, compile.ts).
//
//   DIR/v1/ab/ab12…ef          one file per entry, named by its key (64 hex digits)
//
//   entry  0 ┌─────────────────────────────────────┐
//            │ magic "APLCACHE"                  8 │
//          8 │ format version u32 (1), flags u32 0 │
//         16 │ payload length u64                  │
//         24 │ key                              32 │  the entry knows its name
//         56 │ SHA-256 of the payload           32 │
//         88 ├─────────────────────────────────────┤
//            │ payload                             │
//            └─────────────────────────────────────┘
//
// Safe to share between builds running at once and to lose at any moment:
//  - written whole or not at all: a temporary file in the entry's directory (a dotfile,
//    created exclusively, never through a link), then rename() over the name, which
//    readers see before or after, never half. Two builds writing one key write the same
//    bytes; the last rename wins. Not fsynced: a crash can leave a torn entry, and that
//    is what the check on read is for.
//  - checked on every read: the length, the key and the payload's SHA-256. An entry that
//    fails (a torn write, a bad disk, an edit) is counted as damaged, removed, and the
//    caller recomputes it; a damaged entry is never used.
//  - bounded: after a build, entries are removed least recently used first (a hit
//    refreshes the entry's mtime, at most once an hour) until the cache holds at most its
//    limit (1 GiB by default); temporary files older than an hour (a build that died) go
//    too. Only names of the shape above are ever removed.
//
// Not a defence against someone who can write to DIR: the check is a hash, not a
// signature; whoever may write the cache may choose what the next build publishes, as
// with ccache or a compiler's output directory.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writevSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../basics/errors.js';
import { readRegularFile } from './regular-file.js';

const MAGIC = Buffer.from('APLCACHE', 'latin1');
const FORMAT_VERSION = 1;
const ENTRY_HEADER_LEN = 88;
/** The directory under DIR that holds this format's entries: another format starts afresh beside it. */
const FORMAT_DIR = 'v1';
/** An entry is at most what an image can hold. */
const MAX_PAYLOAD = 0xffff_fff0;
/** A hit refreshes an entry's mtime (what eviction orders by) when it is older than this. */
const TOUCH_AFTER_MS = 3600_000;
/** A temporary file this old belongs to a build that is gone. */
const STALE_TEMP_MS = 3600_000;
export const DEFAULT_CACHE_LIMIT = 1 << 30;

const KEY_RE = /^[0-9a-f]{64}$/;
const PREFIX_RE = /^[0-9a-f]{2}$/;

/** The default cache directory: $XDG_CACHE_HOME/appliance, else ~/.cache/appliance. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'appliance');
}

/** A key: the SHA-256 of the parts' canonical JSON (keys sorted), as hex. */
export function cacheKey(parts: Record<string, string | number | boolean | null>): string {
  const sorted = Object.keys(parts).sort().map((k) => [k, parts[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

export interface CacheStats {
  /** Entries read and verified. */
  hits: number;
  /** Entries not there. */
  misses: number;
  /** Entries there but failing the check: removed, recomputed by the caller. */
  damaged: number;
  /** Entries written, and their bytes. */
  written: number;
  writtenBytes: number;
}

export interface PruneResult {
  entries: number;
  bytes: number;
  removed: number;
  removedBytes: number;
}

export class BuildCache {
  readonly stats: CacheStats = { hits: 0, misses: 0, damaged: 0, written: 0, writtenBytes: 0 };
  /** Why writing stopped (the first failure), for the build's warnings; null while it works. */
  writeFailure: string | null = null;
  private readonly root: string;
  private readonly madeDirs = new Set<string>();

  /**
   * `dir` is created when missing; a path that exists and is not a directory is a usage
   * error (a cache given by mistake as a file would be replaced entry by entry otherwise).
   */
  constructor(readonly dir: string, readonly limit: number = DEFAULT_CACHE_LIMIT) {
    try {
      const st = statSync(dir);
      if (!st.isDirectory()) throw new UsageError(`--cache ${dir}: not a directory; give a directory for the build cache, or --no-cache`);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--cache ${dir}: ${(e as Error).message}`);
    }
    this.root = join(dir, FORMAT_DIR);
  }

  private pathOf(key: string): string {
    return join(this.root, key.slice(0, 2), key);
  }

  /** The verified payload of an entry, or null (missing or damaged). */
  get(key: string): Uint8Array | null {
    const path = this.pathOf(key);
    const r = readRegularFile(path, { limit: MAX_PAYLOAD + ENTRY_HEADER_LEN, noFollow: true });
    if (!r.ok) {
      // Not there, or not to be read (ENOENT, EACCES, EIO): a miss. There but not an
      // entry's file (a directory, a FIFO, too large): damaged.
      if (r.errno === undefined) return this.damaged(path);
      this.stats.misses++;
      return null;
    }
    const b = r.bytes;
    if (b.length < ENTRY_HEADER_LEN) return this.damaged(path);
    const view = Buffer.from(b.buffer, b.byteOffset, b.length);
    if (!view.subarray(0, 8).equals(MAGIC) || view.readUInt32LE(8) !== FORMAT_VERSION || view.readUInt32LE(12) !== 0 ||
        view.readBigUInt64LE(16) !== BigInt(b.length - ENTRY_HEADER_LEN) ||
        view.subarray(24, 56).toString('hex') !== key) return this.damaged(path);
    const payload = b.subarray(ENTRY_HEADER_LEN);
    if (!createHash('sha256').update(payload).digest().equals(view.subarray(56, 88))) return this.damaged(path);
    this.stats.hits++;
    const now = Date.now();
    if (now - r.stat.mtimeMs > TOUCH_AFTER_MS) {
      try { utimesSync(path, now / 1000, now / 1000); } catch { /* a read-only cache is still a cache */ }
    }
    return payload;
  }

  private damaged(path: string): null {
    this.stats.damaged++;
    try { unlinkSync(path); } catch { /* gone already, or not ours to remove: the rewrite replaces it */ }
    return null;
  }

  /** Writes an entry whole (temporary file, then rename). A failure stops writing, never the build. */
  put(key: string, payload: Uint8Array | Uint8Array[]): void {
    if (this.writeFailure !== null) return;
    const parts = Array.isArray(payload) ? payload : [payload];
    const length = parts.reduce((n, p) => n + p.length, 0);
    if (length > MAX_PAYLOAD) return;
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    const header = Buffer.alloc(ENTRY_HEADER_LEN);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(FORMAT_VERSION, 8);
    header.writeBigUInt64LE(BigInt(length), 16);
    Buffer.from(key, 'hex').copy(header, 24);
    hash.digest().copy(header, 56);
    const dir = join(this.root, key.slice(0, 2));
    const tmp = join(dir, `.${key}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    let fd = -1;
    try {
      if (!this.madeDirs.has(dir)) {
        mkdirSync(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      let chunks = [header, ...parts];
      let left = ENTRY_HEADER_LEN + length;
      while (left > 0) {
        let n = writevSync(fd, chunks);
        left -= n;
        // A short write (a signal, a large entry): go on from where it stopped.
        while (n > 0 && chunks.length > 0) {
          const c = chunks[0]!;
          if (n >= c.length) { n -= c.length; chunks = chunks.slice(1); } else { chunks = [c.subarray(n), ...chunks.slice(1)]; n = 0; }
        }
      }
      closeSync(fd);
      fd = -1;
      renameSync(tmp, this.pathOf(key));
      this.stats.written++;
      this.stats.writtenBytes += ENTRY_HEADER_LEN + length;
    } catch (e) {
      if (fd >= 0) try { closeSync(fd); } catch { /* closing is all that is left */ }
      try { unlinkSync(tmp); } catch { /* never made */ }
      const err = e as NodeJS.ErrnoException;
      this.writeFailure = `cannot write to the build cache ${this.dir}: ${err.code ?? ''} ${err.message}; the build goes on without storing what it computes`;
    }
  }

  /**
   * Brings the cache within its limit, least recently used entries first; removes stale
   * temporary files. Returns what it holds afterwards. Entries another build removes
   * meanwhile are skipped; a build reading one of them sees a miss.
   */
  prune(now = Date.now()): PruneResult {
    const entries: Array<{ path: string; size: number; mtime: number }> = [];
    let bytes = 0;
    let removed = 0;
    let removedBytes = 0;
    let prefixes: string[];
    try {
      prefixes = readdirSync(this.root).filter((p) => PREFIX_RE.test(p));
    } catch {
      return { entries: 0, bytes: 0, removed: 0, removedBytes: 0 };
    }
    for (const p of prefixes) {
      const dir = join(this.root, p);
      let names: string[];
      try { names = readdirSync(dir); } catch { continue; }
      for (const name of names) {
        const path = join(dir, name);
        const isEntry = KEY_RE.test(name) && name.startsWith(p);
        const isTemp = name.startsWith('.') && name.includes('.tmp-') && KEY_RE.test(name.slice(1, 65));
        if (!isEntry && !isTemp) continue;
        let st;
        try { st = lstatSync(path); } catch { continue; }
        if (!st.isFile()) continue;
        if (isTemp) {
          if (now - st.mtimeMs > STALE_TEMP_MS) try { unlinkSync(path); } catch { /* another build took it */ }
          continue;
        }
        entries.push({ path, size: st.size, mtime: st.mtimeMs });
        bytes += st.size;
      }
    }
    if (bytes > this.limit) {
      entries.sort((a, b) => a.mtime - b.mtime || (a.path < b.path ? -1 : 1));
      for (const e of entries) {
        if (bytes <= this.limit) break;
        try { unlinkSync(e.path); } catch { continue; }
        bytes -= e.size;
        removed++;
        removedBytes += e.size;
      }
    }
    return { entries: entries.length - removed, bytes, removed, removedBytes };
  }
}
