// Runs the reflector benchmark and prints its table (root; a few minutes at most).
//   node build.mjs --tests && node build/scripts/bench-reflector.js [--rounds N] [--duration S] [--servers reflector,knot,nsd]
import { formatReflectorBench, runReflectorBench } from '../appliance/bench/reflector-bench.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const servers = arg('servers')?.split(',') as Array<'reflector' | 'knot' | 'nsd'> | undefined;
const result = await runReflectorBench({
  rounds: arg('rounds') ? Number(arg('rounds')) : undefined,
  duration: arg('duration') ? Number(arg('duration')) : undefined,
  servers,
  log: (l) => process.stderr.write(`${l}\n`),
});
process.stdout.write(formatReflectorBench(result) + '\n');
