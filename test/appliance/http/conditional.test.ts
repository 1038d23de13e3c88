import test from 'ava';
import { etagListMatches, ifRangeMatches } from '../../../appliance/http/conditional.js';
import { formatHttpDate, parseHttpDate } from '../../../specializers/http/date.js';
import { DateCache } from '../../../appliance/http/date.js';
import { parseRange, RANGE_MANY, RANGE_NONE, RANGE_ONE, RANGE_UNSATISFIABLE, type RangeOut } from '../../../appliance/http/range.js';

const tag = Buffer.from('xx"abc123"yy');
const OFF = 2, LEN = 8; // "abc123" with its quotes

test('If-None-Match: weak comparison over a list', (t) => {
  t.true(etagListMatches('"abc123"', tag, OFF, LEN, false));
  t.true(etagListMatches('W/"abc123"', tag, OFF, LEN, false));
  t.true(etagListMatches('"x", "y",  "abc123"', tag, OFF, LEN, false));
  t.true(etagListMatches('*', tag, OFF, LEN, false));
  t.false(etagListMatches('"abc12"', tag, OFF, LEN, false));
  t.false(etagListMatches('abc123', tag, OFF, LEN, false));
  t.false(etagListMatches('', tag, OFF, LEN, false));
  t.false(etagListMatches('"abc123', tag, OFF, LEN, false));
});

test('If-Match: strong comparison, W/ never matches', (t) => {
  t.true(etagListMatches('"abc123"', tag, OFF, LEN, true));
  t.false(etagListMatches('W/"abc123"', tag, OFF, LEN, true));
});

test('If-Range: a strong tag or the exact Last-Modified date', (t) => {
  const mtime = 1_700_000_000;
  t.true(ifRangeMatches('"abc123"', tag, OFF, LEN, mtime, parseHttpDate));
  t.false(ifRangeMatches('W/"abc123"', tag, OFF, LEN, mtime, parseHttpDate));
  t.true(ifRangeMatches(formatHttpDate(mtime), tag, OFF, LEN, mtime, parseHttpDate));
  t.false(ifRangeMatches(formatHttpDate(mtime + 1), tag, OFF, LEN, mtime, parseHttpDate));
});

test('HTTP dates: IMF-fixdate out, three formats in', (t) => {
  t.is(formatHttpDate(784111777), 'Sun, 06 Nov 1994 08:49:37 GMT');
  t.is(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), 784111777);
  t.is(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), 784111777);
  t.is(parseHttpDate('Sun Nov  6 08:49:37 1994'), 784111777);
  t.true(Number.isNaN(parseHttpDate('yesterday')));
  t.true(Number.isNaN(parseHttpDate('Sun, 06 Foo 1994 08:49:37 GMT')));
});

test('the Date cache changes once a second', (t) => {
  const d = new DateCache();
  t.true(d.update(784111777_000));
  t.false(d.update(784111777_999));
  t.is(Buffer.from(d.bytes).toString('latin1'), 'Sun, 06 Nov 1994 08:49:37 GMT');
  t.true(d.update(784111778_000));
});

function range(h: string, size: number): [number, number, number] {
  const out: RangeOut = { first: -1, last: -1 };
  const k = parseRange(h, size, out);
  return [k, out.first, out.last];
}

test('byte ranges (RFC 9110 §14.1.2)', (t) => {
  t.deepEqual(range('bytes=0-9', 100), [RANGE_ONE, 0, 9]);
  t.deepEqual(range('bytes=90-', 100), [RANGE_ONE, 90, 99]);
  t.deepEqual(range('bytes=-10', 100), [RANGE_ONE, 90, 99]);
  t.deepEqual(range('bytes=-1000', 100), [RANGE_ONE, 0, 99]);
  t.deepEqual(range('bytes=50-1000', 100), [RANGE_ONE, 50, 99]);
  t.deepEqual(range('Bytes = 0-0', 100)[0], RANGE_NONE); // spaces around "=" are not allowed
  t.deepEqual(range('BYTES=0-0', 100), [RANGE_ONE, 0, 0]);
});

test('unsatisfiable ranges: 416', (t) => {
  t.is(range('bytes=100-', 100)[0], RANGE_UNSATISFIABLE);
  t.is(range('bytes=200-300', 100)[0], RANGE_UNSATISFIABLE);
  t.is(range('bytes=-0', 100)[0], RANGE_UNSATISFIABLE);
  t.is(range('bytes=0-', 0)[0], RANGE_UNSATISFIABLE);
});

test('several ranges are answered whole; bad syntax is ignored', (t) => {
  t.is(range('bytes=0-1,5-6', 100)[0], RANGE_MANY);
  t.is(range('bytes=0-1,500-600', 100)[0], RANGE_MANY);
  t.is(range('bytes=500-600,700-800', 100)[0], RANGE_UNSATISFIABLE);
  t.is(range('bytes=5-1', 100)[0], RANGE_UNSATISFIABLE);
  t.is(range('bytes=a-b', 100)[0], RANGE_NONE);
  t.is(range('items=0-1', 100)[0], RANGE_NONE);
  t.is(range('bytes=', 100)[0], RANGE_NONE);
  t.is(range('bytes=1', 100)[0], RANGE_NONE);
  t.is(range('bytes=99999999999999999999-', 100)[0], RANGE_NONE);
});
