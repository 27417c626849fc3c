/**
 * The presets on a 25% topic holdout, seed by seed, and the PyTorch peer on
 * the same splits in the same run.
 *
 *   node --import tsx scripts/bench-quality.ts --data data/khan [--presets fast,quality] [--seeds 42,7,1] [--override JSON] [--peer] [--work work/bench/quality]
 *
 * Per seed, the topics with content are split as everywhere (25% held out);
 * each preset (with --override merged over it) trains and recommends through
 * `runHoldout`, the job of `trellis demo`, and is scored on the held-out
 * topics: fused recall@50, final F2 (and, with the per-topic cut-off, the
 * global rule's F2 beside it), precision, recall, train and recommend
 * seconds. Beside them, the validation F2: what the same cut (the rule, or
 * the per-topic cut-off) scored on the validation topics that tuned it, read
 * from the model's decision rule; it is in-sample for the cut but never sees
 * a held-out topic, so it is the column to choose a configuration by.
 * With --peer, scripts/peer/st_pipeline.py (sentence-transformers:
 * all-MiniLM-L6-v2 fine-tuned as a bi-encoder on the training topics, a
 * CrossEncoder from the same model trained on the validation topics'
 * candidates, a threshold tuned on validation topics) runs on the same three
 * topic sets: trellis's training topics, its validation topics (the
 * reranker's) and the held-out topics, which it writes to
 * <work>/<dataset>-<seed>-split.json. Results: <work>/<dataset>.json and
 * markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScript } from './script.ts';
import { rerankerDir } from '../src/internal.ts';
import { buildForest, deriveSeed, initRuntime, loadDataset, MODEL_LAYOUT, PRESETS, resolveRunConfig, runHoldout, splitTopics, UsageError, type PresetName, type RunConfig, type StageScores } from '../src/index.ts';

const NAME = 'bench-quality';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const PEER_PYTHON = join(REPO, 'work', 'peer', 'torch-venv', 'bin', 'python');

interface Row {
  seed: number;
  system: string;
  fusedRecall50?: number;
  neuralRecall50?: number;
  f2: number;
  ruleF2?: number;
  /** The deployed cut's F2 on the validation (tuning) topics that tuned it. */
  validationF2?: number;
  precision: number;
  recall: number;
  trainSeconds: number;
  recommendSeconds: number;
}

