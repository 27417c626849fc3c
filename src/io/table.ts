/**
 * The recommendation table: one row per (topic, recommended content item),
 * column-oriented on typed arrays so a million rows cost a few dozen MB and
 * no per-row objects.
 *
 * Ids are not repeated per row: `topic` and `content` index into the string
 * tables `topicIds` and `contentIds` (in the pipeline these are simply the
 * dataset's topic and content rows). The free-text explanation is stored
 * pre-encoded as UTF-8 in the Arrow layout (offsets + bytes), so exporting it
 * is a byte copy.
 *
 *   row i:  topicIds[topic[i]]  contentIds[content[i]]  rank[i]  score[i]
 *           stages.get(name)[i] for every stage          utf8At(explanation, i)
 */
import { DataError, UsageError } from '../errors.ts';

/** Strings in the Arrow UTF-8 layout: value i is `data[offsets[i] .. offsets[i + 1])`. */
export interface Utf8Column {
  /** Byte offsets, starting at 0 and non-decreasing. [n + 1] */
  readonly offsets: Int32Array;
  /** The UTF-8 bytes of all values, concatenated. [offsets[n]] */
  readonly data: Uint8Array;
}

export interface RecommendationTable {
  /** Number of rows. */
  readonly length: number;
  /**
   * Topic id string table. Lists every topic to report, also those without a
   * row: the CSV writer gives each entry one line, in this order. Unique.
   */
  readonly topicIds: readonly string[];
  /** Content id string table. Unique. */
  readonly contentIds: readonly string[];
  /** Row -> index into `topicIds`. [n] */
  readonly topic: Uint32Array;
  /** Row -> index into `contentIds`. [n] */
  readonly content: Uint32Array;
  /** 1-based rank within the topic (1 = best); unique within a topic. [n] */
  readonly rank: Int32Array;
  /** Final score the decision rule was applied to (NaN when unknown, e.g. read from a CSV). [n] */
  readonly score: Float32Array;
  /**
   * Per-stage scores by stage name, in column order (e.g. retrieval, lexical,
   * rerank). NaN where the stage did not score the item. Each [n].
   */
  readonly stages: ReadonlyMap<string, Float32Array>;
  /** Why the item was recommended: the stage that found it, the linking topic if any. '' allowed. [n] */
  readonly explanation: Utf8Column;
}

/** One row as plain values, for tests, debugging and small consumers. */
export interface RecommendationRow {
  topicId: string;
  contentId: string;
  rank: number;
  score: number;
  /** Stage name -> score (NaN where the stage did not score the item). */
  stages: Record<string, number>;
  explanation: string;
}

/** Stage names become column names (`score_<name>`), so they are kept to a safe alphabet. */
export const STAGE_NAME = /^[a-z][a-z0-9_]*$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes `values` into one Utf8Column. */
export function encodeUtf8Column(values: readonly string[]): Utf8Column {
  const offsets = new Int32Array(values.length + 1);
  let data: Uint8Array = new Uint8Array(Math.max(16, values.length * 16));
  let used = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (used + value.length * 3 > data.length) data = grow(data, used + value.length * 3);
    used += encoder.encodeInto(value, data.subarray(used)).written;
    offsets[i + 1] = used;
  }
  return { offsets, data: data.slice(0, used) };
}

/** Value `i` of a Utf8Column as a string. */
export function utf8At(column: Utf8Column, i: number): string {
  return decoder.decode(column.data.subarray(column.offsets[i], column.offsets[i + 1]));
}

/** All values of a Utf8Column as strings. */
export function decodeUtf8Column(column: Utf8Column): string[] {
  const out = new Array<string>(column.offsets.length - 1);
  for (let i = 0; i < out.length; i++) out[i] = utf8At(column, i);
  return out;
}

function grow(data: Uint8Array, need: number): Uint8Array {
  const next = new Uint8Array(Math.max(need, data.length * 2));
  next.set(data);
  return next;
}

/** The rows of `table` as plain objects, in table order. */
export function recommendationRows(table: RecommendationTable): RecommendationRow[] {
  const rows: RecommendationRow[] = [];
  for (let i = 0; i < table.length; i++) {
    const stages: Record<string, number> = {};
    for (const [name, values] of table.stages) stages[name] = values[i];
    rows.push({
      topicId: table.topicIds[table.topic[i]],
      contentId: table.contentIds[table.content[i]],
      rank: table.rank[i],
      score: table.score[i],
      stages,
      explanation: utf8At(table.explanation, i),
    });
  }
  return rows;
}

/**
 * Throws a DataError unless `table` is consistent: every column has `length`
 * entries, indices are in range, ranks are >= 1, the id tables are unique and
 * the explanation offsets are well formed. Linear time; the writers call it
 * once before touching the disk.
 */
