/**
 * RecommendationTable <-> Apache Arrow (apache-arrow 21).
 *
 * Schema (one row per recommendation):
 *
 *   topic_id      utf8     not null
 *   content_id    utf8     not null
 *   rank          int32    not null   1-based within the topic
 *   score         float32  not null   final score (NaN when unknown)
 *   score_<stage> float32  nullable   one per stage, null where the stage did not score the item
 *   explanation   utf8     not null   '' when there is none
 *
 * Schema metadata: trellis.format ("recommendations/1"), trellis.model_id,
 * trellis.seed, trellis.config (JSON string).
 *
 * String columns are assembled directly as Arrow data (valueOffsets Int32Array
 * + UTF-8 bytes) from ids encoded once per distinct id; building them from
 * per-row JS strings is several times slower (see BENCHMARKS). Files are
 * written batch by batch, so the writer holds one batch, not the whole file.
 *
 * Topics without a row have no place in this row-per-recommendation layout:
 * a table read back lists only the topics that have rows (in first-row order).
 */
import {
  Field,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Table,
  Type,
  Utf8,
  vectorFromArray,
  type Data,
  type Vector,
} from 'apache-arrow';
import { DataError, UsageError } from '../errors.ts';
import type { ByteSink } from './atomic.ts';
import { encodeUtf8Column, STAGE_NAME, type RecommendationTable, type Utf8Column } from './table.ts';

/** What every export carries about the run that produced it. */
export interface ExportMetadata {
  /** Id of the model that produced the recommendations. */
  modelId: string;
  /** The run's seed. */
  seed: number;
  /** The resolved run config (any JSON value); stored as a JSON string. */
  config: unknown;
}

export const FORMAT = 'recommendations/1';
export const METADATA_KEYS = Object.freeze({
  format: 'trellis.format',
  modelId: 'trellis.model_id',
  seed: 'trellis.seed',
  config: 'trellis.config',
});
export const COLUMNS = Object.freeze({
  topic: 'topic_id',
  content: 'content_id',
  rank: 'rank',
  score: 'score',
  explanation: 'explanation',
});
/** Stage `x` is stored in column `score_x`. */
export const STAGE_PREFIX = 'score_';

/** Throws a UsageError unless `metadata` can be stored; returns it as string pairs. */
export function encodeMetadata(scope: string, metadata: ExportMetadata): Map<string, string> {
  if (typeof metadata !== 'object' || metadata === null) {
    throw new UsageError(`${scope}: metadata must be an object { modelId, seed, config } (got ${metadata === null ? 'null' : typeof metadata}).`);
  }
  if (typeof metadata.modelId !== 'string') throw new UsageError(`${scope}: metadata.modelId must be a string (got ${typeof metadata.modelId}).`);
  if (!Number.isSafeInteger(metadata.seed)) throw new UsageError(`${scope}: metadata.seed must be an integer (got ${metadata.seed}).`);
  let config: string | undefined;
  try {
    config = JSON.stringify(metadata.config);
  } catch (error) {
    throw new UsageError(`${scope}: metadata.config must be JSON-serialisable (got an error: ${(error as Error).message}).`);
  }
  if (config === undefined) throw new UsageError(`${scope}: metadata.config must be JSON-serialisable (got ${typeof metadata.config}).`, 'Use null for no config.');
  return new Map([
    [METADATA_KEYS.format, FORMAT],
    [METADATA_KEYS.modelId, metadata.modelId],
    [METADATA_KEYS.seed, String(metadata.seed)],
    [METADATA_KEYS.config, config],
  ]);
}

/** The metadata back from key-value pairs; null when the file was not written by trellis. */
export function decodeMetadata(file: string, pairs: ReadonlyMap<string, string>): ExportMetadata | null {
  const modelId = pairs.get(METADATA_KEYS.modelId);
  if (modelId === undefined) return null;
  const seed = Number(pairs.get(METADATA_KEYS.seed));
  let config: unknown;
  try {
    config = JSON.parse(pairs.get(METADATA_KEYS.config) ?? 'null');
  } catch {
    throw new DataError(`${METADATA_KEYS.config} must be a JSON string (got ${JSON.stringify(pairs.get(METADATA_KEYS.config)?.slice(0, 40))}).`, { file });
  }
  return { modelId, seed, config };
}

/** The Arrow schema for a table with the given stages. */
export function recommendationSchema(stageNames: readonly string[], metadata: Map<string, string>): Schema {
  return new Schema(
    [
      new Field(COLUMNS.topic, new Utf8(), false),
      new Field(COLUMNS.content, new Utf8(), false),
      new Field(COLUMNS.rank, new Int32(), false),
      new Field(COLUMNS.score, new Float32(), false),
      ...stageNames.map((name) => new Field(STAGE_PREFIX + name, new Float32(), true)),
      new Field(COLUMNS.explanation, new Utf8(), false),
    ],
    metadata,
  );
}

/** How string columns are assembled; 'strings' exists for the benchmark that compares them. */
export type StringColumnMode = 'utf8' | 'strings';

/**
 * The table as Arrow record batches of at most `batchRows` rows. Assumes a
 * table that passed checkRecommendationTable.
 */
