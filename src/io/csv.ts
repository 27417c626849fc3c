/**
 * The LECR submission CSV (Learning Equality curriculum recommendations):
 *
 *   topic_id,content_ids
 *   t_00004da3a1b2,c_1108dd0c7a5d c_376c5a8eb028
 *   t_00068291e9a4,
 *
 * One line per topic of the table's `topicIds` (in that order), content ids
 * space-separated in rank order; a topic without recommendations keeps its
 * line with an empty content_ids. Lines end in "\n". Fields are quoted by
 * csv-stringify only when they need it (RFC 4180). The format has no room
 * for scores, stages, explanations or metadata: those go to .arrow/.parquet.
 */
import { readFile } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { DataError } from '../errors.ts';
import type { ByteSink } from './atomic.ts';
import { groupByTopic, type RecommendationTable } from './table.ts';

export const SUBMISSION_HEADER = ['topic_id', 'content_ids'] as const;

/** Topics per csv-stringify call: large enough to amortise the call, small enough to stream. */
const TOPICS_PER_CHUNK = 4096;

/** Throws a DataError unless every id can be written to the submission format. */
export function checkSubmissionIds(scope: string, table: RecommendationTable): void {
  for (const id of table.topicIds) {
    if (id.length === 0) throw new DataError(`${scope}: a topic id must be non-empty (got "").`);
  }
  for (const id of table.contentIds) {
    if (id.length === 0 || /\s/.test(id)) {
      throw new DataError(`${scope}: a content id must be non-empty and hold no whitespace (got ${JSON.stringify(id)}).`, {
        hint: 'The submission format separates content ids with spaces; write .arrow or .parquet to keep such ids.',
      });
    }
  }
}

/** Writes the submission CSV of a checked table to `sink`. */
export async function writeSubmissionCsv(sink: ByteSink, table: RecommendationTable): Promise<void> {
  const { start, order } = groupByTopic('io/csv', table);
  const { topicIds, contentIds, content } = table;
  await sink.write(SUBMISSION_HEADER.join(',') + '\n');
  const ids: string[] = [];
  for (let first = 0; first < topicIds.length; first += TOPICS_PER_CHUNK) {
    const last = Math.min(topicIds.length, first + TOPICS_PER_CHUNK);
    const records: [string, string][] = [];
    for (let t = first; t < last; t++) {
      ids.length = 0;
      for (let j = start[t]; j < start[t + 1]; j++) ids.push(contentIds[content[order[j]]]);
      records.push([topicIds[t], ids.join(' ')]);
    }
    await sink.write(stringify(records, { record_delimiter: '\n' }));
  }
}

/**
 * Reads a submission CSV back into a table: topics in file order (also those
 * with no content), ranks from the order of the ids, score NaN, no stages,
 * empty explanations.
 */
export async function readSubmissionCsv(path: string): Promise<RecommendationTable> {
  const text = await readFile(path, 'utf8');
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true }) as string[][];
  } catch (error) {
    throw new DataError(`io/csv: the file must be valid CSV (got: ${(error as Error).message}).`, { file: path });
  }
  const header = records[0] ?? [];
  if (header.length !== 2 || header[0] !== SUBMISSION_HEADER[0] || header[1] !== SUBMISSION_HEADER[1]) {
    throw new DataError(`io/csv: the header must be "${SUBMISSION_HEADER.join(',')}" (got "${header.join(',')}").`, { file: path, line: 1 });
  }
  const topicIds: string[] = [];
  const seenTopics = new Set<string>();
  const contentIds: string[] = [];
  const contentIndex = new Map<string, number>();
  const topic: number[] = [];
  const content: number[] = [];
  const rank: number[] = [];
  for (let r = 1; r < records.length; r++) {
    const [topicId, list] = records[r];
    if (seenTopics.has(topicId)) throw new DataError(`io/csv: each topic must have one line (got ${JSON.stringify(topicId)} again).`, { file: path, line: r + 1 });
    seenTopics.add(topicId);
    const t = topicIds.push(topicId) - 1;
    let k = 0;
    for (const id of list.split(/\s+/)) {
      if (id === '') continue;
      let c = contentIndex.get(id);
      if (c === undefined) {
        c = contentIds.push(id) - 1;
        contentIndex.set(id, c);
      }
      topic.push(t);
      content.push(c);
      rank.push(++k);
    }
  }
  const n = topic.length;
  return {
    length: n,
    topicIds,
    contentIds,
    topic: Uint32Array.from(topic),
    content: Uint32Array.from(content),
    rank: Int32Array.from(rank),
    score: new Float32Array(n).fill(NaN),
    stages: new Map(),
    explanation: { offsets: new Int32Array(n + 1), data: new Uint8Array(0) },
  };
}
