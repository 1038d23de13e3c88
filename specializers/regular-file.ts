// Reading the files a build is given (site files, zone files, $INCLUDEs) and the image a
// server loads: regular files only, never read past a bound, never blocked on.
//
// A path is judged by stat() before it is opened (a FIFO, a device or a directory is
// refused without being opened: opening a tape or a FIFO has effects of its own), opened
// with O_NONBLOCK (were a FIFO swapped in between, open() returns at once instead of
// waiting for a writer), then judged again by fstat() on what was really opened: a
// regular file, and the same one (device and inode) that stat() saw, or that a caller saw
// earlier (a site scan). It is read for the size fstat() gave and one byte more, so a
// file that grows while read is noticed instead of followed; the size is capped before
// anything is allocated.
//
// Failures come back as a reason in words (the caller wraps it in its own coded error,
// naming its file and line); nothing here throws but a caller's alloc().

import { closeSync, constants, fstatSync, openSync, readSync, statSync, lstatSync, type Stats } from 'node:fs';

/** What a non-regular file is, for messages ("not a regular file: a FIFO"). */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a file';
}

export interface ReadOptions {
  /** Refuse files larger than this many bytes (checked before anything is allocated). */
  limit: number;
  /** Do not follow a symbolic link in the last component (O_NOFOLLOW). */
  noFollow?: boolean;
  /** The file must be this one: same device, inode and size (as a scan saw it). */
  expect?: { dev: number; ino: number; size: number };
  /** Where the bytes go (default: a Buffer); called once with the size. */
  alloc?: (size: number) => Uint8Array;
  /** What the limit is, for the message ("the largest zone file accepted"). */
  limitWhat?: string;
}

export type ReadResult =
  | { ok: true; bytes: Uint8Array; stat: Stats }
  | { ok: false; why: string; errno?: string };

function describeErrno(e: unknown): { why: string; errno?: string } {
  const err = e as NodeJS.ErrnoException;
  const plain: Record<string, string> = {
    ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'operation not permitted',
    ELOOP: 'a symbolic link (not followed here)', ENOTDIR: 'a component of the path is not a directory',
    EISDIR: 'not a regular file: a directory',
  };
  if (!err.code) return { why: String(err.message ?? e) };
  return { why: `${err.code}: ${plain[err.code] ?? err.message}`, errno: err.code };
}

/** Judges a path without opening it: a reason when it is not a regular file, else null. */
export function notRegular(path: string, noFollow = false): string | null {
  let st: Stats;
  try {
    st = noFollow ? lstatSync(path) : statSync(path);
  } catch (e) {
    return describeErrno(e).why;
  }
  return st.isFile() ? null : `not a regular file: ${fileKind(st)}`;
}

/** Reads a whole regular file, bounded (see the top of this file). */
export function readRegularFile(path: string, o: ReadOptions): ReadResult {
  let before: Stats;
  try {
    before = o.noFollow ? lstatSync(path) : statSync(path);
  } catch (e) {
    return { ok: false, ...describeErrno(e) };
  }
  if (!before.isFile()) return { ok: false, why: `not a regular file: ${fileKind(before)}` };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (o.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    return { ok: false, ...describeErrno(e) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, why: `not a regular file: ${fileKind(st)} (it changed after it was looked at)` };
    const want = o.expect ?? before;
    if (st.dev !== want.dev || st.ino !== want.ino) {
      return { ok: false, why: 'it changed during the build: another file is at this path now' };
    }
    if (o.expect && st.size !== o.expect.size) {
      return { ok: false, why: `it changed during the build: ${o.expect.size} bytes when the site was scanned, ${st.size} now` };
    }
    if (st.size > o.limit) {
      return { ok: false, why: `too large: ${st.size} bytes, more than ${o.limit}${o.limitWhat ? ` (${o.limitWhat})` : ''}` };
    }
    const bytes = o.alloc ? o.alloc(st.size) : Buffer.allocUnsafe(st.size);
    let done = 0;
    while (done < st.size) {
      const n = readSync(fd, bytes, done, st.size - done, done);
      if (n === 0) break;
      done += n;
    }
    if (done !== st.size) return { ok: false, why: `it changed while read: ${done} of ${st.size} bytes, then the end` };
    if (readSync(fd, new Uint8Array(1), 0, 1, st.size) !== 0) {
      return { ok: false, why: `it changed while read: it grew past the ${st.size} bytes it had when opened` };
    }
    return { ok: true, bytes, stat: st };
  } catch (e) {
    if (e instanceof RangeError) return { ok: false, why: `cannot allocate ${before.size} bytes to read it` };
    return { ok: false, ...describeErrno(e) };
  } finally {
    closeSync(fd);
  }
}
