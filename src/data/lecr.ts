/**
 * Loads and validates a dataset in the LECR file format (Learning Equality
 * curriculum recommendations, Kaggle 2023):
 *
 *   topics.csv        id,title,description,channel,category,level,language,parent,has_content
 *   content.csv       id,title,description,kind,text,language,copyright_holder,license
 *   correlations.csv  topic_id,content_ids            (content ids space-separated)
 *   sample_submission.csv (optional) topic_id,content_ids   (the topics to predict)
 *
 * Every problem is a DataError naming the file and line, with a hint:
 * missing columns, empty ids, duplicate ids, unknown parents, cycles in the
 * parent links, correlations naming unknown ids, malformed or non-UTF-8 files.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { DataError } from '../errors.ts';
import { readCsv } from './csv.ts';
import type { Content, Dataset, Topic } from './types.ts';

export const TOPIC_COLUMNS = ['id', 'title', 'description', 'channel', 'category', 'level', 'language', 'parent', 'has_content'] as const;
export const CONTENT_COLUMNS = ['id', 'title', 'description', 'kind', 'text', 'language', 'copyright_holder', 'license'] as const;
export const CORRELATION_COLUMNS = ['topic_id', 'content_ids'] as const;

export interface LoadOptions {
  /** Skip correlation rows that name unknown topic or content ids instead of failing. Default false. */
  lenient?: boolean;
  /** Read correlations.csv (default true); false for a catalogue without links. */
  correlations?: boolean;
}

const TRUE_VALUES = new Set(['true', '1', 'yes', 't']);
const FALSE_VALUES = new Set(['false', '0', 'no', 'f', '']);

async function loadTopics(file: string): Promise<{ topics: Topic[]; index: Map<string, number>; lines: number[]; columns: string[] }> {
  const topics: Topic[] = [];
  const index = new Map<string, number>();
  const lines: number[] = [];
  let columns: string[] = [];
  await readCsv(file, { required: ['id', 'title'], known: TOPIC_COLUMNS, onHeader: (present) => (columns = present) }, (row) => {
    const id = row.get('id').trim();
    if (!id) throw new DataError('empty topic id.', { file, line: row.line, hint: 'Every topic needs an id.' });
    const seen = index.get(id);
    if (seen !== undefined) {
      throw new DataError(`duplicate topic id "${id}" (first seen on line ${lines[seen]}).`, { file, line: row.line, hint: 'Topic ids must be unique.' });
    }
    const levelText = row.get('level').trim();
    const level = levelText === '' ? -1 : Number(levelText);
    if (!Number.isInteger(level) || level < -1) {
      throw new DataError(`level must be a non-negative integer (got "${levelText}").`, { file, line: row.line });
    }
    const hasContentText = row.get('has_content').trim().toLowerCase();
    if (!TRUE_VALUES.has(hasContentText) && !FALSE_VALUES.has(hasContentText)) {
      throw new DataError(`has_content must be True or False (got "${row.get('has_content')}").`, { file, line: row.line });
    }
    index.set(id, topics.length);
    lines.push(row.line);
    topics.push({
      id,
      title: row.get('title'),
      description: row.get('description'),
      channel: row.get('channel').trim(),
      category: row.get('category').trim(),
      level,
      language: row.get('language').trim(),
      parent: row.get('parent').trim(),
      hasContent: TRUE_VALUES.has(hasContentText),
    });
  });
  return { topics, index, lines, columns };
}

