/**
 * The scheduler's and the maintenance sweep's scripts run through the queue's runner: after
 * SCRIPT FLUSH (or a Redis restart) the server answers NOSCRIPT, and each script must be sent
 * once with EVAL and then go by SHA again. A private server, so no other client's EVAL counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Redis } from 'ioredis';
import { runMaintenance } from '../src/processors/maintenance.js';
import { Queue, QueueConsumer } from '../src/index.js';
import { validateSchedule } from '../src/scheduler/spec.js';
import { ScheduleStore } from '../src/scheduler/store.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();

/** How many EVALs the server ran: each is one script sent with its source. */
async function evals(client: Redis): Promise<number> {
  const line = (await client.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_eval:'));
  return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0);
}

test('scheduler scripts are sent again after SCRIPT FLUSH', async () => {
  const store = new ScheduleStore(fx.client);
  const nightly = validateSchedule({ name: 'nightly', daily: '02:30', queue: 'default', processor: 'echo' });
  assert.equal((await store.save(nightly, 'cli')).status, 'created');
  const stored = (await store.get('nightly'))!;
  assert.equal(await store.claim(stored, 1_000, 'a'), 'claimed');

  assert.equal(await fx.client.script('FLUSH'), 'OK');
  const before = await evals(fx.client);
  assert.equal(await store.claim(stored, 2_000, 'a'), 'claimed');
  assert.equal(await store.claim(stored, 2_000, 'b'), 'taken', 'the reloaded claim still refuses a second caller');
  assert.equal(await evals(fx.client), before + 1, 'claim was sent with its source once, then by SHA');
  assert.equal(await store.setPaused('nightly', true), true);
  assert.equal(await store.remove('nightly'), true);
  assert.equal(await evals(fx.client), before + 3, 'set-paused and remove were reloaded once each');
  assert.equal(await store.get('nightly'), null);
});

test('maintenance scripts are sent again after SCRIPT FLUSH', async () => {
  const queue = new Queue('reload', { connection: fx.redis.url });
  const consumer = new QueueConsumer('reload', { connection: fx.redis.url });
  fx.cleanup(() => queue.close(), () => consumer.close());
  for (const id of ['a', 'b', 'c']) {
    await queue.enqueue('noop', null, { jobId: id, keepCompleted: { ageMs: 60_000 } });
    const { jobs } = await consumer.lease('test', 1, 10_000);
    await consumer.complete([{ lease: jobs[0]!.lease, result: 'ok' }]);
  }
  await fx.client.hset('troupe:{reload}:dedupe:orphan', 'jobId', 'vanished');
  const later = Date.now() + 120_000;

  assert.equal(await fx.client.script('FLUSH'), 'OK');
  const before = await evals(fx.client);
  const dry = await runMaintenance(fx.client, { queues: ['reload'], dryRun: true }, { now: later });
  assert.deepEqual(dry.queues, { reload: { completed: 3, dead: 0, dedupe: 1 } });
  assert.equal(await evals(fx.client), before + 2, 'sweep-finished and sweep-dedupe were each sent with their source once');
  const real = await runMaintenance(fx.client, { queues: ['reload'] }, { now: later });
  assert.deepEqual(real.queues, { reload: { completed: 3, dead: 0, dedupe: 1 } });
  assert.equal(await evals(fx.client), before + 2, 'the second run went by SHA');
  assert.equal(await fx.client.zcard('troupe:{reload}:completed'), 0);
  assert.equal(await fx.client.exists('troupe:{reload}:job:a', 'troupe:{reload}:dedupe:orphan'), 0);
});