export function* recordBatches(table: RecommendationTable, schema: Schema, batchRows: number, mode: StringColumnMode = 'utf8'): Generator<RecordBatch> {
  const topics = mode === 'utf8' ? encodeUtf8Column(table.topicIds) : null;
  const contents = mode === 'utf8' ? encodeUtf8Column(table.contentIds) : null;
  const stages = [...table.stages.values()];
  for (let start = 0; start < table.length; start += batchRows) {
    const end = Math.min(table.length, start + batchRows);
    const n = end - start;
    const children: Data[] = [
      topics ? gatherUtf8(topics, table.topic.subarray(start, end)) : stringsData(table.topicIds, table.topic.subarray(start, end)),
      contents ? gatherUtf8(contents, table.content.subarray(start, end)) : stringsData(table.contentIds, table.content.subarray(start, end)),
      makeData({ type: new Int32(), length: n, nullCount: 0, data: table.rank.subarray(start, end) }),
      makeData({ type: new Float32(), length: n, nullCount: 0, data: table.score.subarray(start, end) }),
      ...stages.map((values) => float32WithNulls(values.subarray(start, end))),
      sliceUtf8(table.explanation, start, end),
    ];
    yield new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
  }
}

/** Utf8 data for row -> id-index `index` over the pre-encoded id table. */
function gatherUtf8(ids: Utf8Column, index: Uint32Array): Data<Utf8> {
  const n = index.length;
  const from = ids.offsets;
  const src = ids.data;
  let total = 0;
  for (let i = 0; i < n; i++) total += from[index[i] + 1] - from[index[i]];
  const valueOffsets = new Int32Array(n + 1);
  const data = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const k = index[i];
    const end = from[k + 1];
    // Ids are short: a byte loop beats subarray() + set() per value.
    for (let b = from[k]; b < end; b++) data[at++] = src[b];
    valueOffsets[i + 1] = at;
  }
  return makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets, data });
}

/** The slower path the benchmark compares against: per-row JS strings through apache-arrow's builder. */
function stringsData(ids: readonly string[], index: Uint32Array): Data<Utf8> {
  const values = Array.from(index, (k) => ids[k]);
  return vectorFromArray(values, new Utf8()).data[0];
}

function sliceUtf8(column: Utf8Column, start: number, end: number): Data<Utf8> {
  const base = column.offsets[start];
  const valueOffsets = new Int32Array(end - start + 1);
  for (let i = start; i <= end; i++) valueOffsets[i - start] = column.offsets[i] - base;
  return makeData({ type: new Utf8(), length: end - start, nullCount: 0, valueOffsets, data: column.data.subarray(base, column.offsets[end]) });
}

/** Float32 data whose NaN entries are marked null (Arrow validity bitmap, LSB first). */
function float32WithNulls(values: Float32Array): Data<Float32> {
  const n = values.length;
  let nullCount = 0;
  for (let i = 0; i < n; i++) if (values[i] !== values[i]) nullCount++;
  if (nullCount === 0) return makeData({ type: new Float32(), length: n, nullCount: 0, data: values });
  const nullBitmap = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (values[i] === values[i]) nullBitmap[i >> 3] |= 1 << (i & 7);
  return makeData({ type: new Float32(), length: n, nullCount, nullBitmap, data: values });
}

/**
 * A file writer that hands out its bytes after every batch instead of
 * queueing the whole file: `_write` is the one place RecordBatchWriter emits
 * bytes (it is protected API), and `_position` drives the footer's offsets.
 */
class ChunkedFileWriter extends RecordBatchFileWriter {
  private chunks: Uint8Array[] = [];

  protected override _write(chunk: ArrayBufferView | ArrayBufferLike): this {
    if (this._started) {
      const bytes = ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : new Uint8Array(chunk);
      if (bytes.byteLength > 0) {
        this.chunks.push(bytes);
        this._position += bytes.byteLength;
      }
    }
    return this;
  }

  /** The bytes written since the last call. */
  take(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    return out;
  }
}

/** Writes the Arrow IPC file format to `sink`, one batch at a time. */
export async function writeArrowFile(sink: ByteSink, table: RecommendationTable, metadata: Map<string, string>, batchRows: number): Promise<void> {
  const schema = recommendationSchema([...table.stages.keys()], metadata);
  const writer = new ChunkedFileWriter();
  // Starting with the schema makes an empty table a valid file too.
  writer.reset(undefined, schema);
  for (const batch of recordBatches(table, schema, batchRows)) {
    writer.write(batch);
    for (const chunk of writer.take()) await sink.write(chunk);
  }
  writer.finish();
  for (const chunk of writer.take()) await sink.write(chunk);
}

// --- reading -----------------------------------------------------------------

