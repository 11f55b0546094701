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

/** Mean and p50 … max of a set of latencies, in milliseconds; all 0 when count is 0. */
export interface LatencySummary {
  count: number;
  /** Arithmetic mean, from the histogram's buckets: within the same precision as a percentile. */
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

const ms = (micros: number) => Math.round(micros) / 1000;

export function emptySummary(): LatencySummary {
  return { count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
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
    // HDR's mean weighs each bucket by its midpoint, which for a single bucket can pass the
    // exact maximum; capped like the percentiles.
    mean: ms(Math.min(h.mean, h.maxValue)),
    p50: ms(percentile(h, 50)),
    p90: ms(percentile(h, 90)),
    p95: ms(percentile(h, 95)),
    p99: ms(percentile(h, 99)),
    p999: ms(percentile(h, 99.9)),
    max: ms(h.maxValue),
  };
}

/**
 * Prometheus bucket bounds (µs). histogram_quantile() interpolates linearly inside a bucket, and
 * the true quantile lies in the same bucket as the estimate, so a bucket [a, r·a] can be off by
 * up to r - 1 of the true value whatever the distribution (all jobs taking the same time is the
 * worst case; smooth spreads measure ≤ 6 %, see docs/observability.md). From 1 ms to 60 s the
 * bounds are a geometric ladder with ratio under 1.1 (60000^(1/117), rounded to the µs), which
 * bounds that error by 10 %: 119 bounds (one below 1 ms, so 1 ms itself is covered). Below 1 ms and above 60 s a few coarse bounds only
 * keep sub-millisecond jobs and long backlogs out of the lowest and +Inf buckets.
 */
export const LADDER_LOW_MICROS = 1_000;
export const LADDER_HIGH_MICROS = 60_000_000;
export const LADDER_STEPS = 117;
/** Largest ratio between neighbouring bounds from LADDER_LOW_MICROS to LADDER_HIGH_MICROS. */
export const LADDER_MAX_RATIO = 1.1;

function bucketBounds(): number[] {
  const ratio = (LADDER_HIGH_MICROS / LADDER_LOW_MICROS) ** (1 / LADDER_STEPS);
  // From one step below 1 ms: a value of exactly 1 ms falls in the bucket (0.91 ms, 1 ms].
  const ladder = Array.from({ length: LADDER_STEPS + 2 }, (_, k) => Math.round(LADDER_LOW_MICROS * ratio ** (k - 1)));
  ladder[LADDER_STEPS + 1] = LADDER_HIGH_MICROS; // exactly 60 s, not a float's rounding of it
  return [100, 250, 500, ...ladder, 120_000_000, 300_000_000, 900_000_000, 3_600_000_000];
}
export const BUCKET_BOUNDS_MICROS: readonly number[] = Object.freeze(bucketBounds());

/** Index of the bucket a value falls in: the first bound ≥ it, or the +Inf bucket. */
export function bucketIndex(micros: number): number {
  let lo = 0;
  let hi = BUCKET_BOUNDS_MICROS.length; // +Inf
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (micros > BUCKET_BOUNDS_MICROS[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

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
    this.buckets[bucketIndex(micros)]! += 1;
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
