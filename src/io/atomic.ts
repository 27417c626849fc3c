/**
 * Atomic file writes: the bytes go to a temporary file in the target's folder,
 * are flushed to disk, and the file is renamed over the target only when the
 * whole write succeeded. On any error the temporary file is removed, so a
 * crash or a bad input never leaves a partial output behind.
 */
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A sink the producer writes chunks to. */
export interface ByteSink {
  write(chunk: Uint8Array | string): Promise<void>;
}

/** The temporary path used while writing `path` (same folder, so rename is atomic). */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs `produce` against a temporary file and renames it to `path` when it
 * resolves. If `produce` throws, the temporary file is removed and the error
 * rethrown; `path` is untouched.
 */
export async function writeFileAtomic(path: string, produce: (sink: ByteSink) => Promise<void>): Promise<void> {
  await mkdir(dirname(path) || '.', { recursive: true });
  const tmp = temporaryPath(path);
  const handle = await open(tmp, 'w');
  let ok = false;
  const removeOnSignal = () => { void rm(tmp, { force: true }); };
  process.once('SIGINT', removeOnSignal);
  try {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const buffer = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
      pending.length = 0;
      pendingBytes = 0;
      await handle.write(buffer);
    };
    await produce({
      async write(chunk) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        pending.push(buffer);
        pendingBytes += buffer.length;
        if (pendingBytes >= 1 << 20) await flush();
      },
    });
    await flush();
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
    ok = true;
  } finally {
    process.removeListener('SIGINT', removeOnSignal);
    if (!ok) {
      await handle.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
}
