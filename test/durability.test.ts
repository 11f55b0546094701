/**
 * The WAIT durability setting against a Redis with no replica (the shared test server): every
 * write still lands, an enqueue says it was not replicated, outcome writes are counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../src/index.js';
import { QueueConsumer } from '../src/queue/consumer.js';
import { ErrorCode, NotReplicatedError } from '../src/queue/errors.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

test('with no replica to confirm, enqueue throws NOT_REPLICATED naming the stored ids; outcomes are written and counted', async () => {
  const name = uniqueQueue('durability');
  const durability = { replicas: 1, timeoutMs: 20 };
  const queue = new Queue(name, { connection: { url: SHARED_REDIS_URL, waitReplicas: 1, waitTimeoutMs: 20 } });
  const consumer = new QueueConsumer(name, { connection: SHARED_REDIS_URL, durability });
  const plain = new Queue(name, { connection: SHARED_REDIS_URL });
  try {
    const err = await queue.enqueue('echo', { a: 1 }, { jobId: 'kept' }).then(
      () => assert.fail('enqueue should report that no replica confirmed it'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NotReplicatedError);
    assert.equal(err.code, ErrorCode.NotReplicated);
    assert.deepEqual([err.ids, err.replicas], [['kept'], 0]);
    assert.match(err.message, /reached the master but only 0 of 1 replicas confirmed it within 20 ms; it is stored.*retry with the same jobId/);
    assert.equal((await plain.getJob('kept'))?.state, 'pending', 'the job was stored all the same');
    assert.equal((await plain.enqueue('echo', { a: 1 }, { jobId: 'kept' })).outcome, 'exists', 'a retry with the same id adds nothing');

    const { jobs } = await consumer.lease('me', 1, 10_000);
    assert.deepEqual(await consumer.complete(jobs.map((j) => ({ lease: j.lease, result: 'done' }))), [], 'the completion is accepted');
    assert.equal(consumer.notReplicated, 1, 'and counted as not replicated');
    assert.equal((await plain.getJob('kept'))?.state, 'completed');
  } finally {
    await plain.clear('completed');
    await Promise.all([queue.close(), consumer.close(), plain.close()]);
  }
});
