/**
 * Checks that imports in src/ flow down the floors of ARCHITECTURE.md:
 *
 *   node --import tsx scripts/check-imports.ts [--list]
 *
 * Every file of src/ belongs to a floor (its folder, or the root file's own
 * name). A file may import files of its own folder and of lower floors, never
 * of its floor's other folders or of a higher floor; no two files may import
 * each other, directly or through a longer cycle; and each external package
 * may be imported from the folders listed for it only. Prints each violation
 * on one line and exits 1 when there is any; `--list` also prints the
 * cross-folder imports, folder by folder.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from './script.ts';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/**
 * The floors, lowest first. A unit is a folder of src/ or a file at its root
 * (without `.ts`). Units on one floor may not import each other.
 */
export const FLOORS: readonly (readonly string[])[] = [
  ['errors'],
  ['options', 'random'],
  ['io'],
  ['data', 'runtime'],
  ['ann', 'eval', 'pretrained'],
  ['graph'],
  ['text'],
  ['models', 'rerank'],
  ['retrieval'],
  ['config'],
  ['pipeline'],
  ['report'],
  ['cli'],
  ['index', 'internal'],
];

/** External packages and the units allowed to import them (unlisted packages: anyone). */
export const PACKAGE_OWNERS: Readonly<Record<string, readonly string[]>> = {
  '@tensorflow/tfjs': ['runtime'],
  '@tensorflow/tfjs-backend-wasm': ['runtime'],
  'hnswlib-node': ['ann'],
  'neo4j-driver': ['graph'],
  'apache-arrow': ['io'],
  'parquet-wasm': ['io'],
  'csv-parse': ['data', 'io'],
  'csv-stringify': ['data', 'io'],
  '@huggingface/tokenizers': ['pretrained'],
  'cli-progress': ['cli'],
  'vega': ['report'],
  'vega-lite': ['report'],
  'ml-matrix': ['rerank'],
  'ml-xgboost': ['rerank'],
  graphology: ['graph'],
};

export interface ImportEdge {
  from: string;
  to: string;
}

export interface CheckResult {
  files: number;
  edges: ImportEdge[];
  packages: { from: string; name: string }[];
  violations: string[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The unit of a path relative to src/: its first folder, or the root file's name. */
export function unitOf(path: string): string {
  const parts = path.split('/');
  return parts.length === 1 ? parts[0].replace(/\.ts$/, '') : parts[0];
}

const floorOf = new Map(FLOORS.flatMap((units, floor) => units.map((unit) => [unit, floor] as const)));

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"](\.[^'"]+\.ts)['"]\s*,\s*import\.meta\.url/g;

/** Static imports, re-exports, dynamic imports and worker-task URLs of one source text. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export function checkImports(src = SRC): CheckResult {
  const files = walk(src).map((p) => relative(src, p).split('\\').join('/')).sort();
  const edges: ImportEdge[] = [];
  const packages: { from: string; name: string }[] = [];
  const violations: string[] = [];
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const unit = unitOf(file);
    if (!floorOf.has(unit)) violations.push(`${file}: folder ${unit} is on no floor (add it to FLOORS in scripts/check-imports.ts and to ARCHITECTURE.md)`);
    const targets = new Set<string>();
    for (const spec of importsOf(readFileSync(join(src, file), 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = relative(src, resolve(dirname(join(src, file)), spec)).split('\\').join('/');
        if (target.startsWith('..')) {
          violations.push(`${file}: imports ${spec}, outside src/`);
          continue;
        }
        targets.add(target);
        edges.push({ from: file, to: target });
      } else if (!spec.startsWith('node:')) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        packages.push({ from: file, name });
      }
    }
    graph.set(file, targets);
  }
  for (const { from, to } of edges) {
    const a = unitOf(from);
    const b = unitOf(to);
    if (a === b) continue;
    const fa = floorOf.get(a);
    const fb = floorOf.get(b);
    if (fa === undefined || fb === undefined) continue;
    if (fb > fa) violations.push(`${from}: imports ${to}, a floor up (${a} is on floor ${fa}, ${b} on floor ${fb})`);
    else if (fb === fa) violations.push(`${from}: imports ${to}, a neighbour on its own floor (${a} and ${b} are both on floor ${fa})`);
  }
  for (const { from, name } of packages) {
    const owners = PACKAGE_OWNERS[name];
    if (owners && !owners.includes(unitOf(from))) violations.push(`${from}: imports ${name}, which only ${owners.join(', ')} may import`);
  }
  for (const cycle of cycles(graph)) violations.push(`import cycle: ${cycle.join(' -> ')}`);
  return { files: files.length, edges, packages, violations };
}

/** One cycle per strongly connected component of more than one file (Tarjan), as a closed path. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(pathWithin(graph, new Set(component)));
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** A closed path through a strongly connected set, from its first file back to it. */
function pathWithin(graph: Map<string, Set<string>>, members: Set<string>): string[] {
  const start = [...members].sort()[0];
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0])!);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runScript('check-imports', { list: { type: 'boolean' } }, async (values) => {
    const result = checkImports();
    if (values.list) {
      const byUnit = new Map<string, Map<string, number>>();
      for (const { from, to } of result.edges) {
        const a = unitOf(from);
        const b = unitOf(to);
        if (a === b) continue;
        const row = byUnit.get(a) ?? new Map<string, number>();
        row.set(b, (row.get(b) ?? 0) + 1);
        byUnit.set(a, row);
      }
      for (const [floor, units] of FLOORS.entries()) {
        for (const unit of units) {
          const row = byUnit.get(unit);
          const targets = row ? [...row].sort((x, y) => (floorOf.get(y[0]) ?? 0) - (floorOf.get(x[0]) ?? 0)).map(([b, n]) => `${b} (${n})`).join(', ') : '-';
          console.log(`floor ${floor} ${unit}: ${targets}`);
        }
      }
    }
    for (const v of result.violations) console.log(v);
    console.log(`${result.files} files, ${result.edges.length} imports inside src/: ${result.violations.length} violation${result.violations.length === 1 ? '' : 's'}`);
    if (result.violations.length) process.exitCode = 1;
  });
}
