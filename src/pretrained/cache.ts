/**
 * An on-disk cache of pretrained text vectors, one folder per encoder
 * (`PretrainedEncoder.cacheKey`: model hash, window, pooling), keyed by the
 * SHA-256 of each text:
 *
 *   <root>/<cacheKey>/keys.bin      16 bytes per row: the text's hash prefix
 *   <root>/<cacheKey>/vectors.f32   dim float32 per row, row-major
 *
 * Rows are only appended. Vectors are written before their keys, and on
 * open both files are cut back to the rows present in both, so a run killed
 * mid-append loses at most its unfinished rows. Vectors are read by row
 * offset (positional reads of the rows asked for), not loaded whole: a
 * million-row cache stays on disk.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, stat, truncate, appendFile } from 'node:fs/promises';
import { join } from 'node:path';

const KEY_BYTES = 16;

export function textKey(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, KEY_BYTES * 2);
}

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export class EmbeddingCache {
  private constructor(
    readonly dir: string,
    readonly dim: number,
    private readonly rows: Map<string, number>,
  ) {}

  /** Opens (creating when absent) the cache folder `<root>/<key>` for vectors of width `dim`. */
  static async open(root: string, key: string, dim: number): Promise<EmbeddingCache> {
    const dir = join(root, key);
    await mkdir(dir, { recursive: true });
    const keysPath = join(dir, 'keys.bin');
    const vectorsPath = join(dir, 'vectors.f32');
    const count = Math.min(Math.floor((await size(keysPath)) / KEY_BYTES), Math.floor((await size(vectorsPath)) / (4 * dim)));
    if ((await size(keysPath)) !== count * KEY_BYTES) await truncate(keysPath, count * KEY_BYTES);
    if ((await size(vectorsPath)) !== count * 4 * dim) await truncate(vectorsPath, count * 4 * dim);
    const rows = new Map<string, number>();
    if (count > 0) {
      const keys = await readFile(keysPath);
      for (let r = 0; r < count; r++) rows.set(keys.toString('hex', r * KEY_BYTES, (r + 1) * KEY_BYTES), r);
    }
    return new EmbeddingCache(dir, dim, rows);
  }

  get size(): number {
    return this.rows.size;
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  /** Appends vectors [keys.length * dim] under `keys` (hashes from textKey). */
  async append(keys: readonly string[], vectors: Float32Array): Promise<void> {
    if (vectors.length !== keys.length * this.dim) throw new RangeError(`EmbeddingCache.append: ${vectors.length} floats for ${keys.length} keys of width ${this.dim}.`);
    await appendFile(join(this.dir, 'vectors.f32'), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
    await appendFile(join(this.dir, 'keys.bin'), Buffer.concat(keys.map((k) => Buffer.from(k, 'hex'))));
    const start = this.rows.size;
    keys.forEach((k, i) => this.rows.set(k, start + i));
  }

  /** The vectors of `keys` (all cached), row-major [keys.length * dim]. */
  async read(keys: readonly string[]): Promise<Float32Array> {
    const out = new Float32Array(keys.length * this.dim);
    const wanted = keys.map((k, i) => {
      const row = this.rows.get(k);
      if (row === undefined) throw new RangeError(`EmbeddingCache.read: key ${k} is not cached.`);
      return { row, i };
    });
    wanted.sort((a, b) => a.row - b.row);
    const rowBytes = this.dim * 4;
    const file = await open(join(this.dir, 'vectors.f32'), 'r');
    try {
      // One read per run of consecutive rows.
      for (let start = 0; start < wanted.length; ) {
        let end = start + 1;
        while (end < wanted.length && wanted[end].row <= wanted[end - 1].row + 1 && end - start < 4096) end++;
        const first = wanted[start].row;
        const span = wanted[end - 1].row - first + 1;
        const buffer = new Float32Array(span * this.dim);
        await file.read(new Uint8Array(buffer.buffer), 0, span * rowBytes, first * rowBytes);
        for (let k = start; k < end; k++) out.set(buffer.subarray((wanted[k].row - first) * this.dim, (wanted[k].row - first + 1) * this.dim), wanted[k].i * this.dim);
        start = end;
      }
    } finally {
      await file.close();
    }
    return out;
  }
}
