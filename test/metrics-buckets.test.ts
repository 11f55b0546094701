import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobMetrics } from '../src/metrics/job-metrics.js';
import { BUCKET_BOUNDS_MICROS, LADDER_HIGH_MICROS, LADDER_LOW_MICROS, LADDER_MAX_RATIO, toMicros } from '../src/metrics/latency.js';
import { renderPrometheus } from '../src/metrics/prometheus.js';
import { exactPercentile } from './helpers/metrics.js';

/**
 * What Prometheus would read: known distributions go through the real recorder and exporter, and
 * histogram_quantile()'s linear interpolation runs over the exported cumulative buckets.
 */

const MAX_ERROR = 0.1;
const QUANTILES = [0.5, 0.9, 0.99];

function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return (x + 0.5) / 2 ** 32;
  };
}
const gaussian = (r: () => number) => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());

/** Shapes of job time around a median m (ms): tight and wide spreads, a long tail, a hard edge, one value. */
const DISTRIBUTIONS: Array<[string, (r: () => number, m: number) => number]> = [
  ['lognormal σ=0.05', (r, m) => m * Math.exp(0.05 * gaussian(r))],
  ['lognormal σ=0.3', (r, m) => m * Math.exp(0.3 * gaussian(r))],
  ['lognormal σ=1', (r, m) => m * Math.exp(gaussian(r))],
  ['exponential', (r, m) => (-m * Math.log(r())) / Math.LN2],
  ['uniform m..2m', (r, m) => m * (1 + r())],
  ['normal, 10% spread', (r, m) => m * (1 + 0.1 * gaussian(r))],
  ['one value', (_r, m) => m],
];

/** Prometheus's histogram_quantile: the bucket holding rank q·count, linearly interpolated from its lower bound. */
function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; cumulative: number }>): number {
  const total = buckets.at(-1)!.cumulative;
  const rank = q * total;
  let i = buckets.findIndex((b) => b.cumulative >= rank);
  if (buckets[i]!.le === Infinity) return buckets[i - 1]!.le;
  // Prometheus skips buckets equal to the one before (no counts), landing on the first that grew.
  while (i > 0 && buckets[i - 1]!.cumulative === buckets[i]!.cumulative && buckets[i - 1]!.cumulative >= rank) i -= 1;
  const lower = i === 0 ? 0 : buckets[i - 1]!.le;
  const before = i === 0 ? 0 : buckets[i - 1]!.cumulative;
  return lower + ((buckets[i]!.le - lower) * (rank - before)) / (buckets[i]!.cumulative - before);
}

function exportedBuckets(text: string): Array<{ le: number; cumulative: number }> {
  return [...text.matchAll(/^troupe_job_run_seconds_bucket\{queue="q",processor="p",le="([^"]+)"\} (\d+)$/gm)].map((m) => ({
    le: m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000,
    cumulative: Number(m[2]),
  }));
}

function render(metrics: JobMetrics): string {
  return renderPrometheus({
    metrics,
    depths: new Map(),
    supervisor: { id: 's', host: 'h', startedAt: 0, threads: { busy: 0, idle: 1 }, inFlight: { buffered: 0, running: 0, acking: 0 }, eventLoopLagMs: 0 },
    alerts: [],
  });
}

test('bucket bounds: a ladder with neighbours at most 1.1 apart from 1 ms to 60 s', () => {
  // From the bound below 1 ms (1 ms itself falls in the bucket above it) to 60 s.
  const first = BUCKET_BOUNDS_MICROS.indexOf(LADDER_LOW_MICROS) - 1;
  const ladder = BUCKET_BOUNDS_MICROS.slice(first, BUCKET_BOUNDS_MICROS.indexOf(LADDER_HIGH_MICROS) + 1);
  assert.ok(first >= 0 && ladder.length > 100, `${ladder.length} bounds`);
  for (let i = 1; i < ladder.length; i++) assert.ok(ladder[i]! / ladder[i - 1]! <= LADDER_MAX_RATIO, `${ladder[i - 1]} µs to ${ladder[i]} µs`);
  for (let i = 1; i < BUCKET_BOUNDS_MICROS.length; i++) assert.ok(BUCKET_BOUNDS_MICROS[i]! > BUCKET_BOUNDS_MICROS[i - 1]!, 'increasing');
});

/** Medians from 0.5 ms to 60 s, a factor 1.37 apart, and both ends of the range exactly. */
const MEDIANS = [1, 60_000, ...Array.from({ length: 36 }, (_, k) => 0.5 * 1.37 ** k)];

test('histogram_quantile over the exported buckets is within 10% of the exact p50, p90 and p99 from 1 ms to 60 s', (t) => {
  const SAMPLES = 4000;
  let worst = { error: 0, what: '' };
  let checked = 0;
  for (const [name, draw] of DISTRIBUTIONS) {
    let smoothWorst = 0;
    for (const median of MEDIANS) {
      const r = random(Math.round(median * 1000) + name.length);
      const ms = Array.from({ length: SAMPLES }, () => draw(r, median));
      const sorted = ms.map(toMicros).sort((a, b) => a - b);
      const metrics = new JobMetrics();
      const series = metrics.series('q', 'p');
      for (const v of ms) series.run.record(toMicros(v));
      const buckets = exportedBuckets(render(metrics));
      assert.equal(buckets.length, BUCKET_BOUNDS_MICROS.length + 1);
      for (const q of QUANTILES) {
        const exactMicros = exactPercentile(sorted, q * 100);
        // Only quantiles in the range the ladder promises (samples outside it still shift the counts).
        if (exactMicros < LADDER_LOW_MICROS || exactMicros > LADDER_HIGH_MICROS) continue;
        const exact = exactMicros / 1000;
        const estimate = histogramQuantile(q, buckets);
        const error = Math.abs(estimate - exact) / exact;
        checked += 1;
        smoothWorst = Math.max(smoothWorst, error);
        const what = `${name}, median ${median.toFixed(2)} ms, p${q * 100}: histogram_quantile ${estimate.toFixed(3)} ms, exact ${exact.toFixed(3)} ms`;
        if (error > worst.error) worst = { error, what };
        assert.ok(error <= MAX_ERROR, `${what}: ${(error * 100).toFixed(1)}% off`);
      }
    }
    t.diagnostic(`${name}: worst ${(smoothWorst * 100).toFixed(2)}%`);
  }
  assert.ok(checked > 300, `${checked} quantiles checked`);
  t.diagnostic(`worst of ${checked}: ${(worst.error * 100).toFixed(1)}% (${worst.what})`);
});
