/**
 * Sizing the from-scratch encoder to the catalogue: named config variants
 * (JSON overrides over the fast preset) on a 25% topic holdout, seed by
 * seed, optionally on a subsample of the dataset.
 *
 *   node --import tsx scripts/bench-sizing.ts --data data/khan [--subsample-topics 164 --subsample-content 5000 [--subsample-seed 42]]
 *     [--seeds 42,7,1] [--variants default,small,...|JSON] [--override JSON] [--name NAME] [--work work/bench/sizing] [--keep-models]
 *
 * --variants names built-in variants (VARIANTS below) or gives a JSON object
 * {"name": {override}, ...}; --override is merged under every variant (e.g.
 * {"rerank":{"enabled":false}} to stop after retrieval). The subsample
 * (src/data/subsample.ts) is drawn once, with --subsample-seed, so every seed
 * and variant sees the same catalogue; the seeds vary the holdout split and
 * the training. Per run, through `runHoldout` (the job of `trellis demo`):
 * the links training may see ("train links": those of the training and
 * validation topics), validation recall@50 at the best epoch and that epoch
 * (1-based, of the epochs run), the untrained model's validation recall, the held-out topics'
 * neural and fused recall@50, the final F2 (after the reranker's decision
 * rule; without a reranker, the fused list's F2 at its best fixed top-k,
 * marked *) and the train seconds. Results with every epoch's loss and
 * validation recall: <work>/<name>.json; the log: <work>/<name>.log;
 * markdown on stdout.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { runScript } from './script.ts';
import { buildForest, initRuntime, loadDataset, resolveRunConfig, runHoldout, splitTopics, UsageError, type Dataset, type EpochReport } from '../src/index.ts';
import { subsampleDataset } from '../src/internal.ts';

const NAME = 'bench-sizing';

type Override = Record<string, unknown>;

/** Built-in variants, by name (overrides over the fast preset). */
const VARIANTS: Record<string, Override> = {
  default: {},
  // Fewer buckets and dimensions: 2^15 x 64 table, 64-wide MLP.
  small: { encoder: { dim: 64, hidden: 64, vocab: 1 << 15 } },
  // The same, trained shorter and slower.
  'small-slow': { encoder: { dim: 64, hidden: 64, vocab: 1 << 15 }, training: { epochs: 4, learningRate: 0.001 } },
  // A softer softmax: gradients spread over more in-batch negatives, less pull to fit each pair exactly.
  'temp-0.3': { training: { temperature: 0.3 } },
  'small-temp-0.3': { encoder: { dim: 64, hidden: 64, vocab: 1 << 15 }, training: { temperature: 0.3 } },
  // Fewer pairs per topic: a big topic weighs less in every epoch.
  'small-pairs-16': { encoder: { dim: 64, hidden: 64, vocab: 1 << 15 }, training: { maxPairsPerTopic: 16 } },
  // Reads fewer of each text's TF-IDF features.
  'small-feat-64': { encoder: { dim: 64, hidden: 64, vocab: 1 << 15, maxFeatures: 64 } },
  tiny: { encoder: { dim: 32, hidden: 32, vocab: 1 << 13 } },
  // Fewer buckets alone (more hash collisions), and a middle size.
  'vocab-2^15': { encoder: { vocab: 1 << 15 } },
  mid: { encoder: { dim: 128, hidden: 128, vocab: 1 << 16 } },
  'lr-0.001': { training: { learningRate: 0.001 } },
  'pairs-16': { training: { maxPairsPerTopic: 16 } },
};

interface Row {
  variant: string;
  seed: number;
  override: Override;
  trainTopics: number;
  validationTopics: number;
  heldOutTopics: number;
  trainLinks: number;
  epochsRun: number;
  bestEpoch: number;
  bestValidationRecall: number;
  initialValidationRecall: number;
  neuralRecall50: number;
  fusedRecall50: number;
  f2: number;
  /** Whether f2 is the reranker's final F2 (else the fused list's best fixed top-k). */
  reranked: boolean;
  trainSeconds: number;
  twoTowerSeconds: number;
  history: EpochReport[];
}

/** `b` merged over `a`, recursively for plain objects. */
function overlay(a: Override, b: Override): Override {
  const out: Override = { ...a };
  const plain = (v: unknown): v is Override => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const [key, value] of Object.entries(b)) out[key] = plain(out[key]) && plain(value) ? overlay(out[key] as Override, value) : value;
  return out;
}

