// Walks a site directory: which files and directories the image will serve.
//
// Security defaults: names starting with a dot (".git", ".env", ".htpasswd") are left out
// unless asked for, and a symbolic link is judged by where it leads as well as by its own
// name: a link whose target has a dot-named component inside the site ("env.txt" →
// ".env", "repo" → ".git") is a dotfile too. A link that resolves inside the site is
// followed. One that resolves outside would publish files the operator never put in the
// site: it is refused unless followSymlinks (--follow-symlinks: nginx's default, and how
// distributions ship documentation, Sphinx's _static/jquery.js → /usr/share/javascript).
// Followed, its target is judged by the names of its real path below the deepest
// directory it shares with the site (/home/u/.ssh/id_rsa from /home/u/site: ".ssh"), so
// no link publishes a dotfile from outside either. A dangling link, or a loop of links,
// is left out with a warning, and its path answers 404, as nginx's would.
//
// Files that are neither regular files nor directories (sockets, FIFOs, devices) are
// skipped and reported, and so are names that are not UTF-8 (a route is a UTF-8 path),
// and the files this build writes (the image and its temporary file, when -o points into
// the site): by device and inode, and by real path.
//
// What the scan saw (real path, device, inode, size) goes with each file: the compiler
// opens the real path with O_NOFOLLOW and checks with fstat that it is the same regular
// file, so a file swapped for a link, a FIFO or another file during the build is refused
// with APPL_ERR_SITE_READ rather than published or read forever
// (specializers/regular-file.ts).

import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative, isAbsolute, sep } from 'node:path';
import { BuildInputError } from '../../basics/errors.js';
import { MAX_IMAGE_BYTES, type OwnFiles } from '../image/format.js';

export interface SiteFile {
  /** Path inside the site, "/"-separated, no leading slash ("css/main.css"). */
  rel: string;
  /** Path on disk as found (through any links), for messages. */
  abs: string;
  /** The real path (no links in it) to open with O_NOFOLLOW. */
  real: string;
  /** What the scan saw: the file read must be this one. */
  dev: number;
  ino: number;
  size: number;
  /** Modification time, whole seconds (Last-Modified has no finer resolution). */
  mtime: number;
}

export interface SiteDir {
  /** "" for the root, else "docs" or "docs/api". */
  rel: string;
  hasIndex: boolean;
}

export interface ScannedSite {
  root: string;
  files: SiteFile[];
  dirs: SiteDir[];
  /** What was left out and why, for the build summary. */
  skipped: Array<{ path: string; why: string }>;
}

export interface ScanOptions {
  includeDotfiles: boolean;
  /** Serve what a symbolic link that leaves the site points to (else such a link is an error). */
  followSymlinks?: boolean;
  /** Files never to publish: the image this build writes and its temporary file. */
  exclude?: OwnFiles;
}

export const INDEX_FILE = 'index.html';

export function scanSite(root: string, opts: ScanOptions): ScannedSite {
  let realRoot: string;
  let rootStat: Stats;
  try {
    realRoot = realpathSync(root);
    rootStat = statSync(realRoot);
  } catch (e) {
    throw new BuildInputError('APPL_ERR_SITE_READ', root, undefined, `cannot read the site directory: ${(e as Error).message}`);
  }
  if (!rootStat.isDirectory()) {
    throw new BuildInputError('APPL_ERR_SITE_READ', root, undefined, 'not a directory; --site takes a directory');
  }
  const site: ScannedSite = { root, files: [], dirs: [], skipped: [] };
  const w: Walk = {
    site, realRoot, opts,
    ownIds: new Set((opts.exclude?.ids ?? []).map((f) => `${f.dev}:${f.ino}`)),
    ownPaths: new Set(opts.exclude?.paths ?? []),
  };
  walk(w, root, realRoot, '', new Set([realRoot]));
  site.files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  site.dirs.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return site;
}

interface Walk {
  site: ScannedSite;
  realRoot: string;
  opts: ScanOptions;
  ownIds: Set<string>;
  ownPaths: Set<string>;
}

function inside(realRoot: string, target: string): boolean {
  const r = relative(realRoot, target);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}

/**
 * The first dot-named component of a real path below the deepest directory it shares with
 * the site's real root (the whole path inside the site), or null. relative() starts a path
 * outside with "..": those steps up are not names.
 */
function dotComponent(realRoot: string, real: string): string | null {
  const r = relative(realRoot, real);
  for (const c of r.split(sep)) if (c !== '..' && c.startsWith('.')) return c;
  return null;
}

