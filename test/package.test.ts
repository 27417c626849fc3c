/**
 * The package as others use it: the compiled entry (dist/, built by `npm run
 * build`, which `npm ci` runs through `prepare`) imported by name from plain
 * Node, with no TypeScript loader, and the `trellis` bin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './helpers.ts';

const built = existsSync(join(REPO, 'dist', 'index.js'));
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));

test('package.json points exports, types and bin at the compiled package; tsx is a dev dependency', () => {
  assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', import: './dist/index.js' });
  assert.equal(pkg.types, './dist/index.d.ts');
  assert.equal(pkg.bin.trellis, 'bin/trellis.js');
  assert.equal(pkg.dependencies.tsx, undefined);
  assert.ok(pkg.devDependencies.tsx);
  assert.match(pkg.scripts.prepare, /build/);
});

test('plain Node imports the built package by name and calls its public functions', { skip: !built && !process.env.CI && 'dist/ is not built (npm run build)' }, () => {
  const script = `
    const trellis = await import('trellis');
    const score = trellis.f2Score(2 / 3, 1 / 2);
    const config = trellis.resolveRunConfig({ training: { epochs: 2 } });
    const forest = trellis.buildForest(trellis.syntheticDataset({ channels: 1, branching: 2, depth: 1, contentPerLeaf: 1, seed: 1 }));
    console.log(JSON.stringify({ score, epochs: config.training.epochs, topics: forest.size, exports: Object.keys(trellis).length }));
  `;
  // No --import tsx: this is what another project's Node sees.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  // P 2/3, R 1/2: F2 = 5PR / (4P + R) = (5/3) / (8/3 + 1/2) = (5/3) / (19/6) = 10/19.
  assert.ok(Math.abs(out.score - 10 / 19) < 1e-12, String(out.score));
  assert.equal(out.epochs, 2);
  assert.equal(out.topics, 3);
  assert.ok(out.exports > 100, `${out.exports} exports`);
});

test('the trellis bin runs the compiled CLI', { skip: !built && !process.env.CI && 'dist/ is not built (npm run build)' }, () => {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'trellis.js'), '--help'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^trellis - graph-aware content recommendations/);
});
