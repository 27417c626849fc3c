/**
 * Status lines and progress of long steps, all on stderr so stdout stays for
 * results. Three renderings of the same calls:
 *
 *   terminal (stderr is a TTY)  a cli-progress bar per step, with rate and ETA
 *   plain (pipes, CI logs)      a line per status and one every 10% of a step
 *   JSON (--log-json)           one JSON object per line for every status line,
 *                               progress update and event:
 *     {"t":"2026-11-23T19:15:00.123Z","event":"log","message":"loading data/khan ..."}
 *     {"t":...,"event":"progress","step":"rerank","done":120,"total":430,"unit":"topics","rate":88.1,"eta":3.5}
 *   (rate per second and eta in seconds are null until two updates have been seen)
 *     {"t":...,"event":"stage","stage":"train","seconds":41.2,"maxRssMB":812}
 *     {"t":...,"event":"report","path":"reports/20261123-191500-demo/index.html"}
 *     {"t":...,"event":"error","message":"...","exitCode":2}
 *
 * JSON progress events come at every 10% of a step and at its end, so a log
 * stays short however many items a step has.
 */
import cliProgress from 'cli-progress';

export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, unknown>;

interface LogState {
  format: LogFormat;
  /** Where lines go (default: process.stderr). */
  write: (line: string) => void;
  /** Draw bars (default: stderr is a TTY). */
  tty: boolean;
  /** Clock for `t` (default: the wall clock; tests fix it). */
  now: () => Date;
}

const state: LogState = {
  format: 'text',
  write: (line) => void process.stderr.write(line),
  tty: process.stderr.isTTY === true,
  now: () => new Date(),
};

/** Sets the rendering (and, for tests, the sink, the TTY switch and the clock). */
export function configureLog(options: Partial<LogState>): void {
  Object.assign(state, options);
}

export function logFormat(): LogFormat {
  return state.format;
}

/** A structured event: one JSON line in JSON mode; `text` (if any) as a plain line otherwise. */
export function emit(event: string, fields: LogFields = {}, text?: string): void {
  if (state.format === 'json') state.write(JSON.stringify({ t: state.now().toISOString(), event, ...fields }) + '\n');
  else if (text !== undefined) state.write(`${text}\n`);
}

/** A status line (event "log" in JSON mode, with `fields` beside the message). */
export function log(message: string, fields: LogFields = {}): void {
  emit('log', { message, ...fields }, message);
}

export interface Progress {
  /** `done` items of the step are finished; `fields` go into the JSON event (e.g. the current loss). */
  update(done: number, fields?: LogFields): void;
  stop(): void;
}

export interface ProgressOptions {
  /** What is counted (default 'items'). */
  unit?: string;
  /** Extra fields for every JSON progress event (e.g. the epoch). */
  fields?: LogFields;
  /** The step's name on a terminal and in plain lines (default: `step`). */
  label?: string;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Progress of one long step of `total` items. */
export function progress(step: string, total: number, options: ProgressOptions = {}): Progress {
  const unit = options.unit ?? 'items';
  const label = options.label ?? step;
  // The rate is measured from the first update: callers that start a step with update(0) get it from the
  // start; callers whose first update comes after some work (e.g. after the first batch) get no rate
  // (null) until a second update, rather than a made-up one.
  let origin: { time: number; done: number } | undefined;
  const rate = (done: number): number | null => {
    const now = performance.now();
    if (!origin) {
      origin = { time: now, done };
      return null;
    }
    const seconds = (now - origin.time) / 1000;
    return seconds > 0 && done > origin.done ? (done - origin.done) / seconds : null;
  };
  if (state.format === 'text' && state.tty) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '-' });
    return {
      update(done) {
        const r = rate(done);
        bar.update(done, { rate: r === null ? '-' : r.toFixed(1) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  // Plain lines and JSON events at every tenth of the step and at its end.
  let nextTenth = 1;
  const report = (done: number, r: number | null, fields?: LogFields) => {
    const eta = done >= total ? 0 : r ? (total - done) / r : null;
    const rateText = r === null ? '' : ` (${r.toFixed(1)}/s${eta ? `, ETA ${Math.ceil(eta)} s` : ''})`;
    emit('progress', { step, done, total, unit, rate: r === null ? null : round(r), eta: eta === null ? null : round(eta), ...options.fields, ...fields },
      `${label}: ${done}/${total} ${unit}${rateText}`);
  };
  return {
    update(done, fields) {
      const r = rate(done);
      if (total > 0 && (done >= (nextTenth * total) / 10 || done >= total)) {
        report(done, r, fields);
        nextTenth = Math.floor((done * 10) / total) + 1;
      }
    },
    stop() {},
  };
}

/** An `onStep` callback for training: one progress bar per epoch, the batch loss in the JSON events. */
export function epochProgress(): (epoch: number, step: number, steps: number, loss?: number) => void {
  let bar: Progress | undefined;
  return (epoch, step, steps, loss) => {
    if (step === 1) bar = progress('epoch', steps, { unit: 'batches', label: `epoch ${epoch + 1}`, fields: { epoch: epoch + 1 } });
    bar?.update(step, loss === undefined || !Number.isFinite(loss) ? undefined : { loss: round(loss, 4) });
    if (step === steps) bar?.stop();
  };
}

/**
 * An `onProgress(step, done, total)` callback: one progress per step, started
 * at its first call, stopped when done reaches total. Steps count `unit`
 * unless `units` names another for them.
 */
export function stepProgress(unit = 'topics', units: Record<string, string> = {}): (step: string, done: number, total: number) => void {
  const bars = new Map<string, Progress>();
  return (step, done, total) => {
    let bar = bars.get(step);
    if (!bar) bars.set(step, (bar = progress(step, total, { unit: units[step] ?? unit })));
    bar.update(done);
    if (done >= total) {
      bar.stop();
      bars.delete(step);
    }
  };
}

/** An `onProgress(done, total)` callback for one named step (a new progress each time the step starts over). */
export function progressCallback(step: string, unit = 'items'): (done: number, total: number) => void {
  const bars = stepProgress(unit);
  return (done, total) => bars(step, done, total);
}