export function checkRecommendationTable(scope: string, table: RecommendationTable): void {
  const n = table.length;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new DataError(`${scope}: table.length must be a non-negative integer (got ${n}).`);
  }
  const columns: [string, ArrayLike<number>][] = [
    ['topic', table.topic],
    ['content', table.content],
    ['rank', table.rank],
    ['score', table.score],
  ];
  for (const [name, values] of table.stages) {
    if (!STAGE_NAME.test(name)) {
      throw new UsageError(`${scope}: a stage name must match ${STAGE_NAME} (got ${JSON.stringify(name)}).`, 'Stage names become column names score_<name>.');
    }
    columns.push([`stages.${name}`, values]);
  }
  for (const [name, values] of columns) {
    if (values.length !== n) throw new DataError(`${scope}: table.${name} must have table.length = ${n} entries (got ${values.length}).`);
  }
  checkUnique(scope, 'topicIds', table.topicIds);
  checkUnique(scope, 'contentIds', table.contentIds);
  for (let i = 0; i < n; i++) {
    if (table.topic[i] >= table.topicIds.length) {
      throw new DataError(`${scope}: table.topic[${i}] must be < topicIds.length = ${table.topicIds.length} (got ${table.topic[i]}).`);
    }
    if (table.content[i] >= table.contentIds.length) {
      throw new DataError(`${scope}: table.content[${i}] must be < contentIds.length = ${table.contentIds.length} (got ${table.content[i]}).`);
    }
    if (table.rank[i] < 1) throw new DataError(`${scope}: table.rank[${i}] must be >= 1 (got ${table.rank[i]}).`, { hint: 'Ranks are 1-based.' });
  }
  const { offsets, data } = table.explanation;
  if (offsets.length !== n + 1 || offsets[0] !== 0 || offsets[n] !== data.length) {
    throw new DataError(
      `${scope}: table.explanation must have n + 1 = ${n + 1} offsets from 0 to data.length = ${data.length} ` +
        `(got ${offsets.length} offsets, first ${offsets[0]}, last ${offsets[offsets.length - 1]}).`,
      { hint: 'Build it with encodeUtf8Column() or RecommendationTableBuilder.' },
    );
  }
  for (let i = 0; i < n; i++) {
    if (offsets[i + 1] < offsets[i]) throw new DataError(`${scope}: table.explanation.offsets must be non-decreasing (got ${offsets[i]} then ${offsets[i + 1]} at row ${i}).`);
  }
}

function checkUnique(scope: string, name: string, ids: readonly string[]): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (typeof id !== 'string') throw new DataError(`${scope}: table.${name} must hold strings (got ${typeof id}).`);
    if (seen.has(id)) throw new DataError(`${scope}: table.${name} must be unique (got ${JSON.stringify(id)} twice).`);
    seen.add(id);
  }
}

/**
 * Row order for per-topic output: `order[start[t] .. start[t + 1])` are the
 * rows of topic t sorted by rank. Counting sort by topic, then an insertion
 * sort by rank inside each topic (rows usually arrive in rank order, so that
 * is linear). Throws a DataError on a rank repeated within a topic.
 */
export function groupByTopic(scope: string, table: RecommendationTable): { start: Uint32Array; order: Uint32Array } {
  const topics = table.topicIds.length;
  const start = new Uint32Array(topics + 1);
  for (let i = 0; i < table.length; i++) start[table.topic[i] + 1]++;
  for (let t = 0; t < topics; t++) start[t + 1] += start[t];
  const next = start.slice(0, topics);
  const order = new Uint32Array(table.length);
  for (let i = 0; i < table.length; i++) order[next[table.topic[i]]++] = i;
  const rank = table.rank;
  for (let t = 0; t < topics; t++) {
    for (let j = start[t] + 1; j < start[t + 1]; j++) {
      const row = order[j];
      let k = j;
      while (k > start[t] && rank[order[k - 1]] > rank[row]) {
        order[k] = order[k - 1];
        k--;
      }
      order[k] = row;
      if (k > start[t] && rank[order[k - 1]] === rank[row]) {
        throw new DataError(`${scope}: rank must be unique within a topic (got rank ${rank[row]} twice for topic ${JSON.stringify(table.topicIds[t])}).`);
      }
    }
  }
  return { start, order };
}

/** One row for RecommendationTableBuilder.add. */
export interface RecommendationInput {
  /** Topic id, or an index into the builder's topic table. */
  topic: string | number;
  /** Content id, or an index into the builder's content table. */
  content: string | number;
  /** 1-based rank; default: one more than the rows already added for this topic. */
  rank?: number;
  score: number;
  /** Scores by stage name; stages not given are NaN. */
  stages?: Readonly<Record<string, number>>;
  /** Default ''. */
  explanation?: string;
}

/**
 * Builds a RecommendationTable row by row with amortised-doubling typed
 * arrays. Ids given as strings are interned into the string tables (new ones
 * appended); ids given as numbers index the tables passed to the constructor.
 */
