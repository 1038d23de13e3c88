// `appliance bench http-socket`: the socket backend against nginx on loopback, with wrk.
//
// One server process each (nginx: worker_processes 1, access_log off, sendfile on), the
// same 1 KiB file, keep-alive, back to back for several rounds. The server is pinned to
// one CPU and wrk to the other, so they do not share a core. Prints requests/s (median,
// min, max) of each and the ratio. Every run is bounded by --duration.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { startServer, freePort, median, waitForPort, type Running } from './process.js';
import { writeNginxConfig } from './nginx.js';

export interface HttpBenchOptions {
  seconds: number;
  rounds: number;
  connections: number;
  fileBytes: number;
  serverCpu: number;
  clientCpu: number;
  /** The CLI to run the appliance with (dist/cli.js). */
  cli: string;
  log: (line: string) => void;
}

function wrk(url: string, o: HttpBenchOptions): number {
  const r = spawnSync('taskset', ['-c', String(o.clientCpu), 'wrk', '-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', url],
    { encoding: 'utf8', timeout: (o.seconds + 30) * 1000 });
  if (r.status !== 0) throw new ApplianceError('APPL_ERR_BENCH', `wrk failed: ${r.stderr || r.error?.message}`);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  if (!m) throw new ApplianceError('APPL_ERR_BENCH', `cannot read wrk's output:\n${r.stdout}`);
  if (errors) throw new ApplianceError('APPL_ERR_BENCH', `wrk saw ${errors[1]} error responses from ${url}`);
  return Number(m[1]);
}

export async function runHttpSocketBench(o: HttpBenchOptions): Promise<{ nginx: number[]; appliance: number[] }> {
  for (const cmd of ['wrk', 'nginx', 'taskset']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
      throw new ApplianceError('APPL_ERR_BENCH', `${cmd} is not installed (apt-get install ${cmd === 'taskset' ? 'util-linux' : cmd})`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'appliance-bench-http-'));
  const running: Running[] = [];
  try {
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<!DOCTYPE html><title>bench</title>\n');
    // 1 KiB of text that does not compress much, so neither server sends a gzip variant.
    let body = '';
    let x = 12345;
    while (body.length < o.fileBytes) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      body += String.fromCharCode(33 + (x % 90));
    }
    writeFileSync(join(site, 'file.html'), body.slice(0, o.fileBytes));
    const image = join(dir, 'site.apl');
    await buildImage({ sites: [{ host: null, dir: site }], zones: [], output: image, http: { ...DEFAULT_HTTP_OPTIONS } });

    const nginxPort = await freePort();
    const conf = writeNginxConfig({ dir, listen: [`127.0.0.1:${nginxPort}`], root: site });
    const appPort = await freePort();
    const result = { nginx: [] as number[], appliance: [] as number[] };
    o.log(`file ${o.fileBytes} B, keep-alive, ${o.connections} connections, ${o.seconds} s per run, ${o.rounds} rounds; servers on CPU ${o.serverCpu}, wrk on CPU ${o.clientCpu}`);
    for (let round = 1; round <= o.rounds; round++) {
      for (const which of ['nginx', 'appliance'] as const) {
        // nginx's master forks the worker: pinning the master pins the worker too.
        const srv = which === 'nginx'
          ? startServer('taskset', ['-c', String(o.serverCpu), 'nginx', '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off; master_process off;'])
          : startServer('taskset', ['-c', String(o.serverCpu), process.execPath, o.cli, 'serve', image, '--backend', 'socket', '--http', `127.0.0.1:${appPort}`]);
        running.push(srv);
        const port = which === 'nginx' ? nginxPort : appPort;
        await waitForPort('127.0.0.1', port, 10_000, srv);
        const url = `http://127.0.0.1:${port}/file.html`;
        const check = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url], { encoding: 'utf8' });
        if (check.stdout !== `200 ${o.fileBytes}`) throw new ApplianceError('APPL_ERR_BENCH', `${which} answered "${check.stdout}" for ${url}`);
        const rps = wrk(url, o);
        result[which].push(rps);
        o.log(`  round ${round}: ${which.padEnd(9)} ${Math.round(rps).toLocaleString('en-US')} requests/s`);
        await srv.stop();
      }
    }
    const mN = median(result.nginx), mA = median(result.appliance);
    const fmt = (v: number[]): string => `median ${Math.round(median(v)).toLocaleString('en-US')}, min ${Math.round(Math.min(...v)).toLocaleString('en-US')}, max ${Math.round(Math.max(...v)).toLocaleString('en-US')}`;
    o.log('');
    o.log(`nginx 1.x (1 worker)        requests/s: ${fmt(result.nginx)}`);
    o.log(`appliance (socket backend)  requests/s: ${fmt(result.appliance)}`);
    o.log(`ratio appliance / nginx: ${(mA / mN).toFixed(2)}`);
    return result;
  } finally {
    for (const r of running) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
