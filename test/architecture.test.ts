/**
 * The house plan holds: imports flow down the floors of ARCHITECTURE.md (as
 * scripts/check-imports.ts lists them), and ARCHITECTURE.md's table of floors
 * is the one the check enforces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkImports, importsOf, FLOORS } from '../scripts/check-imports.ts';
import { REPO } from './helpers.ts';

test('no import goes up a floor or sideways, no two files import each other, each library stays in its folder', () => {
  const result = checkImports();
  assert.deepEqual(result.violations, []);
  assert.ok(result.files > 100 && result.edges.length > 400, `${result.files} files, ${result.edges.length} imports`);
});

test('ARCHITECTURE.md lists the floors the check enforces', () => {
  const text = readFileSync(join(REPO, 'ARCHITECTURE.md'), 'utf8');
  const documented = new Map<number, string[]>();
  for (const [, floor, cell] of text.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)) {
    const units = [...cell.matchAll(/`([a-z-]+)(?:\/|\.ts)`/g)].map((m) => m[1]);
    documented.set(Number(floor), [...(documented.get(Number(floor)) ?? []), ...units]);
  }
  assert.deepEqual([...documented.keys()], FLOORS.map((_, i) => i));
  FLOORS.forEach((units, floor) => assert.deepEqual([...documented.get(floor)!].sort(), [...units].sort(), `floor ${floor}`));
});

test('the check sees static, dynamic and worker-task imports', () => {
  const text = `import { a } from './a.ts';\nexport { b } from '../b.ts';\nconst m = await import('./c.ts');\npool.run(new URL('./d.ts', import.meta.url), 'f');`;
  assert.deepEqual(importsOf(text), ['./a.ts', '../b.ts', './c.ts', './d.ts']);
});
