/** Shared test helpers: temporary dataset folders and running the CLI. */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const TINY = join(REPO, 'test', 'fixtures', 'tiny');

/** A fresh temporary folder, removed when `after` runs the returned cleanup. */
export function tempDir(prefix = 'trellis-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes files (name -> text or bytes) into `dir`. */
export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
}

export const GOOD_TOPICS = 'id,title,description,channel,category,level,language,parent,has_content\nt1,Root,,c,source,0,en,,False\nt2,Child,,c,source,1,en,t1,True\n';
export const GOOD_CONTENT = 'id,title,description,kind,text,language,copyright_holder,license\nc1,Item one,,video,,en,,\nc2,Item two,,video,,en,,\n';
export const GOOD_CORRELATIONS = 'topic_id,content_ids\nt2,c1 c2\n';

/** A dataset folder with the good files, overridden by `files`. */
export function datasetDir(dir: string, files: Record<string, string | Uint8Array> = {}): string {
  writeFiles(dir, { 'topics.csv': GOOD_TOPICS, 'content.csv': GOOD_CONTENT, 'correlations.csv': GOOD_CORRELATIONS, ...files });
  return dir;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `trellis <args>` in a child process. */
export function runCli(args: string[], options: { cwd?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], {
    cwd: options.cwd ?? REPO,
    encoding: 'utf8',
    // Run reports of test runs go to the temporary folder, not the repository's reports/.
    env: { TRELLIS_REPORTS: join(tmpdir(), 'trellis-test-reports'), ...process.env, NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
