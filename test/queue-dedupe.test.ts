import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Queue, QueueConsumer } from '../src/index.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  await Promise.all(open.map((c) => c.close()));
});

function clients(label: string, producers = 1) {
  const name = uniqueQueue(label);
  const queues = Array.from({ length: producers }, () => new Queue(name, { connection: SHARED_REDIS_URL }));
  const consumer = new QueueConsumer(name, { connection: SHARED_REDIS_URL });
  open.push(...queues, consumer);
  return { name, queue: queues[0]!, queues, consumer };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('idempotent enqueue by jobId', () => {
  test('concurrent duplicates from 10 clients create exactly one job', async () => {
    const { queue, queues, consumer } = clients('idem', 10);
    const ids = Array.from({ length: 50 }, (_, i) => `order-${i}`);
    const results = await Promise.all(
      queues.flatMap((q, client) => ids.map((jobId) => q.enqueue('noop', { client }, { jobId }))),
    );
    const created = results.filter((r) => r.outcome === 'created');
    assert.equal(created.length, ids.length, 'one creation per id');
    assert.equal(results.filter((r) => r.outcome === 'exists').length, ids.length * 9);
    assert.deepEqual(new Set(created.map((r) => r.id)), new Set(ids));
    assert.equal((await queue.counts()).pending, ids.length);
    const leased = await consumer.lease('w', 1000, 10_000);
    assert.equal(leased.jobs.length, ids.length);
  });

  test('a duplicate inside one batch and an existing finished job are both reported, not re-run', async () => {
    const { queue, consumer } = clients('idem-batch');
    const results = await queue.enqueueMany([
      { processor: 'noop', data: 1, options: { jobId: 'x' } },
      { processor: 'noop', data: 2, options: { jobId: 'x' } },
    ]);
    assert.deepEqual(results.map((r) => r.outcome), ['created', 'exists']);
    const { jobs } = await consumer.lease('w', 10, 10_000);
    await consumer.complete([{ lease: jobs[0]!.lease, result: 'done' }]);
    const again = await queue.enqueue('noop', 3, { jobId: 'x' });
    assert.deepEqual(again, { id: 'x', outcome: 'exists', state: 'completed' });
    assert.equal((await queue.getJob('x'))!.data, 1);
  });
});

describe('dedupe key and cached results', () => {
  test('while one job with the key is in flight, later enqueues coalesce onto it', async () => {
    const { queue } = clients('coalesce', 1);
    const first = await queue.enqueue('noop', 'a', { dedupeKey: 'doc-1' });
    const second = await queue.enqueue('noop', 'b', { dedupeKey: 'doc-1' });
    assert.equal(first.outcome, 'created');
    assert.deepEqual(second, { id: first.id, outcome: 'coalesced', state: 'pending' });
    assert.equal((await queue.counts()).pending, 1);
  });

  test('a completed result is reused until its TTL, then the work runs again', async () => {
    const { queue, consumer } = clients('cache');
    const first = await queue.enqueue('noop', 'x', { dedupeKey: 'k', resultTtlMs: 400 });
    const { jobs } = await consumer.lease('w', 1, 10_000);
    await consumer.complete([{ lease: jobs[0]!.lease, result: { pages: 3 } }]);

    const reused = await queue.enqueue('noop', 'x', { dedupeKey: 'k', resultTtlMs: 400 });
    assert.equal(reused.outcome, 'cached');
    assert.equal(reused.state, 'completed');
    assert.notEqual(reused.id, first.id);
    const job = await queue.getJob(reused.id);
    assert.deepEqual(job!.result, { pages: 3 });
    assert.equal(job!.cachedFrom, first.id);
    assert.equal(await queue.waitForResult(reused.id, { timeoutMs: 1000 }).then((r) => JSON.stringify(r)), '{"pages":3}');
    assert.equal((await consumer.lease('w', 10, 10_000)).jobs.length, 0, 'the cached job did not run');

    await sleep(450); // the TTL is Redis's own expiry, so real time has to pass
    const rerun = await queue.enqueue('noop', 'x', { dedupeKey: 'k', resultTtlMs: 400 });
    assert.equal(rerun.outcome, 'created');
    assert.equal((await consumer.lease('w', 10, 10_000)).jobs.length, 1);
  });

  test('concurrent enqueues with one dedupe key run the work once', async () => {
    const { queue, queues, consumer } = clients('cache-concurrent', 6);
    const results = await Promise.all(queues.map((q) => q.enqueue('noop', null, { dedupeKey: 'same', resultTtlMs: 60_000 })));
    assert.equal(results.filter((r) => r.outcome === 'created').length, 1);
    assert.equal(new Set(results.map((r) => r.id)).size, 1);
    assert.equal((await queue.counts()).pending, 1);
    const { jobs } = await consumer.lease('w', 10, 10_000);
    assert.equal(jobs.length, 1);
  });

  test('a job that dies releases its key, so the next enqueue runs again', async () => {
    const { queue, consumer } = clients('cache-dead');
    await queue.enqueue('noop', null, { dedupeKey: 'd', resultTtlMs: 60_000, attempts: 1 });
    const { jobs } = await consumer.lease('w', 1, 10_000);
    const outcome = await consumer.fail([{ job: jobs[0]!, error: new Error('nope') }]);
    assert.equal(outcome.dead.length, 1);
    const next = await queue.enqueue('noop', null, { dedupeKey: 'd', resultTtlMs: 60_000 });
    assert.equal(next.outcome, 'created');
  });

  test('without resultTtlMs the key only coalesces in-flight work', async () => {
    const { queue, consumer } = clients('cache-nottl');
    await queue.enqueue('noop', null, { dedupeKey: 'n' });
    const { jobs } = await consumer.lease('w', 1, 10_000);
    await consumer.complete([{ lease: jobs[0]!.lease, result: 1 }]);
    assert.equal((await queue.enqueue('noop', null, { dedupeKey: 'n' })).outcome, 'created');
  });
});
