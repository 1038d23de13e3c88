#!/usr/bin/env node
// The `appliance` command: runs the bundled CLI that build.mjs writes to dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write(`appliance: ${cli} is missing; run "npm run build" (npm ci does it too)\n`);
  process.exit(1);
}
await import(cli);
