/**
 * The run report as one self-contained HTML page: inline CSS, plots inlined
 * as static SVG (charts.ts), no scripts, fonts, images or links to anything
 * outside the file, so it opens offline and can be mailed or archived alone.
 */
import { epochSpec, groupSpec, recallSpec, renderSvg, thresholdSpec, timingSpec } from './charts.ts';
import type { GroupScore, RunReport } from './types.ts';

/** Section ids, in page order (the table of contents and the tests use them). */
export const SECTIONS = [
  ['config', 'Configuration'],
  ['dataset', 'Dataset'],
  ['timings', 'Timings and memory'],
  ['training', 'Training'],
  ['recall', 'Recall@K per stage'],
  ['threshold', 'F2 against threshold'],
  ['groups', 'F2 per channel, language and level'],
  ['examples', 'Example topics'],
] as const;

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 28px 48px; background: white; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-top: 8px; border-top: 1px solid #e5e5e5; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #555; margin: 0 0 12px; }
nav a { margin-right: 12px; color: #2b5d8f; text-decoration: none; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td.n, th.n { text-align: right; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 12px; max-height: 420px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure { margin: 4px 0; }
figcaption { color: #555; font-size: 12px; max-width: 560px; }
svg { max-width: 100%; height: auto; }
.missing { color: #7a5a00; background: #fff8e1; border-left: 3px solid #e0b000; padding: 6px 10px; }
.hit { color: #1a7f37; font-weight: 600; }
.miss { color: #999; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.card { border: 1px solid #e3e3e3; border-radius: 6px; padding: 8px 12px; min-width: 130px; }
.card b { display: block; font-size: 20px; }
.example { margin: 14px 0 20px; }
.crumb { color: #555; }
`;

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (x: number | undefined, digits = 3) => (x === undefined || Number.isNaN(x) ? '' : Number.isInteger(x) ? x.toLocaleString('en-US') : x.toFixed(digits));
const mb = (bytes: number | undefined) => (bytes === undefined ? '' : (bytes / 2 ** 20).toFixed(0));

/** A table; `header` null for a key-value table without one. */
function table(header: readonly string[] | null, rows: readonly (readonly (string | number | undefined)[])[], numeric: readonly boolean[] = []): string {
  const cell = (tag: string, v: string | number | undefined, j: number) => `<${tag}${numeric[j] ? ' class="n"' : ''}>${typeof v === 'number' ? num(v) : escapeHtml(v ?? '')}</${tag}>`;
  return `<table>${header ? `<thead><tr>${header.map((h, j) => cell('th', h, j)).join('')}</tr></thead>` : ''}<tbody>${rows.map((r) => `<tr>${r.map((v, j) => cell('td', v, j)).join('')}</tr>`).join('')}</tbody></table>`;
}

const missing = (text: string) => `<p class="missing">${escapeHtml(text)}</p>`;
const figure = (svg: string, caption: string) => `<figure>${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;

function seconds(s: number): string {
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** The whole page. */
export async function renderReport(report: RunReport): Promise<string> {
  const parts: string[] = [];
  const started = new Date(report.startedAt);
  const wall = (new Date(report.finishedAt).getTime() - started.getTime()) / 1000;
  parts.push(`<h1>trellis ${escapeHtml(report.command)}: run ${escapeHtml(report.runId)}</h1>`);
  parts.push(`<p class="meta">${escapeHtml(`${report.startedAt} to ${report.finishedAt} (${seconds(wall)}), peak memory ${mb(report.peakRssBytes)} MB`)}` +
    `${report.model ? escapeHtml(`, model ${report.model.id} in ${report.model.dir}`) : ''}<br>` +
    `${escapeHtml(`Node ${report.environment.node} on ${report.environment.platform}, ${report.environment.cpus} CPU cores${report.environment.backend ? `, tfjs backend ${report.environment.backend}` : ''}`)}<br>` +
    `<code>${escapeHtml(['trellis', ...report.argv].join(' '))}</code></p>`);
  parts.push(`<nav>${SECTIONS.map(([id, title]) => `<a href="#${id}">${escapeHtml(title)}</a>`).join('')}</nav>`);

  const e = report.evaluation;
  const cards: [string, string][] = [];
  if (e) {
    const final = e.summary.find((r) => r.stage.startsWith('final'));
    const fused = e.summary.find((r) => r.stage.startsWith('fused'));
    if (final) cards.push(['final F2', num(final.f2)]);
    if (fused) cards.push(['fused recall@50', num(fused.recall50)]);
    cards.push(['held-out topics scored', num(e.topics)]);
  }
  if (report.training) cards.push([`best validation recall@${report.training.recallK}`, num(Math.max(...report.training.history.map((h) => h.validationRecall)))]);
  cards.push(['wall time', seconds(wall)], ['peak memory', `${mb(report.peakRssBytes)} MB`]);
  parts.push(`<div class="cards">${cards.map(([k, v]) => `<div class="card"><b>${escapeHtml(v)}</b>${escapeHtml(k)}</div>`).join('')}</div>`);
  if (report.outputs.length) parts.push(table(['output', 'file'], report.outputs.map((o) => [o.label, o.path])));

  // Configuration
  parts.push(`<h2 id="config">Configuration</h2>`);
  parts.push(report.config === undefined ? missing('This run has no model configuration.') : `<pre>${escapeHtml(JSON.stringify(report.config, null, 2))}</pre>`);

  // Dataset
  parts.push(`<h2 id="dataset">Dataset</h2>`);
  const d = report.dataset;
  if (d) {
    const rows: [string, string | number][] = [
      ['source', d.source], ['topics', d.topics], ['topics with content', d.topicsWithContent], ['content items', d.content], ['topic -> content links', d.links],
      ['channels', d.channels], ['languages', d.languages.join(', ') || '(none given)'],
    ];
    if (d.heldOut !== undefined) rows.push(['held-out topics (links hidden from training)', d.heldOut]);
    if (d.predicted !== undefined) rows.push(['topics recommended for', d.predicted]);
    parts.push(table(null, rows, [false, true]));
  } else parts.push(missing('No dataset was loaded.'));
  if (report.catalogue) {
    const { changes: c, drift: d2 } = report.catalogue;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    parts.push(`<h3>The catalogue since training</h3>`);
    parts.push(table(null, [
      ['items added since the index was built', c.added], ['items edited (encoded again)', c.edited], ['items moved to another language', c.moved],
      ['items back after removal', c.revived], ['items removed (never recommended)', c.removed], ['items unchanged', c.unchanged],
      ['new items since training', `${d2.newItems} of ${d2.items} (${pct(d2.newItemsShare)})`], ['new topics since training', `${d2.newTopics} of ${d2.topics} (${pct(d2.newTopicsShare)})`],
      ['languages training never saw', d2.newLanguages.map((l) => `${l.language || '(none)'}: ${l.items} items`).join(', ') || 'none'],
    ], [false, true]));
    parts.push(d2.retrain ? `<p><strong>Retraining suggested:</strong> ${escapeHtml(d2.reasons.join('; '))}.</p>` : '<p>Within the drift limits: no retraining needed yet.</p>');
  }

  // Timings and memory
  parts.push(`<h2 id="timings">Timings and memory</h2>`);
  parts.push(table(['stage', 'seconds', 'peak RSS so far (MB)'], report.stages.map((s) => [s.parent ? `\u2003${s.name}` : s.name, s.seconds, mb(s.maxRssBytes)]), [false, true, true]));
  parts.push(figure(await renderSvg(timingSpec(report.stages)), 'Wall time per stage; light bars are parts of the stage above them. Peak RSS is process.resourceUsage().maxRSS at the end of each stage (the peak of the whole process so far).'));

  // Training
  parts.push(`<h2 id="training">Training</h2>`);
  const t = report.training;
  if (t && t.history.length > 0) {
    parts.push(`<p>${escapeHtml(`Two-tower retriever, ${t.history.length} epochs (${t.source}); best epoch ${t.bestEpoch + 1}; ${Math.round(t.examplesPerSecond)} training pairs/s; untrained validation recall@${t.recallK} ${num(t.initialRecall)}.`)}</p>`);
    parts.push(`<div class="plots">${figure(await renderSvg(epochSpec(t.history, 'loss', 'training loss')), 'Mean in-batch softmax loss per epoch.')}` +
      `${figure(await renderSvg(epochSpec(t.history, 'validationRecall', `validation recall@${t.recallK}`)), `Recall@${t.recallK} on the validation topics after each epoch (early stopping keeps the best).`)}</div>`);
    parts.push(table(['epoch', 'loss', `validation recall@${t.recallK}`, 'learning rate', 'seconds', ''], t.history.map((h) => [h.epoch + 1, h.loss, h.validationRecall, h.learningRate.toExponential(2), h.seconds, h.best ? 'best so far' : '']), [true, true, true, true, true, false]));
  } else parts.push(missing(report.trainingMissing ?? 'No training history.'));

  // Recall@K
  parts.push(`<h2 id="recall">Recall@K per stage</h2>`);
  if (e) {
    parts.push(`<p>${escapeHtml(`On ${e.topics} topics with known answers.`)}</p>`);
    parts.push(table(['stage', 'recall@10', 'recall@50', 'recall@100', 'F2', 'cut'], e.summary.map((r) => [r.stage, r.recall10, r.recall50, r.recall100, r.f2, r.cut]), [false, true, true, true, true, false]));
    parts.push(figure(await renderSvg(recallSpec(e.recallCurves)), 'Share of each topic\'s answers found in its first K candidates, averaged over topics: the lexical (TF-IDF) and neural (two-tower) retrievers alone, their reciprocal-rank fusion, and the fused candidates reordered by the reranker.'));
  } else parts.push(missing(report.evaluationMissing ?? 'No answers to score against.'));

  // F2 against threshold
  parts.push(`<h2 id="threshold">F2 against threshold</h2>`);
  if (e?.threshold) {
    parts.push(figure(await renderSvg(thresholdSpec(e.threshold)), 'Mean F2 of the held-out topics when each keeps the reranked candidates whose score reaches the threshold (the reranker probability, after content competition when the model uses it). The diamond is the decision rule learned on validation topics (threshold, relative margin and cap), scored on these topics.'));
  } else parts.push(missing(e?.thresholdMissing ?? report.evaluationMissing ?? 'No answers to score against.'));

  // Groups
  parts.push(`<h2 id="groups">F2 per channel, language and level</h2>`);
  if (e && e.groups.length > 0) {
    const plots: string[] = [];
    for (const by of ['channel', 'language', 'level'] as const) {
      const groups = e.groups.filter((g) => g.by === by);
      const shown = by === 'level' ? groups : groups.slice(0, 25);
      const more = groups.length - shown.length;
      plots.push(figure(await renderSvg(groupSpec(shown, by)), `Mean F2 of the recommendations per ${by}${more > 0 ? ` (the ${shown.length} with most topics; ${more} more in the table)` : ''}.`));
    }
    parts.push(`<div class="plots">${plots.join('')}</div>`);
    parts.push(table(['by', 'group', 'topics', 'F2', 'precision', 'recall'], e.groups.map((g: GroupScore) => [g.by, g.group, g.topics, g.f2, g.precision, g.recall]), [false, false, true, true, true, true]));
  } else parts.push(missing(report.evaluationMissing ?? 'No answers to score against.'));

  // Examples
  parts.push(`<h2 id="examples">Example topics</h2>`);
  if (report.examples.length > 0) {
    if (e) parts.push('<p>Chosen to show the spread: the best, quartile, median and worst held-out topics by F2. <span class="hit">\u2713</span> marks an item in the topic\'s answers.</p>');
    for (const x of report.examples) {
      const head = `${escapeHtml(x.topicId)} <span class="crumb">${escapeHtml(x.breadcrumb)}</span>`;
      const score = x.gold !== undefined ? ` &middot; ${x.gold} answers, F2 ${num(x.f2)}` : '';
      // The first column marks answers, when the topic has any.
      const marks = x.gold !== undefined;
      const rows = x.items.map((i) => [...(marks ? [i.hit ? '\u2713' : '\u2013'] : []), i.rank, i.contentId, i.title, i.kind, i.score, i.explanation]);
      const header = [...(marks ? [''] : []), 'rank', 'content', 'title', 'kind', 'score', 'why'];
      let body = rows.length ? table(header, rows, [...(marks ? [false] : []), true, false, false, false, true, false]) : missing('No recommendation for this topic.');
      body = body.replace(/<td>\u2713<\/td>/g, '<td class="hit">\u2713</td>').replace(/<td>\u2013<\/td>/g, '<td class="miss">\u2013</td>');
      if (x.recommended > x.items.length) body += `<p class="crumb">${escapeHtml(`The first ${x.items.length} of ${x.recommended} recommendations.`)}</p>`;
      const missed = x.missed && x.missed.count > 0 ? `<p class="crumb">${escapeHtml(`Answers not recommended (${x.missed.count}): ${x.missed.titles.join('; ')}${x.missed.count > x.missed.titles.length ? '; ...' : ''}`)}</p>` : '';
      parts.push(`<div class="example"><h3>${head}${score}</h3>${body}${missed}</div>`);
    }
  } else parts.push(missing(report.examplesMissing ?? 'This run made no recommendations.'));

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`trellis ${report.command} ${report.runId}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${parts.join('\n')}
</main>
</body>
</html>
`;
}
