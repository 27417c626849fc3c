/**
 * RecommendationTable <-> Parquet through parquet-wasm 0.8 (arrow-rs compiled
 * to WebAssembly): the table goes in as an Arrow IPC stream (same schema as
 * the .arrow export), is written zstd-compressed, and the export metadata is
 * stored as Parquet key-value metadata (and inside the embedded Arrow schema).
 *
 * The file is written as a stream (transformParquetStream): WebAssembly
 * memory holds a row group at a time, grows to the largest row group written
 * and is not returned to the system.
 */
import type * as ParquetWasm from 'parquet-wasm';
import { RecordBatchStreamWriter, tableFromIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { DataError } from '../errors.ts';
import type { ByteSink } from './atomic.ts';
import { fromArrowTable, recommendationSchema, recordBatches, type ExportMetadata } from './arrow.ts';
import type { RecommendationTable } from './table.ts';

let module: Promise<typeof ParquetWasm> | undefined;

/** parquet-wasm compiles its WebAssembly when first imported: only pay for it when Parquet is used. */
function parquetWasm(): Promise<typeof ParquetWasm> {
  module ??= import('parquet-wasm');
  return module;
}

/**
 * Writes `table` as a zstd-compressed Parquet file to `sink`, streamed: each
 * record batch of `batchRows` rows goes into WebAssembly memory on its own
 * and the encoded bytes come out as each row group closes, so the writer
 * holds about one row group (the default 1M rows) rather than the table
 * twice over.
 */
export async function writeParquetFile(sink: ByteSink, table: RecommendationTable, metadata: Map<string, string>, batchRows: number): Promise<void> {
  const pw = await parquetWasm();
  const schema = recommendationSchema([...table.stages.keys()], metadata);
  const properties = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.ZSTD)
    .setKeyValueMetadata(new Map(metadata))
    .setCreatedBy('trellis')
    .build();
  if (table.length === 0) {
    // The stream writer takes its schema from the first batch; an empty table has none.
    await sink.write(pw.writeParquet(wasmTable(pw, schema, []), properties));
    return;
  }
  const batches = recordBatches(table, schema, batchRows);
  // parquet-wasm ends its output stream quietly when the input stream errors: keep the error to rethrow.
  let failure: { error: unknown } | undefined;
  const input = new ReadableStream<ParquetWasm.RecordBatch>({
    pull(controller) {
      try {
        const next = batches.next();
        if (next.done) {
          controller.close();
          return;
        }
        const wasm = wasmTable(pw, schema, [next.value]);
        try {
          for (const batch of wasm.recordBatches()) controller.enqueue(batch);
        } finally {
          wasm.free();
        }
      } catch (error) {
        failure = { error };
        controller.error(error);
      }
    },
  }, { highWaterMark: 0 });
  const output = await pw.transformParquetStream(input, properties);
  for await (const chunk of output as ReadableStream<Uint8Array>) {
    if (failure) break;
    await sink.write(chunk);
  }
  if (failure) throw failure.error;
}

/** Arrow JS record batches -> a parquet-wasm table (through one IPC stream). */
function wasmTable(pw: typeof ParquetWasm, schema: Schema, batches: RecordBatch[]): ParquetWasm.Table {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  for (const batch of batches) writer.write(batch);
  writer.finish();
  return pw.Table.fromIPCStream(writer.toUint8Array(true));
}

/** Reads a Parquet recommendation file. */
export async function readParquetFile(path: string, bytes: Uint8Array): Promise<{ table: RecommendationTable; metadata: ExportMetadata | null }> {
  const pw = await parquetWasm();
  let ipc: Uint8Array;
  try {
    ipc = pw.readParquet(bytes, { batchSize: 65536 }).intoIPCStream();
  } catch (error) {
    throw new DataError(`io/parquet: the file must be a readable Parquet file (got: ${String((error as Error)?.message ?? error)}).`, { file: path });
  }
  return fromArrowTable(path, tableFromIPC(ipc));
}
