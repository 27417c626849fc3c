/**
 * Checks that a run report renders in headless Chromium (Debian's chromium):
 * every SVG plot and section is in the rendered page and a screenshot is not
 * blank. Prints what it found as one JSON object.
 *
 *   node --import tsx scripts/check-report.ts [--report PATH] [--screenshot FILE] [--width 1280] [--height 4000] [--chromium PATH]
 *
 * --report: a report's index.html or its folder (default: the newest under reports/);
 * --screenshot: where the PNG goes (default: screenshot.png beside the report).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../src/index.ts';
import { checkInChromium } from '../src/internal.ts';
import { runScript } from './script.ts';

/** The report page a path names: the file itself, the index.html in a folder, or the newest report under reports/. */
function reportPage(path: string | undefined): string {
  if (path === undefined) {
    const root = 'reports';
    const runs = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'index.html'))) : [];
    if (runs.length === 0) throw new UsageError('check-report: no report under reports/.', "Run 'npm run demo' first, or name a report.");
    runs.sort((a, b) => statSync(join(root, a, 'index.html')).mtimeMs - statSync(join(root, b, 'index.html')).mtimeMs);
    return join(root, runs[runs.length - 1], 'index.html');
  }
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'index.html') : path;
}

const OPTIONS = { report: { type: 'string' }, screenshot: { type: 'string' }, width: { type: 'string' }, height: { type: 'string' }, chromium: { type: 'string' } } as const;

await runScript('check-report', OPTIONS, async (values) => {
  const page = reportPage(values.report as string | undefined);
  const size = (key: string, fallback: number) => {
    const raw = values[key];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 100 || n > 20000) throw new UsageError(`check-report: --${key} must be an integer from 100 to 20000 (got ${JSON.stringify(raw)}).`);
    return n;
  };
  const result = await checkInChromium(page, {
    screenshot: values.screenshot as string | undefined,
    width: size('width', 1280),
    height: size('height', 4000),
    chromium: values.chromium as string | undefined,
  });
  console.log(JSON.stringify({ report: page, ...result }));
});
