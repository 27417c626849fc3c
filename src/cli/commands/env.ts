/**
 * `trellis env`: what this machine gives trellis, in the form a bug report
 * wants: the tfjs backend and why it was chosen, versions, threads, CPU
 * features, GPU devices, how hnswlib was compiled, whether Neo4j answers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, totalmem, freemem, platform, release, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { initRuntime, tensorWorkers } from '../../runtime/backend.ts';
import { hnswlibBuild } from '../../ann/hnsw.ts';
import { probeNeo4j } from '../../graph/neo4j.ts';
import { optionalString, SHARED_OPTIONS, type Command } from '../command.ts';
import { BACKEND_OPTION } from '../context.ts';

const require = createRequire(import.meta.url);

/** The installed version of an npm package, or undefined when it is not installed. */
function packageVersion(name: string): string | undefined {
  try {
    // The entry point, then up to the package's own package.json (not every package exports it).
    let dir = dirname(require.resolve(name));
    while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
      const up = dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** The SIMD flags of the first CPU in /proc/cpuinfo that matter to the kernels. */
function cpuFeatures(): string[] {
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1].split(/\s+/) ?? [];
    return ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile'].filter((f) => flags.includes(f));
  } catch {
    return [];
  }
}

/** NVIDIA GPUs as `nvidia-smi -L` lists them (none when it is absent). */
function gpus(): string[] {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean) : [];
}

export const env: Command = {
  name: 'env',
  summary: 'describe this machine for trellis: backend, versions, threads, CPU, GPU, hnswlib build, Neo4j',
  usage: '[--json] [--backend NAME]',
  options: {
    json: { type: 'boolean', description: 'print one JSON object instead of lines' },
    backend: BACKEND_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: 'Paste its output into a bug report. Neo4j is probed at NEO4J_URI (default bolt://127.0.0.1:7687) for 2 s.',
  async run(args) {
    const runtime = await initRuntime(optionalString(args, 'backend'));
    const trellis = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const neo4j = await probeNeo4j(2000);
    const info = {
      trellis,
      node: process.versions.node,
      os: `${platform()} ${release()} ${arch()}`,
      backend: {
        kind: runtime.kind,
        asked: runtime.choice,
        provider: runtime.provider,
        why: runtime.skipped.length ? `passed over: ${runtime.skipped.join('; ')}` : runtime.choice === 'auto' ? 'the first choice of auto (gpu, node, wasm, cpu)' : 'asked for',
        opThreads: runtime.opThreads,
        tensorWorkers: tensorWorkers(),
      },
      versions: {
        '@tensorflow/tfjs': runtime.versions.tfjs,
        libtensorflow: runtime.versions.libtensorflow ?? null,
        '@tensorflow/tfjs-node': packageVersion('@tensorflow/tfjs-node') ?? null,
        '@tensorflow/tfjs-node-gpu': packageVersion('@tensorflow/tfjs-node-gpu') ?? null,
        '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm') ?? null,
        'hnswlib-node': packageVersion('hnswlib-node') ?? null,
        'neo4j-driver': packageVersion('neo4j-driver') ?? null,
        'apache-arrow': packageVersion('apache-arrow') ?? null,
        'parquet-wasm': packageVersion('parquet-wasm') ?? null,
        '@huggingface/tokenizers': packageVersion('@huggingface/tokenizers') ?? null,
      },
      cpu: { model: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), features: cpuFeatures() },
      memory: { totalGB: Math.round(totalmem() / 1e8) / 10, freeGB: Math.round(freemem() / 1e8) / 10 },
      gpus: gpus(),
      hnswlib: hnswlibBuild(),
      neo4j,
    };
    if (args.values.json) {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return;
    }
    const h = info.hnswlib;
    const lines: [string, string][] = [
      ['trellis', `${info.trellis} on Node ${info.node}, ${info.os}`],
      ['backend', `${runtime.message}`],
      ['  why', info.backend.why],
      ['  threads', `${info.backend.opThreads} per op; tensor work on ${info.backend.tensorWorkers} thread${info.backend.tensorWorkers === 1 ? '' : 's'}`],
      ...Object.entries(info.versions).map(([name, version]) => [`  ${name}`, version ?? 'not installed'] as [string, string]),
      ['cpu', `${info.cpu.model}, ${info.cpu.cores} cores, ${info.cpu.features.join(' ') || 'no SIMD flags found'}`],
      ['memory', `${info.memory.totalGB} GB (${info.memory.freeGB} GB free)`],
      ['gpu', info.gpus.length ? info.gpus.join('; ') : 'none (nvidia-smi lists none or is absent)'],
      ['hnswlib', `${h.march ? `${h.march} build (${h.simd?.join(' ') || 'no SIMD recorded'}; ${h.flags || 'default flags'})` : 'npm default build (not recorded: bash scripts/hnswlib/build.sh builds it for this CPU)'}; ${h.searchBatch ? 'batch search' : 'one call per query (bash scripts/hnswlib/build.sh adds batch search)'}`],
      ['neo4j', neo4j.ok ? `${neo4j.agent} answers at ${neo4j.uri}` : `no answer at ${neo4j.uri}: ${neo4j.error}`],
    ];
    const width = Math.max(...lines.map(([k]) => k.length));
    process.stdout.write(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');
  },
};
