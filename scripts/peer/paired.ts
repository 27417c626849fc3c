/**
 * Paired rounds: the two sides of a ratio timed within seconds of each other.
 *
 * This machine's speed drifts: whole benchmark runs of the same code moved
 * by 20-30% within minutes, so a ratio of two sides each timed once, minutes
 * apart, carries the drift. Here each side is a process kept alive with its
 * model or index loaded (`LineServer`: one JSON request line in, one JSON
 * line out, after a first "ready" line), and `pairedRounds` times one round
 * of each side after the other, swapping the order every round. The ratio is
 * read per round; `summarize` gives its median and spread.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';

/** A child process that answers one JSON line per JSON request line. */
export class LineServer {
  private readonly lines: AsyncIterator<string>;
  /** The first line: what the process loaded. */
  ready: Record<string, unknown> = {};

  private constructor(readonly label: string, private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts `command args` and waits for its first line. */
  static async start(label: string, command: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<LineServer> {
    const server = new LineServer(label, spawn(command, args, { env: env ?? process.env, cwd, stdio: ['pipe', 'pipe', 'inherit'] }));
    server.ready = (await server.next()) as Record<string, unknown>;
    return server;
  }

  private async next(): Promise<unknown> {
    const line = await this.lines.next();
    if (line.done) throw new Error(`${this.label} ended before it answered (see its messages above)`);
    return JSON.parse(line.value);
  }

  async request<T>(body: object): Promise<T> {
    this.child.stdin.write(JSON.stringify(body) + '\n');
    return (await this.next()) as T;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

export interface PairedRound {
  round: number;
  /** Rate of each side in this round (higher is faster). */
  a: number;
  b: number;
  /** a / b */
  ratio: number;
}

/** `rounds` rounds of a then b, b then a, ...: one rate per side per round. */
export async function pairedRounds(rounds: number, a: () => Promise<number>, b: () => Promise<number>, onRound?: (r: PairedRound) => void): Promise<PairedRound[]> {
  const out: PairedRound[] = [];
  for (let round = 0; round < rounds; round++) {
    let ra: number;
    let rb: number;
    if (round % 2 === 0) {
      ra = await a();
      rb = await b();
    } else {
      rb = await b();
      ra = await a();
    }
    const r = { round, a: ra, b: rb, ratio: ra / rb };
    out.push(r);
    onRound?.(r);
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export interface PairedSummary {
  rounds: number;
  aMedian: number;
  bMedian: number;
  ratioMedian: number;
  ratioMin: number;
  ratioMax: number;
  /** Rounds whose ratio is at least `target`. */
  atTarget: number;
}

export function summarize(rounds: readonly PairedRound[], target: number): PairedSummary {
  const ratios = rounds.map((r) => r.ratio);
  return {
    rounds: rounds.length,
    aMedian: median(rounds.map((r) => r.a)),
    bMedian: median(rounds.map((r) => r.b)),
    ratioMedian: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    atTarget: ratios.filter((x) => x >= target).length,
  };
}
