// Small formatting helpers for what the commands print.

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** Left-aligned text table with a header row. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  // A loop, not Math.max(...column): a million rows would overflow the call stack.
  const widths = rows[0]!.map((_, c) => rows.reduce((m, r) => Math.max(m, (r[c] ?? '').length), 0));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}

/**
 * Text from an image or a site (file names, paths, zone file names) made safe to print on
 * a terminal: control characters (C0, DEL, C1: a file named with an escape sequence could
 * rewrite the screen) shown as \xNN. JSON output needs none of this (JSON.stringify
 * escapes them).
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
