// A DNS client to run inside a test namespace (the test process itself cannot enter one):
//   node build/test/helpers/dns-client.js IN.json OUT.json
// IN.json: { host, port, tcp?, queries: [hex...] }; OUT.json: { responses: [hex | null...] }.

import { readFileSync, writeFileSync } from 'node:fs';
import { tcpExchange, udpExchange } from './dns.js';

const [inFile, outFile] = process.argv.slice(2);
if (inFile && outFile) {
  const job = JSON.parse(readFileSync(inFile, 'utf8')) as { host: string; port: number; tcp?: boolean; queries: string[] };
  const queries = job.queries.map((h) => Buffer.from(h, 'hex'));
  const answers = job.tcp ? await tcpExchange(job.port, queries, job.host) : await udpExchange(job.port, queries, job.host, 3000);
  writeFileSync(outFile, JSON.stringify({ responses: answers.map((a) => (a ? a.toString('hex') : null)) }));
}
