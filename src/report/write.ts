/**
 * Where run reports go: `<root>/<run-id>/index.html`, the run id a local time
 * stamp and the command (`20261123-191500-demo`), with `-2`, `-3`, ... when a
 * folder of that name already exists. The page is written atomically.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { renderReport } from './html.ts';
import type { RunReport } from './types.ts';

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYYMMDD-HHMMSS-<command>` in local time; spaces in the command become dashes. */
export function makeRunId(command: string, when: Date): string {
  const stamp = `${when.getFullYear()}${pad(when.getMonth() + 1)}${pad(when.getDate())}-${pad(when.getHours())}${pad(when.getMinutes())}${pad(when.getSeconds())}`;
  return `${stamp}-${command.trim().replace(/\s+/g, '-')}`;
}

/** `runId`, or `runId-2`, `runId-3`, ... : the first whose folder under `root` does not exist yet. */
export function freeRunId(root: string, runId: string): string {
  let id = runId;
  for (let n = 2; existsSync(join(root, id)); n++) id = `${runId}-${n}`;
  return id;
}

/** Renders `report` and writes it to `<root>/<report.runId>/index.html`; returns that path. */
export async function writeRunReport(root: string, report: RunReport): Promise<string> {
  const html = await renderReport(report);
  const path = join(root, report.runId, 'index.html');
  await writeFileAtomic(path, (sink) => sink.write(html));
  return path;
}
