/**
 * Recommendation exports, the format chosen by the file extension:
 *
 *   .csv      LECR submission (topic_id,content_ids), see csv.ts
 *   .arrow    Arrow IPC file format, every column + metadata, see arrow.ts
 *   .parquet  Parquet (zstd), same columns + key-value metadata, see parquet.ts
 *
 * Every write is atomic (atomic.ts): the input is checked before the disk is
 * touched, the bytes go to a temporary file that is fsynced and renamed over
 * the target; on any error nothing is left at the target or beside it.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { DataError, UsageError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { writeFileAtomic } from './atomic.ts';
import { encodeMetadata, fromArrowTable, writeArrowFile, type ExportMetadata } from './arrow.ts';
import { checkSubmissionIds, readSubmissionCsv, writeSubmissionCsv } from './csv.ts';
import { readParquetFile, writeParquetFile } from './parquet.ts';
import { checkRecommendationTable, type RecommendationTable } from './table.ts';

export const RECOMMENDATION_EXTENSIONS = Object.freeze(['.csv', '.arrow', '.parquet'] as const);
export type RecommendationFormat = (typeof RECOMMENDATION_EXTENSIONS)[number];

export interface WriteRecommendationsOptions {
  /** Rows per Arrow record batch in .arrow and .parquet files. Default 65536. */
  batchRows?: number;
}

export const DEFAULT_WRITE_RECOMMENDATIONS_OPTIONS: Readonly<Required<WriteRecommendationsOptions>> = Object.freeze({ batchRows: 65536 });

/** A recommendation file read back. */
export interface RecommendationFile {
  table: RecommendationTable;
  /** The run that wrote the file; null for a CSV or a file not written by trellis. */
  metadata: ExportMetadata | null;
}

/** The format of `path` from its extension (case-insensitive); a UsageError for any other. */
export function recommendationFormat(scope: string, path: string): RecommendationFormat {
  const extension = extname(path).toLowerCase();
  if (!(RECOMMENDATION_EXTENSIONS as readonly string[]).includes(extension)) {
    throw new UsageError(
      `${scope}: the output file must end in ${RECOMMENDATION_EXTENSIONS.join(', ')} (got ${JSON.stringify(extension || path)}).`,
      'The extension picks the format: .csv for the LECR submission, .arrow or .parquet for every score column.',
    );
  }
  return extension as RecommendationFormat;
}

/**
 * Writes `table` to `path` in the format its extension names. `metadata`
 * (model id, seed, config) goes into .arrow/.parquet files; the CSV format
 * has no place for it.
 */
export async function writeRecommendations(
  path: string,
  table: RecommendationTable,
  metadata: ExportMetadata,
  options?: WriteRecommendationsOptions,
): Promise<void> {
  const scope = 'io/writeRecommendations';
  const format = recommendationFormat(scope, path);
  const { batchRows } = resolveOptions(scope, DEFAULT_WRITE_RECOMMENDATIONS_OPTIONS, options);
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) throw new UsageError(`${scope}: batchRows must be a positive integer (got ${batchRows}).`);
  const pairs = encodeMetadata(scope, metadata);
  checkRecommendationTable(scope, table);
  if (format === '.csv') checkSubmissionIds(scope, table);
  await writeFileAtomic(path, async (sink) => {
    if (format === '.csv') await writeSubmissionCsv(sink, table);
    else if (format === '.arrow') await writeArrowFile(sink, table, pairs, batchRows);
    else await writeParquetFile(sink, table, pairs, batchRows);
  });
}

/** Reads a file written by writeRecommendations (or any file in its schema / the submission format). */
export async function readRecommendations(path: string): Promise<RecommendationFile> {
  const format = recommendationFormat('io/readRecommendations', path);
  if (format === '.csv') return { table: await readSubmissionCsv(path), metadata: null };
  const bytes = await readFile(path);
  if (format === '.parquet') return readParquetFile(path, bytes);
  let arrow;
  try {
    arrow = tableFromIPC(bytes);
  } catch (error) {
    throw new DataError(`io/arrow: the file must be in the Arrow IPC format (got: ${(error as Error).message}).`, { file: path });
  }
  return fromArrowTable(path, arrow);
}
