// `appliance serve --config FILE` and `appliance check-config FILE`: serve's options in a
// TOML file (smol-toml), one key per option, named as the option without its dashes
// (rrl-rate = 200; rrl_rate is the same key), plus `image`. A repeatable option takes an
// array (http = ["127.0.0.1:8080", "[::1]:8080"]) or one value; a flag takes true or false.
// Every value goes through the very parser its command-line option uses, so the file
// accepts what the flags accept. Flags given on the command line win over the file.
// Errors name the file, the line and the key.

import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { parse, TomlError } from 'smol-toml';
import { ApplianceError } from '../../basics/errors.js';

/** Keys of the file that are not options. */
const IMAGE_KEY = 'image';
/** Options that have no place in a file. */
const NOT_IN_FILE = new Set(['config', 'help', 'fault']);

export interface ConfigProblem {
  line: number;
  key: string;
  message: string;
}

export class ConfigError extends ApplianceError {
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super('APPL_ERR_CONFIG', problems.map((p) => `${file}:${p.line}: ${p.key ? `${p.key}: ` : ''}${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** What a file sets: option attribute → value (already parsed), the image, and where each key is. */
export interface Config {
  file: string;
  image?: string;
  values: Map<string, unknown>;
  /** Option attribute → the key's line, for later errors (flags named in a message). */
  lines: Map<string, number>;
  /** The long flag of each attribute ("--rrl-rate"). */
  flags: Map<string, string>;
}

/** The line a top-level key is written on (1 when not found: a key made by a table header, say). */
function lineOf(text: string, key: string): number {
  const lines = text.split('\n');
  const alt = key.replace(/-/g, '_');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=/.exec(lines[i]!);
    const k = m?.[1] ?? m?.[2] ?? m?.[3];
    if (k === key || k === alt) return i + 1;
  }
  return 1;
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

/**
 * Reads and checks a config file against `cmd`'s options. Throws ConfigError listing every
 * problem, unless `problems` is given: then they are added there, and what was good is returned.
 */
export function readConfig(file: string, cmd: Command, found?: ConfigProblem[]): Config {
  const problems = found ?? [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ApplianceError('APPL_ERR_CONFIG', `${file}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      throw new ConfigError(file, [{ line: e.line, key: '', message: `not TOML: ${e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '')} (column ${e.column})` }]);
    }
    throw e;
  }
  const byKey = new Map<string, Option>();
  for (const o of cmd.options) {
    const name = o.long?.replace(/^--/, '');
    if (name && !NOT_IN_FILE.has(name) && !o.hidden) byKey.set(name, o);
  }
  const cfg: Config = { file, values: new Map(), lines: new Map(), flags: new Map() };
  for (const [rawKey, value] of Object.entries(doc)) {
    const key = rawKey.replace(/_/g, '-');
    const line = lineOf(text, rawKey);
    const bad = (message: string): void => { problems.push({ line, key: rawKey, message }); };
    if (key === IMAGE_KEY) {
      if (typeof value === 'string' && value !== '') cfg.image = value;
      else bad('expected the image file\'s path, a string');
      continue;
    }
    const opt = byKey.get(key);
    if (!opt) {
      bad(NOT_IN_FILE.has(key) ? 'not an option a config file can set' : `unknown key (serve has no --${key}; run "appliance serve --help")`);
      continue;
    }
    const attr = opt.attributeName();
    cfg.lines.set(attr, line);
    cfg.flags.set(attr, opt.long!);
    if (!takesValue(opt)) {
      if (typeof value !== 'boolean') bad('expected true or false');
      else cfg.values.set(attr, value);
      continue;
    }
    const repeatable = Array.isArray(opt.defaultValue);
    const items = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && !repeatable) {
      bad(`takes one value, not a list (${opt.long} is not repeatable)`);
      continue;
    }
    let acc: unknown = repeatable ? [] : undefined;
    let ok = true;
    for (const item of items) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        bad(`expected a string or a number, not ${item === null ? 'null' : typeof item === 'object' ? 'a table' : typeof item}`);
        ok = false;
        break;
      }
      const s = String(item);
      if (opt.argChoices && !opt.argChoices.includes(s)) {
        bad(`"${s}" is not one of ${opt.argChoices.join(', ')}`);
        ok = false;
        break;
      }
      try {
        // The option's own parser (commander's parseArg), as for the flag.
        acc = opt.parseArg ? (opt.parseArg as (v: string, prev: unknown) => unknown)(s, acc) : s;
      } catch (e) {
        bad(`${JSON.stringify(item)}: ${(e as Error).message}`);
        ok = false;
        break;
      }
    }
    if (ok) cfg.values.set(attr, acc);
  }
  if (problems.length > 0 && found === undefined) throw new ConfigError(file, problems);
  return cfg;
}

/** Sets on `cmd` every option the file gives that the command line did not. */
export function applyConfig(cfg: Config, cmd: Command): void {
  for (const [attr, value] of cfg.values) {
    if (cmd.getOptionValueSource(attr) === 'cli') continue;
    cmd.setOptionValueWithSource(attr, value, 'config');
  }
}

/**
 * An error a check of the options raised (a UsageError naming a flag), as a problem of the
 * file when the file set that flag: the key's line then.
 */
export function configProblem(cfg: Config, e: Error): ConfigProblem {
  for (const [attr, flag] of cfg.flags) {
    if (e.message.startsWith(flag + ' ') || e.message.includes(`${flag}:`) || e.message.includes(`${flag} `)) {
      return { line: cfg.lines.get(attr) ?? 1, key: flag.slice(2), message: e.message };
    }
  }
  return { line: 1, key: '', message: e.message };
}