/** Checks parents exist and the parent links form a forest; fills missing channels from the root. */
function checkHierarchy(file: string, topics: Topic[], index: Map<string, number>, lines: number[]): void {
  const parentRow = new Int32Array(topics.length).fill(-1);
  for (let t = 0; t < topics.length; t++) {
    const parent = topics[t].parent;
    if (parent === '') continue;
    const p = index.get(parent);
    if (p === undefined) {
      throw new DataError(`topic "${topics[t].id}" names an unknown parent "${parent}".`, {
        file, line: lines[t], hint: 'Every parent must be the id of a topic in the same file (leave parent empty for a root).',
      });
    }
    parentRow[t] = p;
  }
  // Each topic is resolved to its root once: state 0 = new, 1 = on the current path, 2 = done.
  const state = new Uint8Array(topics.length);
  const rootOf = new Int32Array(topics.length).fill(-1);
  const path: number[] = [];
  for (let start = 0; start < topics.length; start++) {
    if (state[start] === 2) continue;
    path.length = 0;
    let t = start;
    while (t >= 0 && state[t] === 0) {
      state[t] = 1;
      path.push(t);
      t = parentRow[t];
    }
    if (t >= 0 && state[t] === 1) {
      const cycle = path.slice(path.indexOf(t)).map((r) => topics[r].id);
      throw new DataError(`the parent links form a cycle: ${[...cycle, cycle[0]].join(' -> ')}.`, {
        file, line: lines[t], hint: 'Topics must form trees: follow parent links and one must end at a topic with an empty parent.',
      });
    }
    const root = t < 0 ? path[path.length - 1] : rootOf[t];
    for (const r of path) {
      state[r] = 2;
      rootOf[r] = root;
    }
  }
  for (let t = 0; t < topics.length; t++) {
    if (topics[t].channel === '') topics[t].channel = topics[rootOf[t]].channel || topics[rootOf[t]].id;
  }
}

async function loadContent(file: string): Promise<{ content: Content[]; index: Map<string, number>; columns: string[] }> {
  const content: Content[] = [];
  const index = new Map<string, number>();
  const lines: number[] = [];
  let columns: string[] = [];
  await readCsv(file, { required: ['id', 'title'], known: CONTENT_COLUMNS, onHeader: (present) => (columns = present) }, (row) => {
    const id = row.get('id').trim();
    if (!id) throw new DataError('empty content id.', { file, line: row.line, hint: 'Every content item needs an id.' });
    if (/\s/.test(id)) {
      throw new DataError(`content id "${id}" contains white space.`, { file, line: row.line, hint: 'correlations.csv separates content ids with spaces, so ids cannot contain them.' });
    }
    const seen = index.get(id);
    if (seen !== undefined) {
      throw new DataError(`duplicate content id "${id}" (first seen on line ${lines[seen]}).`, { file, line: row.line, hint: 'Content ids must be unique.' });
    }
    index.set(id, content.length);
    lines.push(row.line);
    content.push({
      id,
      title: row.get('title'),
      description: row.get('description'),
      kind: row.get('kind').trim(),
      text: row.get('text'),
      language: row.get('language').trim(),
      copyrightHolder: row.get('copyright_holder'),
      license: row.get('license'),
    });
  });
  return { content, index, columns };
}

interface LinkRows {
  links: Uint32Array[];
  skipped: number;
}

async function loadCorrelations(file: string, topicIndex: Map<string, number>, contentIndex: Map<string, number>, lenient: boolean): Promise<LinkRows> {
  const lists: (number[] | undefined)[] = new Array(topicIndex.size);
  const firstLine = new Map<number, number>();
  let skipped = 0;
  await readCsv(file, { required: CORRELATION_COLUMNS, known: CORRELATION_COLUMNS }, (row) => {
    const topicId = row.get('topic_id').trim();
    const t = topicIndex.get(topicId);
    if (t === undefined) {
      if (lenient) { skipped++; return; }
      throw new DataError(`unknown topic id "${topicId}".`, { file, line: row.line, hint: 'Every topic_id must be in topics.csv (or pass --lenient to skip such rows).' });
    }
    if (firstLine.has(t)) {
      throw new DataError(`topic id "${topicId}" appears twice (first on line ${firstLine.get(t)}).`, { file, line: row.line, hint: 'List all content of a topic on one row, space-separated.' });
    }
    const ids = row.get('content_ids').split(/\s+/).filter((s) => s !== '');
    const rows: number[] = [];
    for (const id of ids) {
      const c = contentIndex.get(id);
      if (c === undefined) {
        if (lenient) { rows.length = 0; skipped++; return; }
        throw new DataError(`unknown content id "${id}" for topic "${topicId}".`, { file, line: row.line, hint: 'Every content id must be in content.csv (or pass --lenient to skip such rows).' });
      }
      rows.push(c);
    }
    firstLine.set(t, row.line);
    lists[t] = rows;
  });
  const links = new Array<Uint32Array>(topicIndex.size);
  const empty = new Uint32Array(0);
  for (let t = 0; t < links.length; t++) {
    const list = lists[t];
    links[t] = list && list.length ? Uint32Array.from(new Set(list)).sort() : empty;
  }
  return { links, skipped };
}

