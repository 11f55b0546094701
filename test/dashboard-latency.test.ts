/**
 * The overview's latency chart covers the last hour (issue 17): slots the supervisors' metric
 * writer (ClusterStore) wrote an hour ago are still in Redis and on the chart, and the store stays
 * bounded. Time is the writer's argument, so the test writes an hour of minutes without waiting.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Dashboard } from '../src/dashboard/dashboard.js';
import { readMinutes } from '../src/dashboard/latency.js';
import { CHART_WINDOW_MS, CLUSTER_INDEX_KEY, CLUSTER_RETENTION_MS, ClusterStore, clusterSlotKey } from '../src/metrics/cluster.js';
import { JobMetrics, SLOT_MS, slotOf } from '../src/metrics/job-metrics.js';
import { GuardedHttpServer } from '../src/supervisor/http-server.js';
import { capturingLogger } from './helpers/metrics.js';
import { startPrivateRedis } from './helpers/redis-server.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const label = (at: number) => new Date(at).toISOString().slice(11, 16);

test('points an hour old are on the overview chart and in /api/metrics; older slots leave Redis', { timeout: 60_000 }, async () => {
  const server = await startPrivateRedis();
  cleanup.push(() => server.destroy());
  const client = new Redis(server.url);
  cleanup.push(() => client.disconnect());

  const now = Date.now();
  const current = slotOf(now);
  const store = new ClusterStore(client, 'host:1:abc');
  // A supervisor that has run jobs for 70 minutes: minute k ago saw k + 1 runs of 10 ms after 2 ms waits
  // (k = 70 and 65 are past the hour and must not be shown; 59 and 30 must).
  const written = [70, 65, 59, 30, 1, 0];
  for (const k of written) {
    const at = current - k * SLOT_MS;
    const m = new JobMetrics(at);
    const s = m.series('orders', 'resize');
    for (let i = 0; i <= k; i += 1) {
      s.wait.record(2_000);
      s.run.record(10_000);
    }
    store.add(at, m.encodeDirty());
    // The writer flushes at the end of each minute, as the supervisor's heartbeat does.
    await store.flush(at + SLOT_MS - 1);
  }

  const hourAgo = current - 59 * SLOT_MS;
  assert.ok(Number(await client.pttl(clusterSlotKey(hourAgo, 'host:1:abc'))) > 0, 'an hour-old slot is still in Redis');
  // The index holds only what the retention keeps: the 70-minute-old slot was trimmed by later flushes.
  const indexed = (await client.zrange(CLUSTER_INDEX_KEY, '0', '-1', 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
  assert.ok(Math.min(...indexed) >= now - CLUSTER_RETENTION_MS - 2 * SLOT_MS, `oldest indexed slot ${(now - Math.min(...indexed)) / 60_000} min old`);
  assert.ok(!indexed.includes(current - 70 * SLOT_MS));

  const minutes = await readMinutes(client, now);
  const first = minutes.all[0]!;
  assert.equal(first.at, hourAgo, 'the chart starts at the oldest minute within the hour');
  assert.equal(minutes.all.length, 60, 'a point per minute from 59 minutes ago to the minute in progress');
  assert.ok(minutes.all.every((p) => p.at >= current - CHART_WINDOW_MS && p.at <= current));
  assert.deepEqual(minutes.all.map((p) => p.runs).filter((r) => r > 0), [60, 31, 2, 1]);
  // HDR histograms keep 3 significant digits.
  assert.ok(Math.abs(first.runP50 - 10) < 0.02 && Math.abs(first.waitP99 - 2) < 0.01, JSON.stringify(first));
  assert.deepEqual(minutes.queues.map((q) => [q.queue, q.points.length, q.processors.map((p) => p.processor)]), [['orders', 60, ['resize']]]);

  // The pages and the API, as a supervisor or troupe dashboard serves them.
  const { logger } = capturingLogger('warn');
  const dashboard = new Dashboard({ client, queues: ['orders'], readOnly: true, logger });
  const http = new GuardedHttpServer({ what: 'the dashboard', host: '127.0.0.1', port: 0, token: '', logger, handlers: [dashboard.handler], isOpen: () => true });
  await dashboard.start();
  await http.listen();
  cleanup.push(() => dashboard.stop(), () => http.close());
  const overview = await (await fetch(`${http.url}/`)).text();
  assert.match(overview, /Latency per minute \(ms\)/);
  assert.ok(overview.includes(`>${label(hourAgo)}</text>`), `the hour-old minute ${label(hourAgo)} labels the chart's axis`);
  const api = (await (await fetch(`${http.url}/api/metrics`)).json()) as { all: Array<{ at: number; runs: number }>; queues: unknown[] };
  assert.equal(api.all[0]!.at, hourAgo);
  assert.equal(api.all[0]!.runs, 60);
});
