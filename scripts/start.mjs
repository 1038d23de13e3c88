// `npm start`: builds the bundled fixtures (fixtures/site, and fixtures/zones when present)
// into dist/fixtures.apl and serves it on loopback through kernel sockets.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const cli = join('dist', 'cli.js');
const image = join('dist', 'fixtures.apl');
const args = ['build', '--site', 'fixtures/site', '-o', image];
const zoneDir = join('fixtures', 'zones');
if (existsSync(zoneDir)) {
  for (const f of readdirSync(zoneDir).sort()) if (f.endsWith('.zone')) args.push('--zone', join(zoneDir, f));
}
const built = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
const serve = spawn(process.execPath, [cli, 'serve', image, '--backend', 'socket', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => serve.kill(sig));
serve.on('exit', (code) => process.exit(code ?? 0));
