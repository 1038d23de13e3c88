// An HTTP client to run inside a test namespace (the test process cannot enter one):
//   node build/test/helpers/http-client.js IN.json OUT.json
// IN.json: { host, port, requests: [hex...] } — each request on its own connection, read
// until the server closes; OUT.json: { responses: [hex...] } (what came back, in order).

import { readFileSync, writeFileSync } from 'node:fs';
import { exchange } from './http.js';

const [inFile, outFile] = process.argv.slice(2);
if (inFile && outFile) {
  const job = JSON.parse(readFileSync(inFile, 'utf8')) as { host: string; port: number; requests: string[] };
  const responses: string[] = [];
  for (const r of job.requests) {
    const { data } = await exchange(job.port, [Buffer.from(r, 'hex')], { timeoutMs: 5000, host: job.host });
    responses.push(data.toString('hex'));
  }
  writeFileSync(outFile, JSON.stringify({ responses }));
}