function parseVariants(spec: string): Record<string, Override> {
  if (spec.trim().startsWith('{')) return JSON.parse(spec) as Record<string, Override>;
  const out: Record<string, Override> = {};
  for (const name of spec.split(',').filter(Boolean)) {
    if (!(name in VARIANTS)) throw new UsageError(`${NAME}: --variants must name variants of ${Object.keys(VARIANTS).join(', ')} or be a JSON object (got ${name}).`);
    out[name] = VARIANTS[name];
  }
  return out;
}

const linkCount = (links: Uint32Array[], topics?: ArrayLike<number>) => (topics ? Array.from(topics, (t) => links[t].length) : links.map((l) => l.length)).reduce((s, n) => s + n, 0);

await runScript(NAME, {
  data: { type: 'string', default: 'data/khan' },
  'subsample-topics': { type: 'string' },
  'subsample-content': { type: 'string' },
  'subsample-seed': { type: 'string', default: '42' },
  seeds: { type: 'string', default: '42,7,1' },
  variants: { type: 'string', default: 'default,small,small-slow,temp-0.3' },
  override: { type: 'string', default: '{}' },
  name: { type: 'string' },
  work: { type: 'string', default: 'work/bench/sizing' },
  'keep-models': { type: 'boolean', default: false },
}, async (values) => {
  const seeds = String(values.seeds).split(',').map(Number);
  const variants = parseVariants(String(values.variants));
  const override = JSON.parse(String(values.override)) as Override;
  // Every config is checked before the first run.
  for (const [name, v] of Object.entries(variants)) resolveRunConfig(overlay(override, v), `${NAME} variant ${name}`, 'fast');
  const work = resolve(String(values.work));
  mkdirSync(work, { recursive: true });
  const subTopics = values['subsample-topics'] === undefined ? undefined : Number(values['subsample-topics']);
  const subContent = values['subsample-content'] === undefined ? undefined : Number(values['subsample-content']);
  if ((subTopics === undefined) !== (subContent === undefined)) throw new UsageError(`${NAME}: --subsample-topics and --subsample-content go together.`);
  const subSeed = Number(values['subsample-seed']);
  const dataName = basename(resolve(String(values.data)));
  const name = String(values.name ?? (subTopics ? `${dataName}-sub${subTopics}x${subContent}` : dataName));
  const logFile = join(work, `${name}.log`);
  writeFileSync(logFile, '');
  const log = (line: string) => {
    const text = `[${NAME}] ${new Date().toISOString()} ${line}\n`;
    process.stderr.write(text);
    appendFileSync(logFile, text);
  };

  const runtime = await initRuntime();
  let dataset: Dataset = await loadDataset(String(values.data));
  if (subTopics !== undefined) dataset = subsampleDataset(dataset, { topics: subTopics, content: subContent!, seed: subSeed });
  const forest = buildForest(dataset);
  const linked = dataset.links.filter((l) => l.length > 0).length;
  const data = { topics: dataset.topics.length, linkedTopics: linked, content: dataset.content.length, links: linkCount(dataset.links), subsample: subTopics ? { topics: subTopics, content: subContent, seed: subSeed } : undefined };
  log(`${name}: ${JSON.stringify(data)}; ${runtime.message}`);
  log(`variants: ${JSON.stringify(variants)}; override under each: ${JSON.stringify(override)}`);

  const rows: Row[] = [];
  const started = loadavg();
  const save = () => writeFileSync(join(work, `${name}.json`), JSON.stringify({ createdAt: new Date().toISOString(), backend: runtime.message, data: { source: String(values.data), ...data }, override, variants, rows, loadAverage: { start: started, end: loadavg() } }, null, 1));
  for (const seed of seeds) {
    const split = splitTopics(dataset, { fraction: 0.25, seed });
    for (const [variant, v] of Object.entries(variants)) {
      const config = resolveRunConfig(overlay(override, v), `${NAME} variant ${variant}`, 'fast');
      const modelDir = join(work, 'models', `${name}-${variant}-${seed}`);
      rmSync(modelDir, { recursive: true, force: true });
      log(`${name}, seed ${seed}, variant ${variant}: encoder ${JSON.stringify(config.encoder)}, training ${JSON.stringify(config.training)}, rerank ${config.rerank.enabled ? 'on' : 'off'}`);
      const { trained, scores } = await runHoldout({
        dataset, forest, config, seed, modelDir, split, splitSpec: { fraction: 0.25, by: 'topic' }, backend: runtime.kind,
        log: (line) => log(`${variant}/${seed}: ${line}`),
        onEpoch: (r, epochs) => log(`${variant}/${seed}: epoch ${r.epoch + 1}/${epochs}: loss ${r.loss.toFixed(4)}, validation recall@${config.training.recallK} ${r.validationRecall.toFixed(4)}${r.best ? ' (best)' : ''}, lr ${r.learningRate.toExponential(2)}, ${r.pairs} pairs, ${r.seconds.toFixed(1)} s`),
      });
      const t = trained.meta.training;
      const row: Row = {
        variant, seed, override: v,
        trainTopics: split.train.length,
        // As runTraining draws them: a share of the training topics.
        validationTopics: Math.round(split.train.length * config.training.validationFraction),
        heldOutTopics: split.heldOut.length,
        trainLinks: linkCount(split.trainLinks),
        epochsRun: t.history.length,
        bestEpoch: t.bestEpoch + 1,
        bestValidationRecall: t.bestRecall,
        initialValidationRecall: t.initialRecall,
        neuralRecall50: scores.neural['recall@50'],
        fusedRecall50: scores.fused['recall@50'],
        f2: scores.reranked ? scores.reranked.f2 : scores.fused.f2AtBestTopK,
        reranked: scores.reranked !== undefined,
        trainSeconds: trained.seconds.total,
        twoTowerSeconds: trained.seconds.training,
        history: t.history,
      };
      rows.push(row);
      log(`${variant}/${seed}: best validation recall ${row.bestValidationRecall.toFixed(4)} at epoch ${row.bestEpoch} of ${row.epochsRun}; held-out neural R@50 ${row.neuralRecall50.toFixed(4)}, fused R@50 ${row.fusedRecall50.toFixed(4)}, F2 ${row.f2.toFixed(4)}${row.reranked ? '' : ' (fused, best top-k)'}; train ${row.trainSeconds.toFixed(0)} s`);
      save();
      if (!values['keep-models']) rmSync(modelDir, { recursive: true, force: true });
    }
  }

  const f = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  console.log(`${name}: ${data.topics} topics (${data.linkedTopics} linked), ${data.content} items, ${data.links} links; 25% topic holdout, seeds ${seeds.join(', ')}; ${runtime.message}; override ${JSON.stringify(override)}\n`);
  console.log('| variant | seed | train links | val R@50 (best epoch / run) | untrained val R@50 | held-out neural R@50 | fused R@50 | final F2 | train s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const line = (r: Pick<Row, 'variant' | 'trainLinks' | 'bestValidationRecall' | 'initialValidationRecall' | 'neuralRecall50' | 'fusedRecall50' | 'f2' | 'reranked' | 'trainSeconds'>, seed: string, epochs: string) =>
    console.log(`| ${r.variant} | ${seed} | ${r.trainLinks.toFixed(0)} | ${f(r.bestValidationRecall)} (${epochs}) | ${f(r.initialValidationRecall)} | ${f(r.neuralRecall50)} | ${f(r.fusedRecall50)} | ${f(r.f2)}${r.reranked ? '' : '*'} | ${r.trainSeconds.toFixed(0)} |`);
  for (const r of rows) line(r, String(r.seed), `${r.bestEpoch} / ${r.epochsRun}`);
  for (const variant of Object.keys(variants)) {
    const mine = rows.filter((r) => r.variant === variant);
    if (mine.length < 2) continue;
    const mean = (key: keyof Row) => mine.reduce((s, r) => s + (r[key] as number), 0) / mine.length;
    line({ variant, trainLinks: mean('trainLinks'), bestValidationRecall: mean('bestValidationRecall'), initialValidationRecall: mean('initialValidationRecall'), neuralRecall50: mean('neuralRecall50'), fusedRecall50: mean('fusedRecall50'), f2: mean('f2'), reranked: mine.every((r) => r.reranked), trainSeconds: mean('trainSeconds') }, '**mean**', `${f(mean('bestEpoch'), 1)} / ${f(mean('epochsRun'), 1)}`);
  }
  if (rows.some((r) => !r.reranked)) console.log('\n* no reranker: the fused list\'s F2 at its best fixed top-k.');
});
