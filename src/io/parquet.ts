/**
 * RecommendationTable <-> Parquet through parquet-wasm 0.8 (arrow-rs compiled
 * to WebAssembly): the table goes in as an Arrow IPC stream (same schema as
 * the .arrow export), is written zstd-compressed, and the export metadata is
 * stored as Parquet key-value metadata (and inside the embedded Arrow schema).
 *
 * parquet-wasm writes the whole file in WebAssembly memory, so unlike the
 * Arrow writer this one holds the file in memory; WebAssembly memory grows to
 * the largest file written and is not returned to the system.
 */
import type * as ParquetWasm from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import { DataError } from '../errors.ts';
import type { ByteSink } from './atomic.ts';
import { arrowStreamBytes, fromArrowTable, type ExportMetadata } from './arrow.ts';
import type { RecommendationTable } from './table.ts';

let module: Promise<typeof ParquetWasm> | undefined;

/** parquet-wasm compiles its WebAssembly when first imported: only pay for it when Parquet is used. */
function parquetWasm(): Promise<typeof ParquetWasm> {
  module ??= import('parquet-wasm');
  return module;
}

/** Writes `table` as a zstd-compressed Parquet file to `sink`. */
export async function writeParquetFile(sink: ByteSink, table: RecommendationTable, metadata: Map<string, string>, batchRows: number): Promise<void> {
  const pw = await parquetWasm();
  const stream = arrowStreamBytes(table, metadata, batchRows);
  // Both are consumed (freed) by writeParquet.
  const wasmTable = pw.Table.fromIPCStream(stream);
  const properties = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.ZSTD)
    .setKeyValueMetadata(new Map(metadata))
    .setCreatedBy('trellis')
    .build();
  await sink.write(pw.writeParquet(wasmTable, properties));
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
