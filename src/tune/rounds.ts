import type { Measurement } from './measure.js';
import type { TunePoint } from './plan.js';

/**
 * The order configurations are measured in, round by round: forwards, then backwards, and so
 * on. A machine that gets busier (or quieter) during the run then biases no end of the sweep.
 */
export function roundOrder<T>(points: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...points] : [...points].reverse();
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One row per configuration from several rounds: the median of each rate and latency (one
 * disturbed round does not move it), failures and completions summed (a failure in any round
 * disqualifies the configuration), and a dry queue in any round reported.
 */
export function combineRounds(point: TunePoint, rounds: readonly Measurement[]): Measurement {
  if (rounds.length === 1) return rounds[0]!;
  const mid = (pick: (m: Measurement) => number) => median(rounds.map(pick));
  return {
    ...point,
    completed: rounds.reduce((sum, m) => sum + m.completed, 0),
    failed: rounds.reduce((sum, m) => sum + m.failed, 0),
    jobsPerSec: mid((m) => m.jobsPerSec),
    p50Ms: mid((m) => m.p50Ms),
    p99Ms: mid((m) => m.p99Ms),
    runP50Ms: mid((m) => m.runP50Ms),
    runP99Ms: mid((m) => m.runP99Ms),
    windowSeconds: rounds.reduce((sum, m) => sum + m.windowSeconds, 0),
    ranDry: rounds.some((m) => m.ranDry),
    toppedUp: rounds.some((m) => m.toppedUp),
  };
}
