import type { Counts, JobMetrics, JobSeries } from './job-metrics.js';
import { LATENCY_KINDS, SLOT_MS } from './job-metrics.js';
import { emptySummary, newHistogram, summarize, type LatencySummary } from './latency.js';
import { RATE_WINDOW_NAMES, type RateWindow } from './meter.js';

export interface QueueDepth {
  pending: number;
  delayed: number;
  active: number;
  completed: number;
  dead: number;
}
export const DEPTH_STATES = ['pending', 'delayed', 'active', 'completed', 'dead'] as const;

export interface RateSnapshot {
  /** Runs that ended, completed or failed, per second. */
  jobsPerSec: number;
  completedPerSec: number;
  failedPerSec: number;
  /** failed / (completed + failed); 0 when nothing ran. */
  failureRatio: number;
}

export interface SeriesSnapshot {
  counts: Counts;
  rates: Record<RateWindow, RateSnapshot>;
  wait: LatencySummary;
  run: LatencySummary;
  endToEnd: LatencySummary;
}

export interface QueueSnapshot {
  /** From Redis at the last poll; null until the first poll answers. */
  depth: QueueDepth | null;
  renewalLag: LatencySummary;
  processors: Record<string, SeriesSnapshot>;
}

/** What the metrics log line, /status and the alerts read. Latencies are in ms. */
export interface MetricsSnapshot {
  at: number;
  /** Latency percentiles cover this span: the previous one-minute slot and the current one. */
  windowMs: number;
  queues: Record<string, QueueSnapshot>;
  threads: { restarts: number; retired: number };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

export function rateSnapshot(s: JobSeries, w: RateWindow): RateSnapshot {
  const completed = s.completedRate.rates[w];
  const failed = s.failedRate.rates[w];
  const total = completed + failed;
  return {
    jobsPerSec: round3(total),
    completedPerSec: round3(completed),
    failedPerSec: round3(failed),
    failureRatio: total > 0 ? round3(failed / total) : 0,
  };
}

export function buildSnapshot(metrics: JobMetrics, depths: ReadonlyMap<string, QueueDepth>, now = Date.now()): MetricsSnapshot {
  const scratch = newHistogram();
  const queues: Record<string, QueueSnapshot> = {};
  for (const [name, q] of metrics.queues) {
    const processors: Record<string, SeriesSnapshot> = {};
    for (const [processor, s] of q.processors) {
      const latency = Object.fromEntries(LATENCY_KINDS.map((k) => [k, summarize(s[k].window(scratch))])) as Record<(typeof LATENCY_KINDS)[number], LatencySummary>;
      processors[processor] = {
        counts: { ...s.counts },
        rates: Object.fromEntries(RATE_WINDOW_NAMES.map((w) => [w, rateSnapshot(s, w)])) as Record<RateWindow, RateSnapshot>,
        ...latency,
      };
    }
    queues[name] = { depth: depths.get(name) ?? null, renewalLag: summarize(q.renewalLag.window(scratch)), processors };
  }
  for (const [name, depth] of depths) queues[name] ??= { depth, renewalLag: emptySummary(), processors: {} };
  return {
    at: now,
    windowMs: now - metrics.slotStart + SLOT_MS,
    queues,
    threads: { restarts: metrics.threadRestarts, retired: metrics.threadsRetired },
  };
}