/** An Arrow table in the recommendation schema back into a RecommendationTable. */
export function fromArrowTable(file: string, arrow: Table): { table: RecommendationTable; metadata: ExportMetadata | null } {
  const n = arrow.numRows;
  const column = (name: string, types: Type[]): Vector => {
    const index = arrow.schema.fields.findIndex((f) => f.name === name);
    if (index < 0) {
      throw new DataError(`io/arrow: the file must have a column "${name}" (got ${arrow.schema.fields.map((f) => f.name).join(', ')}).`, { file, hint: 'Is it a trellis recommendation export?' });
    }
    const type = arrow.schema.fields[index].type;
    if (!types.includes(type.typeId)) throw new DataError(`io/arrow: column "${name}" must be of type ${types.map((t) => Type[t]).join(' or ')} (got ${type}).`, { file });
    return arrow.getChildAt(index) as Vector;
  };
  const strings = [Type.Utf8, Type.LargeUtf8, Type.Utf8View, Type.Dictionary];
  const topics = internStrings(column(COLUMNS.topic, strings), n);
  const contents = internStrings(column(COLUMNS.content, strings), n);
  const rank = new Int32Array(n);
  readNumbers(column(COLUMNS.rank, [Type.Int]), rank);
  const score = new Float32Array(n);
  readNumbers(column(COLUMNS.score, [Type.Float]), score);
  const stages = new Map<string, Float32Array>();
  for (const field of arrow.schema.fields) {
    if (!field.name.startsWith(STAGE_PREFIX)) continue;
    const name = field.name.slice(STAGE_PREFIX.length);
    if (!STAGE_NAME.test(name)) continue;
    const values = new Float32Array(n);
    readNumbers(column(field.name, [Type.Float]), values);
    stages.set(name, values);
  }
  const explanation = concatUtf8(column(COLUMNS.explanation, strings), n);
  const table: RecommendationTable = {
    length: n,
    topicIds: topics.ids,
    contentIds: contents.ids,
    topic: topics.index,
    content: contents.index,
    rank,
    score,
    stages,
    explanation,
  };
  return { table, metadata: decodeMetadata(file, arrow.schema.metadata) };
}

const decoder = new TextDecoder();

/** Distinct strings of a column in first-row order, and each row's index into them. */
function internStrings(vector: Vector, n: number): { ids: string[]; index: Uint32Array } {
  const ids: string[] = [];
  const seen = new Map<string, number>();
  const index = new Uint32Array(n);
  let row = 0;
  for (const data of vector.data) {
    if (data.typeId !== Type.Utf8 || data.nullCount > 0) {
      for (let i = 0; i < data.length; i++, row++) index[row] = intern(String(vector.get(row) ?? ''), ids, seen);
      continue;
    }
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    let previous = -1;
    for (let i = 0; i < data.length; i++) {
      const a = offsets[i];
      const b = offsets[i + 1];
      // Rows of a topic are adjacent: skip decoding when the bytes repeat the previous row's.
      if (previous >= 0 && sameBytes(bytes, offsets[i - 1], offsets[i], a, b)) {
        index[row++] = previous;
        continue;
      }
      previous = intern(decoder.decode(bytes.subarray(a, b)), ids, seen);
      index[row++] = previous;
    }
  }
  return { ids, index };
}

function intern(value: string, ids: string[], seen: Map<string, number>): number {
  let k = seen.get(value);
  if (k === undefined) {
    k = ids.length;
    ids.push(value);
    seen.set(value, k);
  }
  return k;
}

function sameBytes(bytes: Uint8Array, a0: number, a1: number, b0: number, b1: number): boolean {
  if (a1 - a0 !== b1 - b0) return false;
  for (let i = 0; i < a1 - a0; i++) if (bytes[a0 + i] !== bytes[b0 + i]) return false;
  return true;
}

/** Copies a numeric column into `out`; nulls become NaN. */
function readNumbers(vector: Vector, out: Int32Array | Float32Array): void {
  let row = 0;
  for (const data of vector.data) {
    const values = data.values as ArrayLike<number>;
    for (let i = 0; i < data.length; i++) out[row + i] = Number(values[i]);
    if (data.nullCount > 0 && data.nullBitmap) {
      const bitmap = data.nullBitmap;
      for (let i = 0; i < data.length; i++) {
        const bit = data.offset + i;
        if ((bitmap[bit >> 3] & (1 << (bit & 7))) === 0) out[row + i] = NaN;
      }
    }
    row += data.length;
  }
}

function concatUtf8(vector: Vector, n: number): Utf8Column {
  if (!vector.data.every((d) => d.typeId === Type.Utf8 && d.nullCount === 0)) {
    return encodeUtf8Column(Array.from({ length: n }, (_, i) => String(vector.get(i) ?? '')));
  }
  let total = 0;
  for (const data of vector.data) {
    const offsets = data.valueOffsets as Int32Array;
    total += offsets[data.length] - offsets[0];
  }
  const offsets = new Int32Array(n + 1);
  const bytes = new Uint8Array(total);
  let row = 0;
  let at = 0;
  for (const data of vector.data) {
    const from = data.valueOffsets as Int32Array;
    const values = data.values as Uint8Array;
    bytes.set(values.subarray(from[0], from[data.length]), at);
    for (let i = 1; i <= data.length; i++) offsets[row + i] = at + from[i] - from[0];
    at += from[data.length] - from[0];
    row += data.length;
  }
  return { offsets, data: bytes };
}
