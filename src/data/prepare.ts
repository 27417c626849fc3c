/**
 * `trellis prepare khan|debian`: converts a raw source folder into a LECR
 * dataset folder (data/khan, data/debian by default).
 */
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { convertKhan } from './convert-khan.ts';
import { convertDebian } from './convert-debian.ts';
import { writeDataset } from './write.ts';
import type { Dataset } from './types.ts';

export const SOURCES = ['khan', 'debian'] as const;
export type SourceName = (typeof SOURCES)[number];

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where each source is read from and written to, unless given. */
export const SOURCE_DEFAULTS: Record<SourceName, { source: string; out: string }> = {
  khan: { source: join(REPO, '..', 'shared', 'data', 'khan-2014'), out: join(REPO, 'data', 'khan') },
  debian: { source: join(REPO, '..', 'shared', 'data', 'debian-bookworm'), out: join(REPO, 'data', 'debian') },
};

export interface PrepareResult {
  dataset: Dataset;
  out: string;
  summary: Record<string, number>;
}

export async function prepareSource(name: string, source?: string, out?: string): Promise<PrepareResult> {
  if (!(SOURCES as readonly string[]).includes(name)) {
    throw new UsageError(`trellis prepare: source must be one of ${SOURCES.join(', ')} (got ${JSON.stringify(name)}).`);
  }
  const defaults = SOURCE_DEFAULTS[name as SourceName];
  const from = source ?? defaults.source;
  const to = out ?? defaults.out;
  let dataset: Dataset;
  let extra: Record<string, number> = {};
  if (name === 'khan') {
    dataset = await convertKhan(from);
  } else {
    const result = await convertDebian(from);
    dataset = result.dataset;
    extra = { ...result.stats };
  }
  await writeDataset(to, dataset);
  const links = dataset.links.reduce((s, l) => s + l.length, 0);
  return { dataset, out: to, summary: { topics: dataset.topics.length, content: dataset.content.length, links, ...extra } };
}
