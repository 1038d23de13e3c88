// Walks a site directory: which files and directories the image will serve.
//
// Security defaults: names starting with a dot (".git", ".env", ".htpasswd") are left out
// unless asked for; a symbolic link that resolves outside the site is refused (it would
// publish files the operator never put in the site); a link that resolves inside is
// followed. Files that are neither regular files nor directories (sockets, FIFOs,
// devices) are skipped and reported.

import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative, isAbsolute, sep } from 'node:path';
import { BuildInputError } from '../../basics/errors.js';

export interface SiteFile {
  /** Path inside the site, "/"-separated, no leading slash ("css/main.css"). */
  rel: string;
  /** Path on disk to read it from. */
  abs: string;
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
  walk(site, root, realRoot, '', new Set([realRoot]), opts);
  site.files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  site.dirs.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return site;
}

function inside(realRoot: string, target: string): boolean {
  const r = relative(realRoot, target);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}

function walk(site: ScannedSite, dirPath: string, realRoot: string, rel: string, ancestors: Set<string>, opts: ScanOptions): void {
  let names: string[];
  try {
    names = readdirSync(dirPath);
  } catch (e) {
    throw new BuildInputError('APPL_ERR_SITE_READ', dirPath, undefined, `cannot list the directory: ${(e as Error).message}`);
  }
  names.sort();
  let hasIndex = false;
  for (const name of names) {
    const abs = join(dirPath, name);
    const childRel = rel === '' ? name : `${rel}/${name}`;
    if (name.startsWith('.') && !opts.includeDotfiles) {
      site.skipped.push({ path: childRel, why: 'dotfile (use --include-dotfiles to serve it)' });
      continue;
    }
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch (e) {
      throw new BuildInputError('APPL_ERR_SITE_READ', abs, undefined, `cannot stat: ${(e as Error).message}`);
    }
    let real = abs;
    if (st.isSymbolicLink()) {
      try {
        real = realpathSync(abs);
      } catch {
        throw new BuildInputError('APPL_ERR_SITE_SYMLINK', abs, undefined, 'dangling symbolic link; remove it or point it at a file inside the site');
      }
      if (!inside(realRoot, real)) {
        throw new BuildInputError('APPL_ERR_SITE_SYMLINK', abs, undefined,
          `symbolic link leaves the site directory (it resolves to ${real}); copy the file into the site instead`);
      }
      st = statSync(real);
    }
    if (st.isDirectory()) {
      if (ancestors.has(real)) {
        site.skipped.push({ path: childRel, why: 'symbolic link loop' });
        continue;
      }
      ancestors.add(real);
      walk(site, abs, realRoot, childRel, ancestors, opts);
      ancestors.delete(real);
    } else if (st.isFile()) {
      if (name === INDEX_FILE) hasIndex = true;
      site.files.push({ rel: childRel, abs, size: st.size, mtime: Math.floor(st.mtimeMs / 1000) });
    } else {
      site.skipped.push({ path: childRel, why: 'not a regular file' });
    }
  }
  site.dirs.push({ rel, hasIndex });
}
