import test from 'ava';
import { chooseEncoding } from '../../../appliance/http/negotiate.js';
import { ENC_BR, ENC_GZIP, ENC_IDENTITY } from '../../../specializers/http/layout.js';

const ALL = (1 << ENC_IDENTITY) | (1 << ENC_GZIP) | (1 << ENC_BR);
const GZ = (1 << ENC_IDENTITY) | (1 << ENC_GZIP);

test('no header: identity', (t) => {
  t.is(chooseEncoding(undefined, ALL), ENC_IDENTITY);
});

test('a resource without variants is always identity', (t) => {
  t.is(chooseEncoding('br, gzip', 1 << ENC_IDENTITY), ENC_IDENTITY);
});

test('browsers: brotli preferred when offered', (t) => {
  t.is(chooseEncoding('gzip, deflate, br, zstd', ALL), ENC_BR);
  t.is(chooseEncoding('gzip, deflate, br', GZ), ENC_GZIP);
  t.is(chooseEncoding('gzip', ALL), ENC_GZIP);
  t.is(chooseEncoding('x-gzip', ALL), ENC_GZIP);
  t.is(chooseEncoding('GZIP', ALL), ENC_GZIP);
});

test('q-values decide; q=0 refuses', (t) => {
  t.is(chooseEncoding('gzip;q=0', ALL), ENC_IDENTITY);
  t.is(chooseEncoding('br;q=0.5, gzip;q=0.8', ALL), ENC_GZIP);
  t.is(chooseEncoding('br;q=1.0, gzip;q=0.8', ALL), ENC_BR);
  t.is(chooseEncoding('br ; q=0.2, gzip ;Q=0.1', ALL), ENC_BR);
  t.is(chooseEncoding('gzip;q=0.5, identity;q=1', ALL), ENC_IDENTITY);
  t.is(chooseEncoding('gzip;q=0.5, identity;q=0', ALL), ENC_GZIP);
});

test('the wildcard stands for codings not named', (t) => {
  t.is(chooseEncoding('*', ALL), ENC_BR);
  t.is(chooseEncoding('*;q=0, gzip', ALL), ENC_GZIP);
  t.is(chooseEncoding('br;q=0, *', ALL), ENC_GZIP);
  t.is(chooseEncoding('*;q=0', ALL), ENC_IDENTITY); // nothing acceptable: identity anyway
});

test('malformed members are ignored', (t) => {
  t.is(chooseEncoding('gzip;q=2', ALL), ENC_IDENTITY);
  t.is(chooseEncoding('gzip;q=abc, br', ALL), ENC_BR);
  t.is(chooseEncoding(',,, ,gzip', ALL), ENC_GZIP);
  t.is(chooseEncoding('', ALL), ENC_IDENTITY);
});
