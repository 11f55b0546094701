import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Histogram } from 'hdr-histogram-js';
import { percentile, RELATIVE_PRECISION, toMicros } from '../../src/metrics/latency.js';
import type { LogLine } from './supervisor-process.js';

/** `promtool check metrics` on a text; undefined when promtool is not installed (Debian: apt-get install prometheus). */
export function promtool(text: string): { status: number | null; output: string } | undefined {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A pino logger whose JSON lines land in `lines`, for embedded supervisors. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** The exact nearest-rank percentile HDR reports: the sample at rank ceil(p/100 · n), at least the first. */
export function exactPercentile(sortedMicros: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sortedMicros.length - 1e-9));
  return sortedMicros[Math.min(rank, sortedMicros.length) - 1]!;
}

export const PERCENTILES_CHECKED = [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];

/**
 * Asserts every checked percentile of `h` is within HDR precision (3 significant digits: a
 * relative error of at most 2^-10) of the same percentile of the raw samples (ms). Returns the
 * pairs for messages.
 */
export function compareWithRaw(h: Histogram, rawMs: readonly number[]): Array<{ p: number; merged: number; exact: number; ok: boolean }> {
  const sorted = rawMs.map(toMicros).sort((a, b) => a - b);
  return PERCENTILES_CHECKED.map((p) => {
    const merged = percentile(h, p);
    const exact = exactPercentile(sorted, p);
    return { p, merged, exact, ok: Math.abs(merged - exact) <= exact * RELATIVE_PRECISION };
  });
}