async function loadSample(file: string, topicIndex: Map<string, number>): Promise<string[]> {
  const ids: string[] = [];
  await readCsv(file, { required: ['topic_id'], known: CORRELATION_COLUMNS }, (row) => {
    const id = row.get('topic_id').trim();
    if (!topicIndex.has(id)) {
      throw new DataError(`unknown topic id "${id}".`, { file, line: row.line, hint: 'Every topic_id must be in topics.csv.' });
    }
    ids.push(id);
  });
  return ids;
}

/**
 * Reads a LECR dataset folder. correlations.csv is required unless
 * `options.correlations` is false; sample_submission.csv is optional.
 */
export async function loadDataset(dir: string, options: LoadOptions = {}): Promise<Dataset> {
  if (!existsSync(dir)) {
    throw new DataError(`dataset folder ${dir} does not exist.`, { hint: 'Pass --data with a folder holding topics.csv, content.csv and correlations.csv.' });
  }
  const topicsFile = join(dir, 'topics.csv');
  const { topics, index: topicIndex, lines, columns: topicColumns } = await loadTopics(topicsFile);
  if (topics.length === 0) throw new DataError('no topics (the file has only a header).', { file: topicsFile });
  checkHierarchy(topicsFile, topics, topicIndex, lines);
  const { content, index: contentIndex, columns: contentColumns } = await loadContent(join(dir, 'content.csv'));
  let links: Uint32Array[];
  let skipped = 0;
  if (options.correlations === false) {
    links = topics.map(() => new Uint32Array(0));
  } else {
    ({ links, skipped } = await loadCorrelations(join(dir, 'correlations.csv'), topicIndex, contentIndex, options.lenient ?? false));
  }
  const samplePath = join(dir, 'sample_submission.csv');
  const sampleTopics = existsSync(samplePath) ? await loadSample(samplePath, topicIndex) : undefined;
  return { dir, topics, content, topicIndex, contentIndex, links, sampleTopics, skippedCorrelations: skipped, columns: { topics: topicColumns, content: contentColumns } };
}

/** Builds a Dataset from in-memory rows (validated like files; used by converters and tests). */
export function buildDataset(topics: Topic[], content: Content[], correlations: Map<string, string[]>, dir = ''): Dataset {
  const topicIndex = new Map<string, number>();
  topics.forEach((t, i) => {
    if (topicIndex.has(t.id)) throw new DataError(`duplicate topic id "${t.id}".`);
    topicIndex.set(t.id, i);
  });
  const contentIndex = new Map<string, number>();
  content.forEach((c, i) => {
    if (contentIndex.has(c.id)) throw new DataError(`duplicate content id "${c.id}".`);
    contentIndex.set(c.id, i);
  });
  checkHierarchy('topics', topics, topicIndex, topics.map((_, i) => i + 2));
  const links = topics.map(() => new Uint32Array(0));
  for (const [topicId, ids] of correlations) {
    const t = topicIndex.get(topicId);
    if (t === undefined) throw new DataError(`correlations name an unknown topic "${topicId}".`);
    const rows = ids.map((id) => {
      const c = contentIndex.get(id);
      if (c === undefined) throw new DataError(`correlations of "${topicId}" name an unknown content "${id}".`);
      return c;
    });
    links[t] = Uint32Array.from(new Set(rows)).sort();
  }
  return { dir, topics, content, topicIndex, contentIndex, links, skippedCorrelations: 0 };
}
