/**
 * Redis bytes of one minute slot of the cluster store (src/metrics/cluster.ts) for one queue with
 * one processor, at several loads, measured with MEMORY USAGE on a private redis-server (the
 * table in docs/dashboard.md):
 *   node --import tsx scripts/metrics-slot-bytes.ts
 */
import { Redis } from 'ioredis';
import { ClusterStore, CLUSTER_INDEX_KEY, clusterSlotKey } from '../src/metrics/cluster.js';
import { JobMetrics, slotOf } from '../src/metrics/job-metrics.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';

const redis = await startPrivateRedis();
const client = new Redis(redis.url);
try {
  const lognormal = (medianMs: number, sigma: number) => medianMs * Math.exp(sigma * Math.sqrt(-2 * Math.log(Math.random())) * Math.cos(2 * Math.PI * Math.random()));
  for (const runs of [1, 100, 10_000, 100_000]) {
    const now = Date.now();
    const m = new JobMetrics(now);
    const s = m.series('q', 'proc');
    for (let i = 0; i < runs; i++) {
      s.wait.record(lognormal(20, 1.5) * 1000);
      s.run.record(lognormal(40, 1.2) * 1000);
      s.endToEnd.record(lognormal(70, 1.2) * 1000);
    }
    m.queue('q').renewalLag.record(lognormal(5, 1) * 1000);
    const store = new ClusterStore(client, `sup-${runs}`);
    store.add(slotOf(now), m.encodeDirty());
    await store.flush(now);
    const key = clusterSlotKey(slotOf(now), `sup-${runs}`);
    const bytes = Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const fields = await client.hgetall(key);
    const payload = Object.entries(fields).map(([k, v]) => `${k}=${v.length}`).join(' ');
    console.log(`runs/min ${runs}: slot key ${bytes} B (MEMORY USAGE), fields ${payload}`);
  }
  console.log(`index zset: ${await client.call('MEMORY', 'USAGE', CLUSTER_INDEX_KEY, 'SAMPLES', '0')} B for ${await client.zcard(CLUSTER_INDEX_KEY)} entries`);
} finally {
  client.disconnect();
  await redis.destroy();
}