export class RecommendationTableBuilder {
  private readonly topicIds: string[];
  private readonly contentIds: string[];
  private readonly topicIndex = new Map<string, number>();
  private readonly contentIndex = new Map<string, number>();
  private readonly stageNames: readonly string[];
  private readonly perTopic: number[] = [];
  private n = 0;
  private topic = new Uint32Array(1024);
  private content = new Uint32Array(1024);
  private rank = new Int32Array(1024);
  private score = new Float32Array(1024);
  private stages: Float32Array[];
  private offsets = new Int32Array(1025);
  private bytes: Uint8Array = new Uint8Array(16 * 1024);

  /**
   * @param stageNames stage columns, in order (each must match STAGE_NAME).
   * @param topicIds initial topic string table (e.g. every topic to report, so topics without rows get a CSV line).
   * @param contentIds initial content string table.
   */
  constructor(stageNames: readonly string[] = [], topicIds: readonly string[] = [], contentIds: readonly string[] = []) {
    for (const name of stageNames) {
      if (!STAGE_NAME.test(name)) {
        throw new UsageError(`io/table: a stage name must match ${STAGE_NAME} (got ${JSON.stringify(name)}).`, 'Stage names become column names score_<name>.');
      }
    }
    this.stageNames = [...stageNames];
    this.stages = stageNames.map(() => new Float32Array(1024));
    this.topicIds = [...topicIds];
    this.contentIds = [...contentIds];
    this.topicIds.forEach((id, i) => this.topicIndex.set(id, i));
    this.contentIds.forEach((id, i) => this.contentIndex.set(id, i));
  }

  get length(): number {
    return this.n;
  }

  add(row: RecommendationInput): this {
    if (row.stages) {
      for (const name of Object.keys(row.stages)) {
        if (!this.stageNames.includes(name)) {
          throw new UsageError(`io/table: a stage score must name a declared stage (got ${JSON.stringify(name)}).`, `Declared stages: ${this.stageNames.join(', ') || '(none)'}.`);
        }
      }
    }
    const t = this.intern(row.topic, this.topicIds, this.topicIndex, 'topic');
    const c = this.intern(row.content, this.contentIds, this.contentIndex, 'content');
    if (this.n === this.topic.length) this.growRows();
    const i = this.n++;
    const previous = this.perTopic[t] ?? 0;
    this.perTopic[t] = previous + 1;
    this.topic[i] = t;
    this.content[i] = c;
    this.rank[i] = row.rank ?? previous + 1;
    this.score[i] = row.score;
    for (let s = 0; s < this.stageNames.length; s++) this.stages[s][i] = row.stages?.[this.stageNames[s]] ?? NaN;
    const text = row.explanation ?? '';
    const at = this.offsets[i];
    if (at + text.length * 3 > this.bytes.length) this.bytes = grow(this.bytes, at + text.length * 3);
    this.offsets[i + 1] = at + encoder.encodeInto(text, this.bytes.subarray(at)).written;
    return this;
  }

  /** The table so far (copies; the builder stays usable). */
  build(): RecommendationTable {
    const n = this.n;
    return {
      length: n,
      topicIds: [...this.topicIds],
      contentIds: [...this.contentIds],
      topic: this.topic.slice(0, n),
      content: this.content.slice(0, n),
      rank: this.rank.slice(0, n),
      score: this.score.slice(0, n),
      stages: new Map(this.stageNames.map((name, s) => [name, this.stages[s].slice(0, n)])),
      explanation: { offsets: this.offsets.slice(0, n + 1), data: this.bytes.slice(0, this.offsets[n]) },
    };
  }

  private intern(id: string | number, table: string[], index: Map<string, number>, what: string): number {
    if (typeof id === 'number') {
      if (!Number.isInteger(id) || id < 0 || id >= table.length) {
        throw new UsageError(`io/table: a ${what} index must be an integer in [0, ${table.length}) (got ${id}).`, `Pass the ${what} id as a string to add it to the table.`);
      }
      return id;
    }
    let k = index.get(id);
    if (k === undefined) {
      k = table.length;
      table.push(id);
      index.set(id, k);
    }
    return k;
  }

  private growRows(): void {
    const size = this.topic.length * 2;
    const widen = <A extends Uint32Array | Int32Array | Float32Array>(a: A, make: new (n: number) => A): A => {
      const b = new make(size);
      b.set(a);
      return b;
    };
    this.topic = widen(this.topic, Uint32Array);
    this.content = widen(this.content, Uint32Array);
    this.rank = widen(this.rank, Int32Array);
    this.score = widen(this.score, Float32Array);
    this.stages = this.stages.map((a) => widen(a, Float32Array));
    const offsets = new Int32Array(size + 1);
    offsets.set(this.offsets.subarray(0, this.n + 1));
    this.offsets = offsets;
  }
}
