/**
 * Checks that a run report renders in a real browser: headless Chromium
 * (Debian's `chromium` package) loads the page from disk with networking
 * features off and a fresh profile, once to dump the rendered DOM and once to
 * take a screenshot. The page passes when every inline SVG plot and every
 * section is in the rendered DOM and the screenshot is a PNG of the asked
 * size with more than a blank page's worth of detail.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataError, ServiceError, UsageError } from '../errors.ts';
import { SECTIONS } from './html.ts';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export interface ChromiumCheckOptions {
  /** The browser binary. Default /usr/bin/chromium. */
  chromium?: string;
  /** Where to write the screenshot PNG. Default: screenshot.png beside the report. */
  screenshot?: string;
  /** Window size of the screenshot in CSS pixels. Default 1280 x 4000 (most of a report). */
  width?: number;
  height?: number;
  /** Give up on one browser run after this long. Default 120 s. */
  timeoutMs?: number;
  /**
   * A screenshot smaller than this many bytes counts as blank. Default 80,000:
   * at 1280 x 4000 a page with one heading compresses to 25 KB, a report to hundreds.
   */
  minScreenshotBytes?: number;
}

export interface ChromiumCheck {
  /** `<svg` elements in the file and in the DOM Chromium rendered. */
  svgInFile: number;
  svgInDom: number;
  /** Section ids found in the rendered DOM. */
  sections: string[];
  screenshot: string;
  screenshotBytes: number;
  /** Size of the screenshot PNG in pixels. */
  width: number;
  height: number;
}

const SCOPE = 'report/chromium';

/** Flags for a quiet, offline, throwaway browser. */
function chromiumFlags(profile: string): string[] {
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-extensions', '--hide-scrollbars', `--user-data-dir=${profile}`,
  ];
}

/** Runs Chromium with a fresh profile folder; resolves with its stdout. */
async function runChromium(binary: string, args: string[], timeoutMs: number): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'trellis-chromium-'));
  try {
    return await new Promise<string>((resolvePromise, reject) => {
      const child = spawn(binary, [...chromiumFlags(profile), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new ServiceError(`${SCOPE}: cannot start ${binary} (${error.message}).`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise(Buffer.concat(out).toString('utf8'));
        else reject(new ServiceError(`${SCOPE}: chromium ${signal ? `was stopped by ${signal} (timeout ${timeoutMs} ms)` : `exited with ${code}`}: ${err.trim().split('\n').slice(-1)[0] ?? ''}`));
      });
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) throw new DataError(`${SCOPE}: the screenshot must be a PNG file (got ${bytes.length} bytes of something else).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

/** Renders `reportPath` in headless Chromium and checks the result; throws a one-line error on any failure. */
export async function checkInChromium(reportPath: string, options: ChromiumCheckOptions = {}): Promise<ChromiumCheck> {
  const binary = options.chromium ?? DEFAULT_CHROMIUM;
  const width = options.width ?? 1280;
  const height = options.height ?? 4000;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const minBytes = options.minScreenshotBytes ?? 80_000;
  const page = resolve(reportPath);
  if (!existsSync(page)) throw new UsageError(`${SCOPE}: the report ${reportPath} does not exist.`, "Write one with 'trellis demo' (or train / recommend), or pass its index.html.");
  if (!existsSync(binary)) throw new UsageError(`${SCOPE}: no browser at ${binary}.`, "Install Debian's chromium ('apt-get install -y chromium'), or pass the path of a Chromium binary.");
  const screenshot = resolve(options.screenshot ?? join(page, '..', 'screenshot.png'));
  const url = pathToFileURL(page).href;

  const html = await readFile(page, 'utf8');
  const dom = await runChromium(binary, ['--dump-dom', url], timeoutMs);
  await rm(screenshot, { force: true });
  await runChromium(binary, [`--screenshot=${screenshot}`, `--window-size=${width},${height}`, url], timeoutMs);

  const svgInFile = count(html, /<svg[\s>]/g);
  const svgInDom = count(dom, /<svg[\s>]/g);
  const sections = SECTIONS.map(([id]) => id).filter((id) => dom.includes(`id="${id}"`));
  if (!existsSync(screenshot)) throw new ServiceError(`${SCOPE}: chromium wrote no screenshot to ${screenshot}.`);
  const bytes = await readFile(screenshot);
  const size = pngSize(bytes);
  const result: ChromiumCheck = { svgInFile, svgInDom, sections, screenshot, screenshotBytes: (await stat(screenshot)).size, ...size };
  const missing = SECTIONS.map(([id]) => id).filter((id) => !sections.includes(id));
  if (svgInFile === 0) throw new DataError(`${SCOPE}: the report must hold inline SVG plots (got none).`, { file: reportPath });
  if (svgInDom < svgInFile) throw new DataError(`${SCOPE}: chromium rendered ${svgInDom} of the ${svgInFile} SVG plots.`, { file: reportPath });
  if (missing.length) throw new DataError(`${SCOPE}: the rendered page lacks the sections ${missing.join(', ')}.`, { file: reportPath });
  if (size.width !== width || size.height !== height) throw new DataError(`${SCOPE}: the screenshot must be ${width} x ${height} pixels (got ${size.width} x ${size.height}).`);
  if (result.screenshotBytes < minBytes) throw new DataError(`${SCOPE}: the screenshot looks blank (${result.screenshotBytes} bytes, expected at least ${minBytes}).`);
  return result;
}
