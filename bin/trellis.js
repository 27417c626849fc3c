#!/usr/bin/env node
// Entry point for `npx trellis`: the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write(`trellis: ${main} is missing: the package is not built. Run 'npm run build' (npm ci and npm install run it).\n`);
  process.exit(1);
}
await import(main);
