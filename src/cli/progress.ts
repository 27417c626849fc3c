/**
 * Progress of long steps on stderr: a cli-progress bar (rate and ETA) on a
 * terminal, and a plain line every 10% otherwise (CI logs, pipes).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function progress(label: string, total: number, unit = 'items'): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    const start = performance.now();
    bar.start(total, 0, { rate: '0' });
    return {
      update(done) {
        bar.update(done, { rate: (done / Math.max(1e-3, (performance.now() - start) / 1000)).toFixed(1) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let nextTenth = 1;
  return {
    update(done) {
      if (total > 0 && done >= (nextTenth * total) / 10) {
        process.stderr.write(`${label}: ${done}/${total} ${unit}\n`);
        nextTenth = Math.floor((done * 10) / total) + 1;
      }
    },
    stop() {},
  };
}

/** An `onStep` callback that shows one progress bar per training epoch. */
export function epochProgress(): (epoch: number, step: number, steps: number) => void {
  let bar: Progress | undefined;
  return (epoch, step, steps) => {
    if (step === 1) bar = progress(`epoch ${epoch + 1}`, steps, 'batches');
    bar?.update(step);
    if (step === steps) bar?.stop();
  };
}
