import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue, QueueConsumer } from '../src/index.js';
import { manualClock, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

let redis: PrivateRedis;
before(async () => {
  redis = await startPrivateRedis();
});
after(async () => {
  await redis.destroy();
});

async function allKeys(url: string): Promise<string[]> {
  const client = new Redis(url);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  } finally {
    client.disconnect();
  }
}

test('after a full lifecycle every key the queue wrote carries its hash tag', async () => {
  const clock = manualClock();
  const name = 'lifecycle.q:1';
  const queue = new Queue(name, { connection: redis.url, clock });
  const consumer = new QueueConsumer(name, { connection: redis.url, clock });
  try {
    await queue.enqueueMany([
      { processor: 'noop', data: 1, options: { priority: 'critical', jobId: 'fixed' } },
      { processor: 'noop', data: Buffer.from([0, 1, 2]), options: { dedupeKey: 'k', resultTtlMs: 60_000 } },
      { processor: 'noop', data: 3, options: { delayMs: 100, attempts: 1 } },
      { processor: 'noop', data: 4, options: { attempts: 2, backoff: [50] } },
      { processor: 'noop', data: 5 },
    ]);
    await queue.enqueue('noop', 6, { dedupeKey: 'k', resultTtlMs: 60_000 });
    const events: string[] = [];
    await queue.subscribe((e) => events.push(e.type));
    let batch = await consumer.lease('s1', 10, 1000);
    await consumer.renew('s1', batch.jobs.map((j) => j.lease), 1000);
    await consumer.progress(batch.jobs[0]!.lease, { page: 1 });
    await consumer.complete(batch.jobs.slice(0, 2).map((j) => ({ lease: j.lease, result: { ok: true } })));
    await consumer.fail(batch.jobs.slice(2).map((j) => ({ job: j, error: new Error('boom') })));
    clock.advance(2000);
    await consumer.reclaim();
    batch = await consumer.lease('s1', 10, 1000);
    assert.ok(batch.jobs.length > 0);
    clock.advance(2000);
    await consumer.reclaim();
    await queue.enqueue('noop', 7, { dedupeKey: 'k', resultTtlMs: 60_000 });
    await queue.enqueue('noop', 8, { delayMs: 10 });
    await queue.cancel((await queue.listJobs('delayed'))[0]!.id);
    await queue.pause();
    await queue.resume();
    await consumer.waitForWork(10);
    await queue.retryAllDead();
    batch = await consumer.lease('s1', 10, 1000);
    await consumer.release(batch.jobs.slice(0, 1).map((j) => j.lease));
    await queue.enqueueMany([{ processor: 'noop', data: 9, options: { attempts: 1 } }]);
    const last = await consumer.lease('s1', 10, 1000);
    await consumer.fail(last.jobs.map((j) => ({ job: j, error: new Error('final'), unrecoverable: true })));
    await queue.listDead();
    await queue.counts();
    await queue.purgeDead();

    const keys = await allKeys(redis.url);
    assert.ok(keys.length >= 5, `expected the queue to have written keys, found ${keys.join(', ')}`);
    const untagged = keys.filter((k) => !k.startsWith(`troupe:{${name}}:`));
    assert.deepEqual(untagged, []);
    assert.ok(keys.some((k) => k.endsWith(':events')), 'events were published');
    assert.ok(keys.some((k) => k.includes(':dedupe:')), 'a dedupe entry was written');
  } finally {
    await queue.close();
    await consumer.close();
  }
});
