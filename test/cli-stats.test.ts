import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterStore } from '../src/metrics/cluster.js';
import { fieldOf, slotOf } from '../src/metrics/job-metrics.js';
import { encodeHistogram, newHistogram, RELATIVE_PRECISION } from '../src/metrics/latency.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { uniqueQueue } from './helpers/redis-server.js';
import { runCli } from './helpers/supervisor-process.js';

const fixture = usePrivateRedis();

/** Run times of 1, 2, … 100 ms, stored as a supervisor stores them: mean 50.5 ms, p95 95 ms. */
async function storeRunTimes(queue: string): Promise<void> {
  const h = newHistogram();
  for (let ms = 1; ms <= 100; ms++) h.recordValue(ms * 1000);
  const store = new ClusterStore(fixture.client, 'sup-stats-test');
  store.add(slotOf(Date.now()), { [fieldOf('run', queue, 'pdf')]: encodeHistogram(h) });
  await store.flush();
}

const near = (actual: number, expected: number) => Math.abs(actual - expected) <= expected * RELATIVE_PRECISION;

test('troupe stats shows the mean and p95 with the percentiles, in the table and in --json', async () => {
  const queue = uniqueQueue('stats-mean');
  await storeRunTimes(queue);
  const env = { TROUPE_REDIS_URL: fixture.redis.url };

  const table = await runCli(['stats', '--queue', queue], env);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.split('\n');
  const header = lines.find((l) => l.startsWith('QUEUE') && l.includes('LATENCY'));
  assert.ok(header, table.stdout);
  assert.deepEqual(header.split(/\s+/), ['QUEUE', 'PROCESSOR', 'LATENCY', 'COUNT', 'MEAN', 'P50', 'P90', 'P95', 'P99', 'P99.9', 'MAX']);
  const row = lines.find((l) => l.startsWith(queue) && /\brun\b/.test(l));
  assert.ok(row, table.stdout);
  const [, processor, , count, mean, , , p95] = row.split(/\s+/);
  assert.deepEqual([processor, count], ['pdf', '100']);
  assert.ok(near(Number(mean), 50.5) && near(Number(p95), 95), `mean ${mean}, p95 ${p95}: ${row}`);

  const json = await runCli(['stats', '--queue', queue, '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  const run = (JSON.parse(json.stdout) as { latency: { all: { run: { count: number; mean: number; p95: number } } } }).latency.all.run;
  assert.equal(run.count, 100);
  assert.ok(near(run.mean, 50.5) && near(run.p95, 95), JSON.stringify(run));
});