/** What a link says, for messages ("→ ../x.js"). */
function linkText(path: string): string {
  try {
    return `→ ${readlinkSync(path)}`;
  } catch (e) {
    return `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

const DOTFILE = 'dotfile (use --include-dotfiles to serve it)';
const OWN_OUTPUT = 'the image this build writes (-o points into the site)';

/** A directory's names as bytes: a name that is not UTF-8 would not round-trip through a string. */
function listNames(realDir: string, dirPath: string): { names: string[]; notUtf8: Buffer[] } {
  let raw: Buffer[];
  try {
    raw = readdirSync(realDir, { encoding: 'buffer' });
  } catch (e) {
    throw new BuildInputError('APPL_ERR_SITE_READ', dirPath, undefined, `cannot list the directory: ${(e as Error).message}`);
  }
  const names: string[] = [];
  const notUtf8: Buffer[] = [];
  for (const b of raw) {
    const name = b.toString('utf8');
    if (Buffer.from(name, 'utf8').equals(b)) names.push(name);
    else notUtf8.push(b);
  }
  // Sorted here, whatever readdir gives (libuv sorts by bytes on Unix, not on Windows;
  // the file systems' own orders differ): the scan, and the warnings about what it
  // skipped, follow the names alone.
  names.sort();
  notUtf8.sort(Buffer.compare);
  return { names, notUtf8 };
}

/** `realDir`: the directory's real path (links resolved), where its entries really are. */
function walk(w: Walk, dirPath: string, realDir: string, rel: string, ancestors: Set<string>): void {
  const { site, realRoot, opts } = w;
  const { names, notUtf8 } = listNames(realDir, dirPath);
  for (const b of notUtf8) {
    const shown = [...b].map((c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
    site.skipped.push({ path: rel === '' ? shown : `${rel}/${shown}`, why: 'the name is not UTF-8 (rename the file to serve it)' });
  }
  let hasIndex = false;
  for (const name of names) {
    const abs = join(dirPath, name);
    const childRel = rel === '' ? name : `${rel}/${name}`;
    // The entry where it really is: no link on the way to it, so what is recorded and
    // later opened with O_NOFOLLOW is this very entry.
    let real = join(realDir, name);
    let st: Stats;
    try {
      st = lstatSync(real);
    } catch (e) {
      throw new BuildInputError('APPL_ERR_SITE_READ', abs, undefined, `cannot stat: ${(e as Error).message}`);
    }
    if (w.ownIds.has(`${st.dev}:${st.ino}`) || w.ownPaths.has(real)) {
      site.skipped.push({ path: childRel, why: OWN_OUTPUT });
      continue;
    }
    if (name.startsWith('.') && !opts.includeDotfiles) {
      site.skipped.push({ path: childRel, why: DOTFILE });
      continue;
    }
    if (st.isSymbolicLink()) {
      const link = real;
      try {
        real = realpathSync(link);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
          site.skipped.push({ path: childRel, why: `${code === 'ELOOP' ? 'a loop of symbolic links' : 'a dangling symbolic link'} (${linkText(link)}): not served, it answers 404` });
          continue;
        }
        throw new BuildInputError('APPL_ERR_SITE_SYMLINK', abs, undefined, `cannot resolve the symbolic link: ${(e as Error).message}`);
      }
      const leaves = !inside(realRoot, real);
      if (leaves && !opts.followSymlinks) {
        throw new BuildInputError('APPL_ERR_SITE_SYMLINK', abs, undefined,
          `symbolic link leaves the site directory (it resolves to ${real}); pass --follow-symlinks to serve what it points to (as nginx does), or copy the file into the site`);
      }
      const dot = opts.includeDotfiles ? null : dotComponent(realRoot, real);
      if (dot !== null) {
        site.skipped.push({ path: childRel, why: `dotfile: a symbolic link to ${leaves ? real : relative(realRoot, real)} (${dot}); use --include-dotfiles to serve it` });
        continue;
      }
      try {
        st = lstatSync(real);
      } catch (e) {
        throw new BuildInputError('APPL_ERR_SITE_READ', abs, undefined, `cannot stat its target ${real}: ${(e as Error).message}`);
      }
    }
    if (w.ownIds.has(`${st.dev}:${st.ino}`) || w.ownPaths.has(real)) {
      site.skipped.push({ path: childRel, why: OWN_OUTPUT });
      continue;
    }
    if (st.isDirectory()) {
      if (ancestors.has(real)) {
        site.skipped.push({ path: childRel, why: 'symbolic link loop' });
        continue;
      }
      ancestors.add(real);
      walk(w, abs, real, childRel, ancestors);
      ancestors.delete(real);
    } else if (st.isFile()) {
      if (st.size > MAX_IMAGE_BYTES) {
        throw new BuildInputError('APPL_ERR_SITE_READ', abs, undefined, `${st.size} bytes: larger than an image can hold (4 GiB)`);
      }
      if (name === INDEX_FILE) hasIndex = true;
      site.files.push({ rel: childRel, abs, real, dev: st.dev, ino: st.ino, size: st.size, mtime: Math.floor(st.mtimeMs / 1000) });
    } else {
      site.skipped.push({ path: childRel, why: 'not a regular file' });
    }
  }
  site.dirs.push({ rel, hasIndex });
}
