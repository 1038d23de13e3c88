#!/usr/bin/env node
// Benchmark: `appliance build --zone` of a generated zone against `nsd-checkzone` on the
// same file. The bench itself is `appliance bench zone-build` (appliance/bench/zone-build.ts);
// this keeps the old command line working:
//
//   node build.mjs && node scripts/bench-dns-build.mjs [--names 1000000] [--seed 1] [--runs 3] [--cpu N]

import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'bench', 'zone-build', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
