/**
 * Streaming CSV reading on csv-parse, with the checks every LECR file needs:
 * UTF-8 (with or without BOM; invalid bytes are an error with their line),
 * CRLF, quoted fields with commas and newlines, extra columns ignored,
 * required columns checked against the header, and csv-parse's own errors
 * turned into one-line DataErrors with the file and line.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { DataError } from '../errors.ts';

export interface CsvRow {
  /** 1-based line number of the row's last line in the file. */
  line: number;
  /** Field values by column name (missing optional columns are ''). */
  get(column: string): string;
}

export interface ReadCsvOptions {
  /** Columns that must be in the header. */
  required: readonly string[];
  /** Columns the reader knows; others are ignored. */
  known: readonly string[];
  /** Called once with the known columns the header has, in `known`'s order. */
  onHeader?: (present: string[]) => void;
}

/** Byte offset of the first invalid UTF-8 sequence in `bytes`, or -1; `end` tells whether a cut sequence at the end is an error. */
export function firstInvalidUtf8(bytes: Uint8Array, end: boolean): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    if (i + need >= n) {
      // Sequence runs past the buffer.
      if (!end) {
        for (let k = i + 1; k < n; k++) if ((bytes[k] & 0xc0) !== 0x80) return i;
        return -2 - i; // incomplete tail: caller keeps bytes from i
      }
      return i;
    }
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Passes bytes through unchanged, failing on invalid UTF-8 or NUL bytes with the line where they occur. */
class Utf8Guard extends Transform {
  private line = 1;
  private carry: Uint8Array = new Uint8Array(0);

  constructor(private readonly file: string) {
    super();
  }

  private check(bytes: Uint8Array, end: boolean): Uint8Array | DataError {
    const bad = firstInvalidUtf8(bytes, end);
    let upto = bytes.length;
    if (bad >= 0) return this.fail(bytes, bad, 'the file is not valid UTF-8');
    if (bad <= -2) upto = -2 - bad;
    const nul = bytes.subarray(0, upto).indexOf(0);
    if (nul >= 0) return this.fail(bytes, nul, 'the file holds a NUL byte (binary data, not CSV text)');
    for (let i = 0; i < upto; i++) if (bytes[i] === 10) this.line++;
    this.carry = bytes.slice(upto);
    return bytes.subarray(0, upto);
  }

  private fail(bytes: Uint8Array, at: number, what: string): DataError {
    let line = this.line;
    for (let i = 0; i < at; i++) if (bytes[i] === 10) line++;
    return new DataError(`${what} (byte 0x${bytes[at].toString(16).padStart(2, '0')}).`, {
      file: this.file,
      line,
      hint: 'Save the file as UTF-8 text.',
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const bytes = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const out = this.check(bytes, false);
    if (out instanceof DataError) return done(out);
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    if (this.carry.length === 0) return done();
    const out = this.check(this.carry, true);
    if (out instanceof DataError) return done(out);
    done(null, out);
  }
}

function csvErrorToDataError(error: CsvError, file: string): DataError {
  const line = (error as CsvError & { lines?: number }).lines;
  const messages: Record<string, string> = {
    CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
    CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'the row has a different number of fields than the header',
    CSV_RECORD_INCONSISTENT_COLUMNS: 'the row has a different number of fields than the header',
    CSV_INVALID_CLOSING_QUOTE: 'a quote appears inside an unquoted field or after a closing quote',
    CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'there are characters after a closing quote',
  };
  const what = messages[error.code] ?? error.message.replace(/^Invalid (Record|Opening Quote|Closing Quote): /, '').replace(/\s+/g, ' ');
  return new DataError(`malformed CSV: ${what}.`, { file, line, hint: 'Check the quoting of that row (fields with commas, quotes or newlines must be in double quotes, with inner quotes doubled).' });
}

/**
 * Streams the rows of a CSV file to `onRow`. Throws a DataError for a missing,
 * empty or malformed file, a header without the required columns, or invalid
 * UTF-8.
 */
export async function readCsv(path: string, options: ReadCsvOptions, onRow: (row: CsvRow) => void): Promise<number> {
  const file = path;
  if (!existsSync(path)) {
    throw new DataError('file not found.', { file, hint: `A LECR dataset folder holds topics.csv, content.csv and correlations.csv.` });
  }
  if (statSync(path).isDirectory()) throw new DataError('is a folder, not a CSV file.', { file });
  const parser = parse({
    bom: true,
    columns: false,
    relax_column_count: false,
    skip_empty_lines: true,
    info: true,
    max_record_size: 64 * 1024 * 1024,
  });
  const guard = new Utf8Guard(file);
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  let header: string[] | undefined;
  let columnIndex: Int32Array | undefined;
  const names = options.known;
  let rows = 0;
  const failure: { error?: unknown } = {};
  source.on('error', (error) => parser.destroy(error));
  guard.on('error', (error) => parser.destroy(error));
  source.pipe(guard).pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info } = item;
      if (!header) {
        header = record.map((h) => h.trim());
        const missing = options.required.filter((c) => !header!.includes(c));
        if (missing.length) {
          const looksBinary = header.length === 1 && header[0].length > 200;
          throw new DataError(
            looksBinary ? 'the file does not look like CSV (no header row found).' :
              `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in the header (found: ${header.join(', ') || 'nothing'}).`,
            { file, line: 1, hint: `The header must name at least: ${options.required.join(', ')}.` },
          );
        }
        const seen = new Set<string>();
        for (const h of header) {
          if (seen.has(h) && names.includes(h)) throw new DataError(`column "${h}" appears twice in the header.`, { file, line: 1 });
          seen.add(h);
        }
        columnIndex = Int32Array.from(names, (n) => header!.indexOf(n));
        options.onHeader?.(names.filter((n) => header!.includes(n)));
        continue;
      }
      rows++;
      const idx = columnIndex!;
      const line = info.lines;
      onRow({
        line,
        get(column: string): string {
          const k = names.indexOf(column);
          const at = k >= 0 ? idx[k] : -1;
          return at >= 0 ? record[at] : '';
        },
      });
    }
  } catch (error) {
    failure.error = error;
  } finally {
    source.destroy();
  }
  if (failure.error) {
    const error = failure.error;
    if (error instanceof DataError) throw error;
    if (error instanceof CsvError) throw csvErrorToDataError(error, file);
    if ((error as NodeJS.ErrnoException)?.code === 'EACCES') throw new DataError('permission denied.', { file });
    throw error;
  }
  if (!header) throw new DataError('the file is empty (no header row).', { file, hint: `Expected a header: ${options.required.join(',')}.` });
  return rows;
}

