/**
 * Atomic file writes: the bytes go to a temporary file in the target's folder,
 * are flushed to disk (fsync), and the file is renamed over the target only
 * when the whole write succeeded; the folder is then fsynced so the rename
 * itself survives a power cut. On any error the temporary file is removed, so
 * a bad input or a failing producer never leaves a partial output behind.
 *
 * SIGINT and SIGTERM while a write is in flight remove its temporary file and
 * then end the process as the signal would have (unless the program installed
 * its own handler). SIGKILL cannot be caught: the target is still never
 * partial, but a `.<name>.<pid>.<hex>.tmp` file may remain.
 */
import { open, rename, rm, mkdir, type FileHandle } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A sink the producer writes chunks to. */
export interface ByteSink {
  /**
   * Queues `chunk` (strings are written as UTF-8). The sink may keep a
   * reference to a Uint8Array until it is flushed, so do not modify a chunk
   * after passing it.
   */
  write(chunk: Uint8Array | string): Promise<void>;
}

/** Bytes gathered before one write to the file. */
const FLUSH_BYTES = 1 << 20;

/** The temporary path used while writing `path` (same folder, so rename is atomic). */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs `produce` against a temporary file and renames it to `path` when it
 * resolves. If `produce` throws (or the disk does), the temporary file is
 * removed and the error rethrown; `path` is untouched. The target's folder
 * is created if missing.
 */
export async function writeFileAtomic(path: string, produce: (sink: ByteSink) => Promise<void>): Promise<void> {
  await mkdir(dirname(path) || '.', { recursive: true });
  const tmp = temporaryPath(path);
  const handle = await open(tmp, 'wx');
  let closed = false;
  let renamed = false;
  track(tmp);
  try {
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const buffer = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
      pending.length = 0;
      pendingBytes = 0;
      await writeAll(handle, buffer);
    };
    await produce({
      async write(chunk) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        if (buffer.byteLength === 0) return;
        pending.push(buffer);
        pendingBytes += buffer.byteLength;
        if (pendingBytes >= FLUSH_BYTES) await flush();
      },
    });
    await flush();
    await handle.sync();
    closed = true;
    await handle.close();
    await rename(tmp, path);
    renamed = true;
    await syncFolder(dirname(path) || '.');
  } finally {
    untrack(tmp);
    if (!renamed) {
      if (!closed) await handle.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
}

/** `handle.write` may write less than asked (e.g. above 2 GiB); loop until done. */
async function writeAll(handle: FileHandle, buffer: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < buffer.byteLength) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.byteLength - offset);
    offset += bytesWritten;
  }
}

async function syncFolder(dir: string): Promise<void> {
  // Not every platform lets a folder be opened for fsync (Windows); the data is already safe then.
  try {
    const folder = await open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch {
    // best effort
  }
}

// --- removal of temporary files on SIGINT / SIGTERM -------------------------

const live = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const tmp of live) rmSync(tmp, { force: true });
  live.clear();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // With no other handler left, end the process the way the signal would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function track(tmp: string): void {
  if (live.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  live.add(tmp);
}

function untrack(tmp: string): void {
  live.delete(tmp);
  if (live.size === 0) for (const s of SIGNALS) process.removeListener(s, onSignal);
}
