import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/**
 * Latencies are recorded as whole microseconds into HDR histograms with 3 significant digits:
 * every value is kept within 1/1024 (< 0.1%) of what was recorded, from 1 µs to whatever the
 * histogram has grown to (autoResize). The JS implementation is used, not WASM: it is the
 * library's default on Node, needs no async init, and records in ~0.1 µs.
 */
export const SIGNIFICANT_DIGITS = 3;
/** Largest relative error of a value read back from a histogram (2^-10 for 3 digits). */
export const RELATIVE_PRECISION = 1 / 1024;

export function newHistogram(): Histogram {
  return hdr.build({
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    lowestDiscernibleValue: 1,
    // Starts small and grows to the largest value seen, so a series of 1 ms jobs never pays
    // for the range a series of 10-minute waits needs.
    highestTrackableValue: 2,
    autoResize: true,
    bitBucketSize: 32,
  });
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  const h = hdr.decodeFromCompressedBase64(encoded, 32);
  h.autoResize = true;
  return h;
}

/** Milliseconds (fractional) to the recorded unit; negative clock skew counts as 0. */
export function toMicros(ms: number): number {
  return ms > 0 ? Math.round(ms * 1000) : 0;
}

/** p50 … max of a set of latencies, in milliseconds; all 0 when count is 0. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

const ms = (micros: number) => Math.round(micros) / 1000;

export function emptySummary(): LatencySummary {
  return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
}

/**
 * A percentile is the highest value equivalent to the recorded one (HDR's convention), which
 * can exceed the exact maximum by up to the precision; capped at the maximum, a p99.9 never
 * reads above `max`, and it stays within the precision of the true value.
 */
export function percentile(h: Histogram, p: number): number {
  return Math.min(h.getValueAtPercentile(p), h.maxValue);
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return emptySummary();
  return {
    count: h.totalCount,
    p50: ms(percentile(h, 50)),
    p90: ms(percentile(h, 90)),
    p99: ms(percentile(h, 99)),
    p999: ms(percentile(h, 99.9)),
    max: ms(h.maxValue),
  };
}

/** Prometheus bucket bounds (µs): 0.5 ms to 5 min, the spread from packed tiny jobs to PDF work. */
export const BUCKET_BOUNDS_MICROS: readonly number[] = [
  500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
  1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000, 300_000_000,
];

/**
 * One latency series. Each value is recorded twice, cheaply: into fixed Prometheus buckets
 * (cumulative since start, which is what `rate()` and `histogram_quantile()` expect) and into
 * the HDR histogram of the current one-minute slot. The previous slot is kept, so the local
 * window (current + previous slot) always holds 1–2 minutes; older slots live only in Redis.
 */
export class Latency {
  /** Non-cumulative counts per bound; the last entry is +Inf. */
  readonly buckets = new Float64Array(BUCKET_BOUNDS_MICROS.length + 1);
  sumMicros = 0;
  count = 0;
  current: Histogram = newHistogram();
  previous: Histogram = newHistogram();
  /** Recorded into `current` since it was last encoded for the cluster store. */
  dirty = false;

  record(micros: number): void {
    this.count += 1;
    this.sumMicros += micros;
    let i = 0;
    while (i < BUCKET_BOUNDS_MICROS.length && micros > BUCKET_BOUNDS_MICROS[i]!) i += 1;
    this.buckets[i]! += 1;
    this.current.recordValue(micros);
    this.dirty = true;
  }

  /** A new slot begins: the current one becomes previous, the old previous is reused. */
  rotate(): void {
    const recycled = this.previous;
    recycled.reset();
    this.previous = this.current;
    this.current = recycled;
    this.dirty = false;
  }

  /** The local window (previous + current slot) merged into `into`, which is reset first. */
  window(into: Histogram): Histogram {
    into.reset();
    if (this.previous.totalCount > 0) into.add(this.previous);
    if (this.current.totalCount > 0) into.add(this.current);
    return into;
  }
}
