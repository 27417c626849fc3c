/**
 * Pretrained encoding throughput: texts/s of a BERT-family model (default
 * all-MiniLM-L6-v2 from scripts/fetch-pretrained.sh) with 1 and 2 worker
 * threads at fixed sequence lengths. The texts are real content texts of a
 * dataset that fill the window (at least 128 tokens; cycled when there are
 * fewer than --texts), so every batch runs at exactly the stated length.
 *
 *   node --import tsx scripts/bench-encode.ts [--model DIR] [--data data/khan] [--texts 512] [--lengths 64,128] [--workers 1,2]
 */
import { availableParallelism, loadavg } from 'node:os';
import { runScript } from './script.ts';
import { contentText, embedTexts, initRuntime, loadDataset, PretrainedEncoder, UsageError } from '../src/index.ts';

await runScript('bench-encode', {
  model: { type: 'string', default: 'models/pretrained/all-MiniLM-L6-v2' },
  data: { type: 'string', default: 'data/khan' },
  texts: { type: 'string', default: '512' },
  lengths: { type: 'string', default: '64,128' },
  workers: { type: 'string', default: '1,2' },
}, async (values) => {
  const runtime = await initRuntime();
  const model = String(values.model);
  const count = Number(values.texts);
  const lengths = String(values.lengths).split(',').map(Number);
  const workers = String(values.workers).split(',').map(Number);
  const dataset = await loadDataset(String(values.data));
  const probe = await PretrainedEncoder.load(model, { maxLength: Math.max(...lengths) });
  const long = dataset.content.map((c) => contentText(c)).filter((t) => probe.tokenizer.encode(t, 130).length >= 130).slice(0, count);
  probe.dispose();
  if (long.length === 0) throw new UsageError(`bench-encode: no content text of ${values.data} fills 128 tokens.`);
  // Too few long texts: cycle through them (a repeated text costs the same; nothing is cached here).
  const texts = Array.from({ length: count }, (_, i) => long[i % long.length]);
  console.log(`${runtime.message}; ${availableParallelism()} cores; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`model ${model}, ${texts.length} texts (${long.length} distinct) of ${values.data} that fill the window\n`);
  console.log('| sequence length | workers | texts | seconds | texts/s |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const length of lengths) {
    for (const w of workers) {
      const t0 = performance.now();
      await embedTexts(model, texts, { workers: w, encoder: { maxLength: length } });
      const seconds = (performance.now() - t0) / 1000;
      console.log(`| ${length} | ${w} | ${texts.length} | ${seconds.toFixed(1)} | ${(texts.length / seconds).toFixed(1)} |`);
    }
  }
});
