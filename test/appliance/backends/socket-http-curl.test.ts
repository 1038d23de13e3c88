// The socket backend with curl, the client operators reach for first: keep-alive,
// conditional requests, compression and ranges as curl does them.

import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HttpSocketServer } from '../../../appliance/backends/socket-http.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import { loadImage } from '../../../specializers/image/format.js';
import { buildTestImage, FIXTURE_SITE, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';

const run = promisify(execFile);
const haveCurl = hasCommand('curl');
const tmp = tempDir('curl');
let server: HttpSocketServer;
let base = '';

test.before(async () => {
  const image = await buildTestImage(join(tmp.dir, 'site.apl'), [{ host: null, dir: FIXTURE_SITE }]);
  server = new HttpSocketServer(new HttpTables(loadImage(image)), { host: '127.0.0.1', port: 0, idleTimeoutMs: 5000 });
  base = `http://127.0.0.1:${(await server.listen()).port}`;
});
test.after.always(async () => {
  await server?.close(100);
  tmp.cleanup();
});

async function curl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'latin1', maxBuffer: 16 << 20 }) as Promise<{ stdout: string; stderr: string }>;
}

const file = (p: string): Buffer => readFileSync(join(FIXTURE_SITE, p));

test('curl: two URLs in one run share one kept-alive connection', async (t) => {
  if (!haveCurl) return void t.log('SKIPPED: curl is not installed');
  const r = await curl(['-v', '-o', '/dev/null', '-o', '/dev/null', `${base}/robots.txt`, `${base}/about.html`]);
  t.regex(r.stderr, /Re-using existing connection|Reusing existing connection/);
  t.is((r.stderr.match(/Connected to 127\.0\.0\.1/g) ?? []).length, 1);
});

test('curl: If-None-Match with the ETag and -z (If-Modified-Since) give 304', async (t) => {
  if (!haveCurl) return void t.log('SKIPPED: curl is not installed');
  const head = await curl(['-I', `${base}/css/main.css`]);
  const etag = /^etag: (.+)\r$/im.exec(head.stdout)![1]!;
  const lm = /^last-modified: (.+)\r$/im.exec(head.stdout)![1]!;
  const a = await curl(['-o', '/dev/null', '-w', '%{http_code} %{size_download}', '-H', `If-None-Match: ${etag}`, `${base}/css/main.css`]);
  t.is(a.stdout, '304 0');
  const b = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-z', lm, `${base}/css/main.css`]);
  t.is(b.stdout, '304');
  const c = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-z', 'Sat, 01 Jan 2000 00:00:00 GMT', `${base}/css/main.css`]);
  t.is(c.stdout, '200');
});

test('curl --compressed: an encoded variant, decoded to the file', async (t) => {
  if (!haveCurl) return void t.log('SKIPPED: curl is not installed');
  const out = join(tmp.dir, 'app.js');
  const r = await curl(['--compressed', '-D', '-', '-o', out, `${base}/js/app.js`]);
  t.regex(r.stdout, /^content-encoding: (br|gzip)\r$/im);
  t.regex(r.stdout, /^vary: Accept-Encoding\r$/im);
  t.deepEqual(readFileSync(out), file('js/app.js'));
});

test('curl -r: a byte range', async (t) => {
  if (!haveCurl) return void t.log('SKIPPED: curl is not installed');
  const r = await curl(['-r', '100-199', '-w', '\n%{http_code}', `${base}/downloads/large.txt`]);
  const [body, code] = [r.stdout.slice(0, -4), r.stdout.slice(-3)];
  t.is(code, '206');
  t.is(body, file('downloads/large.txt').subarray(100, 200).toString('latin1'));
});
