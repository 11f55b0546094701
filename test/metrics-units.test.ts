import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Alerts } from '../src/metrics/alerts.js';
import { ClusterStore, clusterSlotKey, CLUSTER_INDEX_KEY, CLUSTER_RETENTION_MS, readClusterHistograms, summarizeCluster } from '../src/metrics/cluster.js';
import { fieldOf, JobMetrics, MAX_PROCESSORS_PER_QUEUE, OTHER_PROCESSOR, SLOT_MS, slotOf } from '../src/metrics/job-metrics.js';
import { BUCKET_BOUNDS_MICROS, bucketIndex, decodeHistogram, encodeHistogram, Latency, newHistogram, RELATIVE_PRECISION, summarize, toMicros } from '../src/metrics/latency.js';
import { Meter } from '../src/metrics/meter.js';
import { renderPrometheus } from '../src/metrics/prometheus.js';
import { buildSnapshot, type MetricsSnapshot } from '../src/metrics/snapshot.js';
import { compareWithRaw, exactPercentile, promtool } from './helpers/metrics.js';
import { startPrivateRedis, uniqueQueue, type PrivateRedis } from './helpers/redis-server.js';

/** A deterministic spread from 20 µs to ~20 s, like a mix of packed tiny jobs and PDF work. */
function samples(n: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return 0.02 * Math.exp((x / 2 ** 32) * 13.8);
  });
}

let redis: PrivateRedis;
before(async () => {
  redis = await startPrivateRedis();
});
after(async () => {
  await redis.destroy();
});

