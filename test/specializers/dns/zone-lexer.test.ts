// The tokenizer: entries, tokens, flags and lines (RFC 1035 §5.1).

import test from 'ava';
import { TOK_ESCAPED, TOK_GLUED, TOK_QUOTED, ZoneLexer } from '../../../specializers/dns/zone-lexer.js';

interface Entry { line: number; blank: boolean; tokens: string[]; lines: number[]; flags: number[]; error: string | null }

function entries(text: string): Entry[] {
  const lx = new ZoneLexer(Buffer.from(text, 'latin1'));
  const out: Entry[] = [];
  while (lx.next()) {
    const tokens: string[] = [], lines: number[] = [], flags: number[] = [];
    for (let i = 0; i < lx.count; i++) {
      tokens.push(lx.text(i));
      lines.push(lx.lines[i]!);
      flags.push(lx.flags[i]!);
    }
    out.push({ line: lx.entryLine, blank: lx.blankOwner, tokens, lines, flags, error: lx.error });
  }
  return out;
}

test('one entry per line; blank lines and comment-only lines produce nothing', (t) => {
  const e = entries('a A 1\n\n   \n; comment\n\t; indented comment\nb A 2 ; trailing\n');
  t.deepEqual(e.map((x) => [x.line, x.blank, x.tokens]), [[1, false, ['a', 'A', '1']], [6, false, ['b', 'A', '2']]]);
});

test('a line starting with a blank has the previous owner', (t) => {
  const e = entries('a A 1\n  A 2\n\tA 3\nb A 4\n');
  t.deepEqual(e.map((x) => x.blank), [false, true, true, false]);
});

test('parentheses join lines; each token keeps its own line', (t) => {
  const e = entries('@ SOA ( ns1 ; c\n h\n 1 2 ) ; c2\nnext A 1\n');
  t.is(e.length, 2);
  t.deepEqual(e[0]!.tokens, ['@', 'SOA', 'ns1', 'h', '1', '2']);
  t.deepEqual(e[0]!.lines, [1, 1, 1, 2, 3, 3]);
  t.deepEqual(e[1]!.lines, [4, 4, 4]);
});

test('quoted strings: quotes stripped, blanks, semicolons, parentheses and newlines inside', (t) => {
  const e = entries('t TXT "a b;c(d)" "x\ny" ""\nu A 1\n');
  t.deepEqual(e[0]!.tokens, ['t', 'TXT', 'a b;c(d)', 'x\ny', '']);
  t.deepEqual(e[0]!.flags.map((f) => f & TOK_QUOTED), [0, 0, TOK_QUOTED, TOK_QUOTED, TOK_QUOTED]);
  t.is(e[1]!.line, 3);
});

test('escapes: the byte after a backslash never ends a token or starts a comment', (t) => {
  const e = entries('a\\ b TXT x\\;y "q\\"q" \\(\\) \\\\\n');
  t.deepEqual(e[0]!.tokens, ['a\\ b', 'TXT', 'x\\;y', 'q\\"q', '\\(\\)', '\\\\']);
  t.deepEqual(e[0]!.flags.map((f) => f & TOK_ESCAPED), [TOK_ESCAPED, 0, TOK_ESCAPED, TOK_ESCAPED, TOK_ESCAPED, TOK_ESCAPED]);
});

test('glued tokens: a quoted string right after a token', (t) => {
  const e = entries('s SVCB 1 . alpn="h2,h3" port=1 "a""b"\n');
  t.deepEqual(e[0]!.tokens, ['s', 'SVCB', '1', '.', 'alpn=', 'h2,h3', 'port=1', 'a', 'b']);
  t.deepEqual(e[0]!.flags.map((f) => (f & TOK_GLUED) !== 0), [false, false, false, false, false, true, false, false, true]);
});

test('CR is a blank: CRLF files read as LF files', (t) => {
  t.deepEqual(entries('a A 1\r\n  A 2\r\n').map((x) => [x.blank, x.tokens]), [[false, ['a', 'A', '1']], [true, ['A', '2']]]);
});

test('lexical errors are reported on the entry, with the line', (t) => {
  const e = entries('a A 1 )\nb TXT "open\n');
  t.is(e[0]!.error, "')' without a matching '('");
  t.is(e[1]!.error, 'unterminated quoted string (it opens on line 2)');
  const p = entries('x ( A\n 1\n');
  t.is(p[0]!.error, "end of file inside parentheses: the '(' on line 1 has no ')'");
});

test('an entry with many tokens grows the token arrays', (t) => {
  const words = Array.from({ length: 500 }, (_, i) => `w${i}`);
  const e = entries(`t TXT ( ${words.join('\n ')} )\n`);
  t.is(e[0]!.tokens.length, 502);
  t.is(e[0]!.tokens[501], 'w499');
  t.is(e[0]!.lines[501], 500);
});

test('the last line needs no newline', (t) => {
  t.deepEqual(entries('a A 1').map((x) => x.tokens), [['a', 'A', '1']]);
  t.deepEqual(entries(''), []);
});
