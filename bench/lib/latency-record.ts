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

/**
 * Wait, end-to-end and producer-lateness histograms for one set of jobs (a round), mergeable so
 * several rounds can also be read as one pool.
 */
export class LatencyRecorder {
  readonly wait: Histogram = newHistogram();
  readonly endToEnd: Histogram = newHistogram();
  readonly producerLate: Histogram = newHistogram();
  jobs = 0;
  backwards = 0;

  add(t: JobTimes): void {
    this.jobs += 1;
    if (t.startedAt < t.sentAt || t.completedAt < t.startedAt) this.backwards += 1;
    this.wait.recordValue(toMicros(t.startedAt - t.scheduledAt));
    this.endToEnd.recordValue(toMicros(t.completedAt - t.scheduledAt));
    this.producerLate.recordValue(toMicros(t.sentAt - t.scheduledAt));
  }

  merge(other: LatencyRecorder): void {
    this.wait.add(other.wait);
    this.endToEnd.add(other.endToEnd);
    this.producerLate.add(other.producerLate);
    this.jobs += other.jobs;
    this.backwards += other.backwards;
  }

  report(): LatencyReport {
    return { jobs: this.jobs, wait: summarize(this.wait), endToEnd: summarize(this.endToEnd), producerLate: summarize(this.producerLate), backwards: this.backwards };
  }
}

export function recordAll(samples: Iterable<JobTimes>): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const t of samples) recorder.add(t);
  return recorder;
}

export function latencyReport(samples: Iterable<JobTimes>): LatencyReport {
  return recordAll(samples).report();
}

/** Milliseconds for a table cell: two decimals below 10 ms, one below 100, whole above. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toLocaleString('en-US');
}