test('HDR latency: percentiles within 3 significant digits, encode/decode round trip, the window keeps the previous slot', () => {
  const raw = samples(20_000, 7);
  const latency = new Latency();
  for (const ms of raw) latency.record(toMicros(ms));
  for (const c of compareWithRaw(latency.current, raw)) assert.ok(c.ok, `p${c.p}: ${c.merged} vs exact ${c.exact}`);

  // The encoding keeps counts per bucket, not the exact maximum: decoded, max is its bucket's top.
  const decoded = summarize(decodeHistogram(encodeHistogram(latency.current)));
  const original = summarize(latency.current);
  for (const k of ['count', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) {
    assert.ok(Math.abs(decoded[k] - original[k]) <= original[k] * RELATIVE_PRECISION, `${k}: ${decoded[k]} vs ${original[k]}`);
  }
  assert.equal(latency.count, 20_000);
  assert.equal(latency.buckets.reduce((a, b) => a + b, 0), 20_000);

  latency.rotate();
  assert.equal(latency.current.totalCount, 0);
  latency.record(5000);
  const window = latency.window(newHistogram());
  assert.equal(window.totalCount, 20_001, 'previous slot and current slot');
  latency.rotate();
  assert.equal(latency.window(newHistogram()).totalCount, 1, 'a slot two rotations old has left the window');
  const s = summarize(window);
  assert.ok(s.p50 <= s.p90 && s.p90 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max, 'percentiles ordered and capped at max');
});

test('a latency summary carries the mean and p95, each within HDR precision of the exact value', () => {
  const raw = samples(20_000, 11);
  const h = newHistogram();
  for (const ms of raw) h.recordValue(toMicros(ms));
  const s = summarize(h);
  const micros = raw.map(toMicros);
  const exactMean = micros.reduce((a, b) => a + b, 0) / micros.length / 1000;
  assert.ok(Math.abs(s.mean - exactMean) <= exactMean * RELATIVE_PRECISION, `mean ${s.mean} ms vs exact ${exactMean} ms`);
  const exactP95 = exactPercentile(micros.sort((a, b) => a - b), 95) / 1000;
  assert.ok(Math.abs(s.p95 - exactP95) <= exactP95 * RELATIVE_PRECISION, `p95 ${s.p95} ms vs exact ${exactP95} ms`);
  // One value: every statistic is that value, the mean not above the maximum.
  const one = newHistogram();
  one.recordValue(123_457);
  const single = summarize(one);
  assert.ok(single.mean <= single.max && Math.abs(single.mean - 123.457) <= 123.457 * RELATIVE_PRECISION, `mean of one value: ${single.mean}`);
  assert.deepEqual(Object.keys(summarize(newHistogram())), ['count', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'], 'an empty summary has the same fields');
});

test('merged histograms of three parts give the percentiles of all the samples together', () => {
  const parts = [samples(3000, 1), samples(500, 2).map((ms) => ms * 40), samples(8000, 3).map((ms) => ms / 10)];
  const merged = newHistogram();
  for (const part of parts) {
    const h = newHistogram();
    for (const ms of part) h.recordValue(toMicros(ms));
    merged.add(decodeHistogram(encodeHistogram(h)));
  }
  for (const c of compareWithRaw(merged, parts.flat())) assert.ok(c.ok, `p${c.p}: merged ${c.merged} vs exact ${c.exact}`);
  const p99s = parts.map((part) => {
    const h = newHistogram();
    for (const ms of part) h.recordValue(toMicros(ms));
    return h.getValueAtPercentile(99);
  });
  const averaged = p99s.reduce((a, b) => a + b, 0) / 3;
  assert.ok(Math.abs(averaged - merged.getValueAtPercentile(99)) > merged.getValueAtPercentile(99) * 0.05, 'the average of p99s is not the p99');
});

test('meter: events per second over 1, 5 and 15 minutes, weighted by the real time between ticks', () => {
  const m = new Meter();
  m.mark(50);
  m.tick(5000);
  assert.deepEqual(m.rates, { '1m': 10, '5m': 10, '15m': 10 }, 'the first tick sets the rates');
  for (let i = 0; i < 12; i++) m.tick(5000);
  assert.ok(m.rates['1m'] < 10 * Math.exp(-0.9) && m.rates['1m'] > 10 * Math.exp(-1.1), `1m decays by e after a minute: ${m.rates['1m']}`);
  assert.ok(m.rates['15m'] > m.rates['5m'] && m.rates['5m'] > m.rates['1m'], 'longer windows forget more slowly');
  const irregular = new Meter();
  irregular.mark(1);
  irregular.tick(1000);
  irregular.mark(60);
  irregular.tick(60_000);
  assert.ok(Math.abs(irregular.rates['1m'] - 1) < 1e-9, 'one long tick at the same rate keeps the rate');
});

test('processor names beyond the cap share one series', () => {
  const metrics = new JobMetrics();
  for (let i = 0; i < MAX_PROCESSORS_PER_QUEUE + 50; i++) metrics.series('q', `p${i}`).counts.leased += 1;
  const q = metrics.queue('q');
  assert.equal(q.processors.size, MAX_PROCESSORS_PER_QUEUE + 1);
  assert.equal(q.processors.get(OTHER_PROCESSOR)?.counts.leased, 50);
  assert.equal(metrics.series('q', OTHER_PROCESSOR), q.processors.get(OTHER_PROCESSOR));
});

function snapshotWith(values: { failureRatio?: number; p99?: number; pending?: number; dead?: number } | null): MetricsSnapshot {
  const metrics = new JobMetrics();
  const s = metrics.series('q', 'pdf');
  const ratio = values?.failureRatio ?? 0;
  s.completedRate.mark(Math.round((1 - ratio) * 100));
  s.failedRate.mark(Math.round(ratio * 100));
  metrics.tick(Date.now() + 1000);
  if (values?.p99) s.run.record(values.p99 * 1000);
  const depths = new Map(values?.pending === undefined ? [] : [['q', { pending: values.pending, delayed: 0, active: 0, completed: 0, dead: values.dead ?? 0 }]]);
  return buildSnapshot(metrics, depths);
}

test('alerts: one transition when a threshold is crossed and one when cleared; an unknown depth keeps the state', () => {
  const alerts = new Alerts({ failurePercent: 20, p99RunMs: 500, queueDepth: 100, dlqSize: 0 });
  assert.deepEqual(alerts.evaluate(snapshotWith({ failureRatio: 0.1, p99: 100, pending: 10 })), []);
  const fired = alerts.evaluate(snapshotWith({ failureRatio: 0.5, p99: 900, pending: 101, dead: 5000 }));
  assert.deepEqual(
    fired.map((t) => [t.alert, t.queue, t.processor, t.state, t.value, t.threshold]),
    [['failurePercent', 'q', 'pdf', 'firing', 50, 20], ['p99RunMs', 'q', 'pdf', 'firing', 900, 500], ['queueDepth', 'q', '', 'firing', 101, 100]],
    'the dead-letter alert is off (0)',
  );
  assert.deepEqual(alerts.evaluate(snapshotWith({ failureRatio: 0.5, p99: 900, pending: 200 })), [], 'still above: no second warning');
  const cleared = alerts.evaluate(snapshotWith({ failureRatio: 0.2, p99: 900 }));
  assert.deepEqual(cleared.map((t) => [t.alert, t.state]), [['failurePercent', 'cleared']], 'at the threshold clears; no depth reading leaves the depth alert firing');
  assert.deepEqual(alerts.states().filter((a) => a.firing).map((a) => a.alert), ['p99RunMs', 'queueDepth']);
  assert.equal(new Alerts({ failurePercent: 0, p99RunMs: 0, queueDepth: 0, dlqSize: 0 }).enabled, false);
});

test('Prometheus text: cumulative buckets, escaped labels, every family typed; passes promtool', (t) => {
  const metrics = new JobMetrics();
  const odd = 'we"ird\\name\nwith newline';
  for (const [processor, ms] of [['pdf', 12], ['pdf', 700], [odd, 0.3]] as const) {
    const s = metrics.series('reports', processor);
    s.counts.leased += 1;
    s.counts.completed += 1;
    s.run.record(toMicros(ms));
  }
  metrics.queue('reports').renewalLag.record(3000);
  const text = renderPrometheus({
    metrics,
    depths: new Map([['reports', { pending: 3, delayed: 1, active: 2, completed: 10, dead: 4 }]]),
    supervisor: { id: 'host:1:abc', host: 'host', startedAt: 1_700_000_000_000, threads: { busy: 1, idle: 1 }, inFlight: { buffered: 0, running: 1, acking: 0 }, eventLoopLagMs: 3 },
    alerts: [{ alert: 'queueDepth', queue: 'reports', processor: '', firing: true }],
  });
  const le = (micros: number) => String(BUCKET_BOUNDS_MICROS[bucketIndex(micros)]! / 1e6);
  const bucket = (bound: string) => {
    const prefix = `troupe_job_run_seconds_bucket{queue="reports",processor="pdf",le="${bound}"} `;
    return Number(text.split('\n').find((l) => l.startsWith(prefix))?.slice(prefix.length));
  };
  assert.deepEqual([bucket(String(BUCKET_BOUNDS_MICROS[bucketIndex(12_000) - 1]! / 1e6)), bucket(le(12_000)), bucket(le(700_000)), bucket('+Inf')], [0, 1, 2, 2], 'cumulative: 12 ms, then 700 ms');
  assert.match(text, /^troupe_job_run_seconds_count\{queue="reports",processor="pdf"\} 2$/m);
  assert.match(text, /^troupe_job_run_seconds_sum\{queue="reports",processor="pdf"\} 0.712$/m);
  assert.match(text, /^troupe_job_run_recent_seconds\{queue="reports",processor="pdf",quantile="0.5"\} 0.012/m);
  assert.match(text, /^troupe_job_run_recent_seconds\{queue="reports",processor="pdf",quantile="0.95"\} 0.7/m, 'a p95 among the summary quantiles');
  assert.match(text, /^troupe_job_wait_recent_seconds\{queue="reports",processor="pdf",quantile="0.99"\} NaN$/m, 'no waits recorded');
  assert.ok(text.includes('processor="we\\"ird\\\\name\\nwith newline"'), 'quote, backslash and newline escaped');
  assert.match(text, /^troupe_queue_jobs\{queue="reports",state="dead"\} 4$/m);
  assert.match(text, /^# HELP troupe_queue_jobs .*max by \(queue, state\), not sum/m, 'every supervisor exports the depth: the HELP says how to aggregate it');
  assert.match(text, /^troupe_alert_firing\{alert="queueDepth",queue="reports",processor=""\} 1$/m);
  const names = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
  assert.equal(new Set(names).size, names.length, 'each family once');
  const check = promtool(text);
  if (!check) return t.skip('promtool is not installed (Debian: apt-get install prometheus)');
  assert.equal(check.status, 0, check.output);
  assert.equal(check.output.trim(), '', `promtool lint: ${check.output}`);
});

test('cluster store: slots with an expiry, merged per window and queue; a failed write is kept and sent later', async () => {
  const client = new Redis(redis.url);
  const offline = new Redis(redis.url, { enableOfflineQueue: false });
  const queue = uniqueQueue('cluster');
  const now = Date.now();
  const old = slotOf(now) - 10 * SLOT_MS;
  const record = (values: number[]) => {
    const h = newHistogram();
    for (const v of values) h.recordValue(v);
    return encodeHistogram(h);
  };
  try {
    const a = new ClusterStore(client, 'sup-a');
    const b = new ClusterStore(client, 'sup-b');
    a.add(slotOf(now), { [fieldOf('run', queue, 'pdf')]: record([1000, 2000]), [fieldOf('wait', queue, 'pdf')]: record([5]) });
    a.add(old, { [fieldOf('run', queue, 'pdf')]: record([9_000_000]) });
    b.add(slotOf(now), { [fieldOf('run', queue, 'pdf')]: record([1500]), [fieldOf('run', queue, 'ocr')]: record([1800]), [fieldOf('renewalLag', queue, '')]: record([7]) });
    await Promise.all([a.flush(now), b.flush(now)]);
    const ttl = await client.pttl(clusterSlotKey(slotOf(now), 'sup-a'));
    // Kept for the dashboard's hour of charts as well as the longest stats window (CLUSTER_RETENTION_MS).
    assert.ok(ttl > CLUSTER_RETENTION_MS && ttl <= CLUSTER_RETENTION_MS + SLOT_MS, `slot expires after the longest window and the chart's hour: ${ttl} ms`);
    assert.equal(await client.zscore(CLUSTER_INDEX_KEY, clusterSlotKey(old, 'sup-a')), String(old));

    const recent = summarizeCluster(await readClusterHistograms(client, { windowMs: 5 * 60_000, now, queues: [queue] })).queues[queue]!;
    assert.equal(recent.supervisors, 2);
    // Values under 2048 µs are exact at 3 significant digits, so the maxima read back exactly.
    assert.deepEqual([recent.all.run.count, recent.all.run.max, recent.processors.pdf?.run.count, recent.processors.ocr?.run.max], [4, 2, 3, 1.8]);
    assert.deepEqual([recent.processors.ocr?.wait.count, recent.renewalLag.max], [0, 0.007]);
    const longer = await readClusterHistograms(client, { windowMs: 15 * 60_000, now, queues: [queue] });
    assert.equal(longer.histograms.get('run')?.get(queue)?.get('pdf')?.totalCount, 4, 'the 10-minute-old slot is inside a 15-minute window');

    // A client that was disconnected and queues nothing: the write fails at once.
    if (offline.status !== 'ready') await once(offline, 'ready');
    const ended = once(offline, 'end');
    offline.disconnect();
    await ended;
    const c = new ClusterStore(offline, 'sup-c');
    c.add(slotOf(now), { [fieldOf('run', queue, 'pdf')]: record([1000]) });
    await assert.rejects(c.flush(now));
    assert.equal(c.pending, 1, 'the failed slot waits for the next flush');
    c.add(slotOf(now), { [fieldOf('run', queue, 'ocr')]: record([8000]) });
    await offline.connect();
    if (offline.status !== 'ready') await once(offline, 'ready');
    await c.flush(now);
    assert.equal(c.pending, 0);
    const later = summarizeCluster(await readClusterHistograms(client, { windowMs: 5 * 60_000, now, queues: [queue] })).queues[queue]!;
    assert.deepEqual([later.supervisors, later.processors.pdf?.run.count, later.processors.ocr?.run.count], [3, 4, 2], 'nothing of the failed write was lost');
  } finally {
    client.disconnect();
    offline.disconnect();
  }
});
