/**
 * Choosing the configuration `troupe tune` recommends: the knee of the throughput curve, not its
 * maximum. Past the knee, more threads or tasks buy a few percent of throughput (often noise)
 * for more memory and longer waits, so the recommendation is the cheapest configuration that is
 * nearly as fast as the fastest one, without its tail latency being much worse.
 */

/** One measured configuration. Latencies in ms; failed counts every run that did not complete. */
export interface TuneRow {
  threads: number;
  tasksPerThread: number;
  completed: number;
  failed: number;
  jobsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export interface KneeRule {
  /** A candidate must reach this share of the best throughput. */
  throughputShare: number;
  /** ... and keep its p99 within this factor of the best-throughput configuration's p99 ... */
  p99Factor: number;
  /** ... or within this many ms of it, whichever is looser (sub-ms p99s jitter by more than 50%). */
  p99SlackMs: number;
}

export const KNEE_RULE: Readonly<KneeRule> = Object.freeze({ throughputShare: 0.9, p99Factor: 1.5, p99SlackMs: 1 });

export type KneeChoice =
  | {
      ok: true;
      /** Index into the rows given. */
      knee: number;
      /** The highest-throughput configuration without failures (the reference of the rule). */
      best: number;
      /** Rows left out because some of their jobs failed. */
      withFailures: number[];
      /** The largest p99 a candidate could have. */
      p99LimitMs: number;
    }
  | {
      ok: false;
      why: 'all-failed' | 'every-config-failed' | 'none-finished';
      withFailures: number[];
    };

/** Fewer threads is cheaper than fewer tasks per thread: each thread is a V8 isolate with its own heap. */
function cheaper(a: TuneRow, b: TuneRow): number {
  return a.threads - b.threads || a.tasksPerThread - b.tasksPerThread;
}

function usable(row: TuneRow): boolean {
  return row.failed === 0 && row.completed > 0 && Number.isFinite(row.jobsPerSec) && row.jobsPerSec > 0 && Number.isFinite(row.p99Ms);
}

export function p99Limit(bestP99Ms: number, rule: KneeRule = KNEE_RULE): number {
  return Math.max(bestP99Ms * rule.p99Factor, bestP99Ms + rule.p99SlackMs);
}

/**
 * The rule: among configurations where no job failed, take the best throughput B (the cheapest
 * one on a tie) and its p99 P. Recommend the cheapest configuration (fewest threads, then fewest
 * tasks per thread) with throughput >= throughputShare x B and p99 <= max(p99Factor x P,
 * P + p99SlackMs). The best one always qualifies, so there is an answer whenever any
 * configuration ran clean; when none did, there is no recommendation, and `why` says which case.
 */
export function chooseKnee(rows: readonly TuneRow[], rule: KneeRule = KNEE_RULE): KneeChoice {
  const withFailures = rows.flatMap((row, i) => (row.failed > 0 ? [i] : []));
  const order = rows.map((_, i) => i).sort((a, b) => cheaper(rows[a]!, rows[b]!));
  const clean = order.filter((i) => usable(rows[i]!));
  if (clean.length === 0) {
    const completed = rows.reduce((sum, r) => sum + r.completed, 0);
    const failed = rows.reduce((sum, r) => sum + r.failed, 0);
    const why = failed === 0 ? 'none-finished' : completed === 0 ? 'all-failed' : 'every-config-failed';
    return { ok: false, why, withFailures };
  }
  // Strictly greater keeps the cheapest of equally fast configurations as the reference.
  let best = clean[0]!;
  for (const i of clean) if (rows[i]!.jobsPerSec > rows[best]!.jobsPerSec) best = i;
  const floor = rows[best]!.jobsPerSec * rule.throughputShare;
  const limit = p99Limit(rows[best]!.p99Ms, rule);
  const knee = clean.find((i) => rows[i]!.jobsPerSec >= floor && rows[i]!.p99Ms <= limit) ?? best;
  return { ok: true, knee, best, withFailures, p99LimitMs: limit };
}

export function describeRule(rule: KneeRule = KNEE_RULE): string {
  return (
    `the fewest threads, then the fewest tasks per thread, that reach ${Math.round(rule.throughputShare * 100)}% of the best throughput ` +
    `with a p99 at most ${rule.p99Factor}x the best configuration's (or ${rule.p99SlackMs} ms above it) and no failed job`
  );
}

/** Throughput this much above the next smaller step counts as still rising. */
const RISING = 1.1;

/**
 * Whether the best configuration sits at the edge of the sweep with throughput still climbing
 * towards it: then a wider sweep may find more. More tasks per thread are suggested whenever
 * they were still paying off; more threads only while the sweep stopped below the core count,
 * since past the cores only processors that wait gain, and for those more tasks per thread is
 * the cheaper lever.
 */
export function risingAtEdge(rows: readonly TuneRow[], choice: KneeChoice, cores: number): { threads: boolean; tasksPerThread: boolean } {
  const none = { threads: false, tasksPerThread: false };
  if (!choice.ok) return none;
  const best = rows[choice.best]!;
  const maxThreads = Math.max(...rows.map((r) => r.threads));
  const maxTasks = Math.max(...rows.map((r) => r.tasksPerThread));
  // The neighbour one step down in a dimension, with the other one fixed.
  const below = (same: (r: TuneRow) => boolean, size: (r: TuneRow) => number) =>
    rows.filter((r) => same(r) && size(r) < size(best)).sort((a, b) => size(b) - size(a))[0];
  const rising = (neighbour: TuneRow | undefined) => neighbour !== undefined && neighbour.failed === 0 && best.jobsPerSec >= RISING * neighbour.jobsPerSec;
  return {
    threads: best.threads === maxThreads && maxThreads < cores && rising(below((r) => r.tasksPerThread === best.tasksPerThread, (r) => r.threads)),
    tasksPerThread: best.tasksPerThread === maxTasks && rising(below((r) => r.threads === best.threads, (r) => r.tasksPerThread)),
  };
}
