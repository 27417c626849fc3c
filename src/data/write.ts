/**
 * Writes a Dataset as a LECR folder (topics.csv, content.csv,
 * correlations.csv). Each file is written atomically (temporary file, then
 * rename), so an error never leaves a half-written file.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../io/atomic.ts';
import { CONTENT_COLUMNS, CORRELATION_COLUMNS, TOPIC_COLUMNS } from './lecr.ts';
import type { Dataset } from './types.ts';

const BATCH = 2000;

async function writeTable(path: string, header: readonly string[], count: number, row: (i: number) => string[]): Promise<void> {
  await writeFileAtomic(path, async (sink) => {
    await sink.write(header.join(',') + '\n');
    for (let start = 0; start < count; start += BATCH) {
      const rows: string[][] = [];
      for (let i = start; i < Math.min(count, start + BATCH); i++) rows.push(row(i));
      await sink.write(stringify(rows, { record_delimiter: '\n' }));
    }
  });
}

/** Writes `dataset` into `dir` (created if needed). Content ids of a topic are written in dataset order. */
export async function writeDataset(dir: string, dataset: Dataset): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { topics, content, links } = dataset;
  await writeTable(join(dir, 'topics.csv'), TOPIC_COLUMNS, topics.length, (i) => {
    const t = topics[i];
    return [t.id, t.title, t.description, t.channel, t.category, t.level < 0 ? '' : String(t.level), t.language, t.parent, t.hasContent ? 'True' : 'False'];
  });
  await writeTable(join(dir, 'content.csv'), CONTENT_COLUMNS, content.length, (i) => {
    const c = content[i];
    return [c.id, c.title, c.description, c.kind, c.text, c.language, c.copyrightHolder, c.license];
  });
  const linked = topics.map((_, i) => i).filter((i) => links[i].length > 0);
  await writeTable(join(dir, 'correlations.csv'), CORRELATION_COLUMNS, linked.length, (k) => {
    const t = linked[k];
    return [topics[t].id, Array.from(links[t], (c) => content[c].id).join(' ')];
  });
}