await runScript(NAME, {
  data: { type: 'string', default: 'data/khan' },
  presets: { type: 'string', default: 'fast,quality' },
  seeds: { type: 'string', default: '42,7,1' },
  override: { type: 'string', default: '{}' },
  peer: { type: 'boolean', default: false },
  'peer-args': { type: 'string', default: '' },
  work: { type: 'string', default: 'work/bench/quality' },
}, async (values) => {
  const presets = String(values.presets).split(',').filter(Boolean) as PresetName[];
  for (const p of presets) if (!(p in PRESETS)) throw new UsageError(`${NAME}: --presets must name presets of ${Object.keys(PRESETS).join(', ')} (got ${p}).`);
  const seeds = String(values.seeds).split(',').map(Number);
  const override = JSON.parse(String(values.override)) as Record<string, unknown>;
  const work = resolve(String(values.work));
  mkdirSync(work, { recursive: true });
  const runtime = await initRuntime();
  const dataset = await loadDataset(String(values.data));
  const forest = buildForest(dataset);
  const name = basename(resolve(String(values.data)));
  const log = (line: string) => process.stderr.write(`[${NAME}] ${line}\n`);
  const rows: Row[] = [];
  const started = loadavg();
  for (const seed of seeds) {
    const split = splitTopics(dataset, { fraction: 0.25, seed });
    for (const preset of presets) {
      const config = resolveRunConfig(override, `${NAME} --override`, preset);
      const modelDir = join(work, `${name}-${preset}-${seed}`);
      rmSync(modelDir, { recursive: true, force: true });
      log(`${name}, seed ${seed}, preset ${preset}: ${runtime.message}`);
      const { trained, result, scores } = await runHoldout({
        dataset, forest, config, seed, modelDir, split, splitSpec: { fraction: 0.25, by: 'topic' }, backend: runtime.kind,
        log: (line) => log(`${preset}/${seed}: ${line}`),
      });
      rows.push(row(seed, preset, scores, trained.seconds.total, result.seconds.retrieve + result.seconds.rerank, validationF2(modelDir, config.rerank.cutoff)));
      writeFileSync(join(work, `${name}.json`), JSON.stringify({ createdAt: new Date().toISOString(), backend: runtime.message, override, rows, loadAverage: { start: started, end: loadavg() } }, null, 1));
    }
    if (values.peer) {
      if (!existsSync(PEER_PYTHON)) throw new UsageError(`${NAME}: --peer needs ${PEER_PYTHON}: run 'bash scripts/peer/setup-torch.sh' first.`);
      // The topic sets trellis used: its training and validation topics (as runTraining draws them) and the held-out ones.
      const config = resolveRunConfig(override, `${NAME} --override`, presets[0]);
      const linked = Uint32Array.from(dataset.topics.keys()).filter((t) => split.trainLinks[t].length > 0);
      const validation = splitTopics(dataset, { fraction: config.training.validationFraction, seed: deriveSeed(seed, 'validation'), among: linked }, split.trainLinks);
      const ids = (rows: ArrayLike<number>) => Array.from(rows, (t) => dataset.topics[t].id);
      const splitFile = join(work, `${name}-${seed}-split.json`);
      writeFileSync(splitFile, JSON.stringify({ train: ids(validation.train), validation: ids(validation.heldOut), heldOut: ids(split.heldOut) }));
      const out = join(work, `${name}-${seed}-peer.json`);
      const args = [join(REPO, 'scripts', 'peer', 'st_pipeline.py'), '--data', String(values.data), '--split', splitFile, '--model', join(REPO, 'models', 'pretrained', 'all-MiniLM-L6-v2'), '--threads', String(availableParallelism()), '--seed', String(seed), '--out', out, ...String(values['peer-args']).split(' ').filter(Boolean)];
      log(`${name}, seed ${seed}: the sentence-transformers peer`);
      const t0 = performance.now();
      const r = spawnSync(PEER_PYTHON, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new UsageError(`${NAME}: the peer failed (exit ${r.status}).`);
      // st_pipeline.py's result: the final list's scores under results.held_out, the bi-encoder's recall@50 under results.bi_encoder.
      const peer = JSON.parse(readFileSync(out, 'utf8')) as { results: { held_out: { f2: number; precision: number; recall: number }; bi_encoder: Record<string, unknown> } };
      const seconds = (performance.now() - t0) / 1000;
      const { f2, precision, recall } = peer.results.held_out;
      rows.push({ seed, system: 'sentence-transformers peer', neuralRecall50: peer.results.bi_encoder['recall@50'] as number, f2, precision, recall, trainSeconds: seconds, recommendSeconds: 0 });
      writeFileSync(join(work, `${name}.json`), JSON.stringify({ createdAt: new Date().toISOString(), backend: runtime.message, override, rows, loadAverage: { start: started, end: loadavg() } }, null, 1));
    }
  }
  const f = (x: number | undefined, d = 4) => (x === undefined ? '-' : x.toFixed(d));
  console.log(`${name}, 25% topic holdout, seeds ${seeds.join(', ')}; ${runtime.message}; override ${JSON.stringify(override)}\n`);
  console.log('| system | seed | fused recall@50 | final F2 | F2 with the global rule | validation F2 | precision | recall | train s | recommend s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.system} | ${r.seed} | ${f(r.fusedRecall50 ?? r.neuralRecall50)} | **${f(r.f2)}** | ${f(r.ruleF2)} | ${f(r.validationF2)} | ${f(r.precision, 3)} | ${f(r.recall, 3)} | ${r.trainSeconds.toFixed(0)} | ${r.recommendSeconds.toFixed(0)} |`);
  for (const system of [...new Set(rows.map((r) => r.system))]) {
    const mine = rows.filter((r) => r.system === system);
    // undefined (shown as '-') when a row lacks the value, e.g. the global rule's F2 of a run without the per-topic cut-off.
    const mean = (key: keyof Row | ((r: Row) => number | undefined)) => {
      const values = mine.map((r) => (typeof key === 'function' ? key(r) : (r[key] as number | undefined)));
      return values.every((v) => v !== undefined) ? values.reduce((s, v) => s + (v as number), 0) / values.length : undefined;
    };
    console.log(`| ${system} | mean | ${f(mean((r) => r.fusedRecall50 ?? r.neuralRecall50))} | **${f(mean('f2'))}** | ${f(mean('ruleF2'))} | ${f(mean('validationF2'))} | ${f(mean('precision'), 3)} | ${f(mean('recall'), 3)} | ${f(mean('trainSeconds'), 0)} | ${f(mean('recommendSeconds'), 0)} |`);
  }
});

/** The F2 the model's deployed cut reached on its tuning topics (reranker/decision-rule.json); undefined without a reranker. */
function validationF2(modelDir: string, cutoff: RunConfig['rerank']['cutoff']): number | undefined {
  const file = join(rerankerDir({ dir: modelDir }), MODEL_LAYOUT.rule);
  if (!existsSync(file)) return undefined;
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { tuneF2?: number; cutoffF2?: number };
  return cutoff === 'rule' ? stored.tuneF2 : stored.cutoffF2;
}

function row(seed: number, system: string, scores: StageScores, trainSeconds: number, recommendSeconds: number, validationF2?: number): Row {
  const r = scores.reranked;
  return {
    seed, system,
    fusedRecall50: scores.fused['recall@50'],
    neuralRecall50: scores.neural['recall@50'],
    f2: r ? r.f2 : scores.fused.f2AtBestTopK,
    ruleF2: r?.rule?.f2,
    precision: r ? r.precision : NaN,
    recall: r ? r.recall : NaN,
    trainSeconds,
    recommendSeconds,
    validationF2,
  };
}
