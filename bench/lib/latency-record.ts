/**
 * Per-job time stamps of the latency bench turned into HDR histograms and percentiles. All stamps
 * are wall-clock milliseconds with µs resolution (performance.timeOrigin + performance.now()),
 * taken in different processes and threads; recorded as whole microseconds, 3 significant digits
 * (the same histograms the supervisor's own metrics use).
 */
import type { Histogram } from 'hdr-histogram-js';
import { newHistogram, summarize, toMicros, type LatencySummary } from '../../src/metrics/latency.js';

/** What the producer puts in every probe job's payload. */
export interface ProbeData {
  /** When the open-loop schedule said to send it. */
  s: number;
  /** When the producer actually sent it (≥ s; later when the producer fell behind). */
  a: number;
}

export interface JobTimes {
  scheduledAt: number;
  sentAt: number;
  /** When the processor began this job (stamped by the processor itself). */
  startedAt: number;
  /** When the consumer saw Redis accept the job's completion. */
  completedAt: number;
}

export interface LatencyReport {
  jobs: number;
  /** start of processing − scheduled send. */
  wait: LatencySummary;
  /** completion − scheduled send. */
  endToEnd: LatencySummary;
  /** actual send − scheduled send: the producer's own lateness, already inside wait and e2e. */
  producerLate: LatencySummary;
  /** Stamps that ran backwards (start before send): only clock skew between processes can do it. */
  backwards: number;
}

export function isProbeData(value: unknown): value is ProbeData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.s === 'number' && typeof v.a === 'number';
}

function record(h: Histogram, ms: number): void {
  h.recordValue(toMicros(ms));
}

export function latencyReport(samples: Iterable<JobTimes>): LatencyReport {
  const wait = newHistogram();
  const endToEnd = newHistogram();
  const late = newHistogram();
  let jobs = 0;
  let backwards = 0;
  for (const t of samples) {
    jobs += 1;
    if (t.startedAt < t.sentAt || t.completedAt < t.startedAt) backwards += 1;
    record(wait, t.startedAt - t.scheduledAt);
    record(endToEnd, t.completedAt - t.scheduledAt);
    record(late, t.sentAt - t.scheduledAt);
  }
  return { jobs, wait: summarize(wait), endToEnd: summarize(endToEnd), producerLate: summarize(late), backwards };
}

/** Milliseconds for a table cell: two decimals below 10 ms, one below 100, whole above. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toLocaleString('en-US');
}
