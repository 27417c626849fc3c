/**
 * The report's plots: Vega-Lite specifications compiled to Vega and rendered
 * to static SVG on the server (a headless Vega view, renderer 'none'), so the
 * page needs no script to show them. The only module that imports vega.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EpochPoint, GroupScore, RecallCurve, StageTiming, ThresholdCurve } from './types.ts';

const WIDTH = 520;
const HEIGHT = 240;

const CONFIG = {
  font: 'sans-serif',
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  range: { category: ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'] },
};

/** Renders a Vega-Lite specification to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: compiled } = compile({ config: CONFIG, ...spec } as TopLevelSpec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Seconds per stage as horizontal bars (sub-stages indented under their stage). */
export function timingSpec(stages: readonly StageTiming[]): TopLevelSpec {
  const values = stages.map((s, i) => ({ stage: `${String(i + 1).padStart(2, '0')} ${s.parent ? '  ' : ''}${s.name}`, seconds: s.seconds, kind: s.parent ? 'inside ' + s.parent : 'stage' }));
  return {
    width: WIDTH,
    height: { step: 18 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'stage', type: 'nominal', sort: null, title: null, axis: { labelExpr: 'slice(datum.label, 3)', labelLimit: 220 } },
      x: { field: 'seconds', type: 'quantitative', title: 'seconds' },
      color: { field: 'kind', type: 'nominal', title: null, scale: { range: ['#4c78a8', '#9ecae9'] }, sort: ['stage'] },
      tooltip: [{ field: 'stage' }, { field: 'seconds', format: '.2f' }],
    },
  } as TopLevelSpec;
}

/** One line per epoch of `field` (training loss or validation recall), the best epoch marked. */
export function epochSpec(history: readonly EpochPoint[], field: 'loss' | 'validationRecall', title: string): TopLevelSpec {
  const values = history.map((h) => ({ epoch: h.epoch + 1, value: h[field], best: h.best ? 'best so far' : 'epoch' }));
  return {
    width: WIDTH / 2 - 40,
    height: HEIGHT - 40,
    data: { values },
    layer: [
      { mark: { type: 'line', color: '#4c78a8' }, encoding: { x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 }, title: 'epoch' }, y: { field: 'value', type: 'quantitative', title, scale: { zero: false } } } },
      {
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'best', type: 'nominal', title: null, scale: { domain: ['epoch', 'best so far'], range: ['#4c78a8', '#e45756'] } },
        },
      },
    ],
  } as TopLevelSpec;
}

/** recall@K against K, one line per stage. */
export function recallSpec(curves: readonly RecallCurve[]): TopLevelSpec {
  const values = curves.flatMap((c) => c.recall.map((recall, k) => ({ stage: c.stage, k: k + 1, recall })));
  return {
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'k', type: 'quantitative', title: 'K (candidates per topic)' },
      y: { field: 'recall', type: 'quantitative', title: 'recall@K', scale: { domain: [0, 1] } },
      color: { field: 'stage', type: 'nominal', title: 'stage', sort: curves.map((c) => c.stage) },
    },
  } as TopLevelSpec;
}

/** Mean F2 against the score threshold (the reranker probability, after content competition when on), with the learned decision rule marked. */
export function thresholdSpec(curve: ThresholdCurve): TopLevelSpec {
  const values = curve.thresholds.flatMap((threshold, i) => [
    { threshold, f2: curve.f2[i], rule: 'score >= threshold' },
    { threshold, f2: curve.f2AtLeastOne[i], rule: 'score >= threshold, at least the top one' },
  ]);
  const layers: unknown[] = [
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: { field: 'threshold', type: 'quantitative', title: 'score threshold (reranker probability, after content competition when on)', scale: { domain: [0, 1] } },
        y: { field: 'f2', type: 'quantitative', title: 'mean F2', scale: { domain: [0, 1] } },
        color: { field: 'rule', type: 'nominal', title: 'kept per topic' },
      },
    },
  ];
  if (curve.rule) {
    const rule = curve.rule;
    const label = `learned rule (threshold ${rule.threshold.toFixed(3)}, margin ${rule.margin}, cap ${rule.cap}): F2 ${rule.f2.toFixed(3)}`;
    layers.push(
      { data: { values: [{ threshold: Math.min(1, rule.threshold) }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { field: 'threshold', type: 'quantitative' } } },
      {
        data: { values: [{ threshold: Math.min(1, rule.threshold), f2: rule.f2, label }] },
        layer: [
          { mark: { type: 'point', shape: 'diamond', size: 90, filled: true, color: '#e45756' }, encoding: { x: { field: 'threshold', type: 'quantitative' }, y: { field: 'f2', type: 'quantitative' } } },
          { mark: { type: 'text', align: rule.threshold > 0.5 ? 'right' : 'left', dx: rule.threshold > 0.5 ? -8 : 8, dy: -10, fontSize: 11 }, encoding: { x: { field: 'threshold', type: 'quantitative' }, y: { field: 'f2', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    );
  }
  return { width: WIDTH, height: HEIGHT, layer: layers } as TopLevelSpec;
}

/** Mean F2 per group (bars), with the number of topics in each as a label. */
export function groupSpec(groups: readonly GroupScore[], by: GroupScore['by']): TopLevelSpec {
  const values = groups.filter((g) => g.by === by).map((g) => ({ group: g.group, f2: g.f2, topics: g.topics, label: `${g.topics} topics` }));
  return {
    width: WIDTH / 2 - 40,
    height: { step: 20 },
    data: { values },
    encoding: {
      y: { field: 'group', type: 'nominal', sort: null, title: by, axis: { labelLimit: 140 } },
      x: { field: 'f2', type: 'quantitative', title: 'mean F2', scale: { domain: [0, 1] } },
    },
    layer: [
      { mark: { type: 'bar', color: '#54a24b' } },
      { mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#555' }, encoding: { text: { field: 'label' } } },
    ],
  } as TopLevelSpec;
}
