/**
 * The end-to-end bench's limit row (bench/lib/e2e-limit.ts, e2e-consumer-limit.ts): its scripts
 * keep the mechanism's guarantees (fencing tokens, nothing left behind), and its consumer drains
 * real jobs through the child protocol as the bench runs it. Nothing here times anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { buildForBench, type BenchBuild } from '../bench/lib/e2e-build.js';
import { ConsumerProcess } from '../bench/lib/e2e-host.js';
import { LimitQueue, limitKeys } from '../bench/lib/e2e-limit.js';
import { openProducer } from '../bench/lib/e2e-producers.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

describe('the limit scripts', () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(SHARED_REDIS_URL);
  });
  after(async () => {
    await redis.quit();
  });

  test('lease hands each job once with a fresh token and its data; a batch stops at max', async () => {
    const name = uniqueQueue('limit-lease');
    const queue = new LimitQueue(redis, name);
    await queue.enqueue(['{"n":0}', '{"n":1}', '{"n":2}']);
    const first = await queue.lease(2);
    const second = await queue.lease(2);
    assert.deepEqual(first.data, ['{"n":0}', '{"n":1}']);
    assert.deepEqual(second.data, ['{"n":2}']);
    const tokens = [...first.tokens, ...second.tokens];
    assert.equal(new Set(tokens).size, 3, `tokens repeat: ${tokens.join(',')}`);
    assert.equal((await queue.lease(2)).ids.length, 0);
    assert.deepEqual(await queue.counts(), { pending: 0, active: 3, jobs: 3 });
    assert.equal(await queue.complete([...first.ids, ...second.ids], tokens), 0);
    assert.deepEqual(await queue.counts(), { pending: 0, active: 0, jobs: 0 });
    await redis.del(...Object.values(limitKeys(name)).filter((k) => !k.endsWith(':')));
  });

  test('a stale token is counted lost and changes nothing; the current holder still completes', async () => {
    const name = uniqueQueue('limit-fence');
    const queue = new LimitQueue(redis, name);
    await queue.enqueue(['{"n":0}']);
    const leased = await queue.lease(1);
    const stale = String(Number(leased.tokens[0]) - 1);
    assert.equal(await queue.complete(leased.ids, [stale]), 1);
    assert.deepEqual(await queue.counts(), { pending: 0, active: 1, jobs: 1 });
    assert.equal(await queue.complete(leased.ids, leased.tokens), 0);
    // Completed and gone: completing again is a lost lease, not a second completion.
    assert.equal(await queue.complete(leased.ids, leased.tokens), 1);
    assert.deepEqual(await queue.counts(), { pending: 0, active: 0, jobs: 0 });
    await redis.del(...Object.values(limitKeys(name)).filter((k) => !k.endsWith(':')));
  });
});

describe('the limit consumer drains real jobs through the child protocol', () => {
  let build: BenchBuild;
  before(async () => {
    build = await buildForBench();
  });
  after(() => build?.remove());

  test('warm-up, pause, then the measured jobs on go, every one completed and removed', async () => {
    const queue = uniqueQueue('bench-e2e-limit');
    const producer = openProducer('limit', SHARED_REDIS_URL, queue);
    let consumer: ConsumerProcess | undefined;
    try {
      await producer.enqueue(20);
      consumer = await ConsumerProcess.start(build.childEntry, { kind: 'limit', redisUrl: SHARED_REDIS_URL, queue, concurrency: 2, warmJobs: 20, processorFile: build.processorFile });
      // Paused after warm-up: what is enqueued now waits for `go`.
      await producer.enqueue(1000);
      assert.equal(await producer.drained(), false);
      await consumer.drain(1000);
      await producer.verifyDrained();
      await consumer.stop();
    } finally {
      consumer?.kill();
      await producer.close();
    }
  });
});
