import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Queue, QueueConsumer } from '../src/index.js';
import { manualClock, SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  await Promise.all(open.map((c) => c.close()));
});

test('a resource signal pauses the queue for everyone, grows on repeats, caps, and resets on success', async () => {
  const clock = manualClock();
  const name = uniqueQueue('resource');
  const queue = new Queue(name, { connection: SHARED_REDIS_URL, clock });
  const consumer = new QueueConsumer(name, { connection: SHARED_REDIS_URL, clock });
  const other = new QueueConsumer(name, { connection: SHARED_REDIS_URL, clock });
  open.push(queue, consumer, other);
  const options = { firstPauseMs: 1000, maxPauseMs: 4000, factor: 1.5, reason: 'quota exceeded' };
  const { id } = await queue.enqueue('noop', null, { attempts: 1 });

  const signal = async () => {
    const { jobs } = await consumer.lease('a', 1, 60_000);
    assert.equal(jobs.length, 1);
    return consumer.pauseForResource(jobs[0]!, options);
  };

  const durations: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = clock();
    const outcome = await signal();
    assert.equal(outcome.lost, false);
    durations.push(outcome.pausedUntil - start);
    const job = await queue.getJob(id);
    assert.equal(job!.state, 'pending');
    assert.equal(job!.attempts, 0, 'no attempt used, so a 1-attempt job never dies of it');
    const blocked = await other.lease('b', 10, 60_000);
    assert.deepEqual([blocked.jobs.length, blocked.paused, blocked.resourcePausedUntil], [0, true, outcome.pausedUntil], 'every supervisor is held off');
    const counts = await queue.counts();
    assert.deepEqual(counts.resourcePause, { until: outcome.pausedUntil, reason: 'quota exceeded', level: i });
    clock.set(outcome.pausedUntil);
  }
  assert.deepEqual(durations, [1000, 1500, 2250, 3375, 4000]);

  // Jobs leased before the pause that signal during it only go back; the pause does not grow.
  await queue.enqueue('noop', null);
  const { jobs } = await consumer.lease('a', 2, 60_000);
  assert.equal(jobs.length, 2);
  const first = await consumer.pauseForResource(jobs[0]!, options);
  clock.advance(10);
  const second = await consumer.pauseForResource(jobs[1]!, options);
  assert.deepEqual([second.pausedUntil, second.level], [first.pausedUntil, first.level]);
  assert.equal((await queue.counts()).pending, 2, 'both jobs handed back');

  // The first success afterwards resets the growth.
  clock.set(first.pausedUntil);
  const ok = await consumer.lease('a', 1, 60_000);
  await consumer.complete([{ lease: ok.jobs[0]!.lease, result: 'done' }]);
  const again = await signal();
  assert.equal(again.pausedUntil - clock(), 1000, 'back to the first pause length');

  // An operator's resume lifts it at once.
  await queue.resume();
  assert.equal((await queue.counts()).resourcePause, null);
  assert.equal((await other.lease('b', 10, 60_000)).jobs.length, 1);
});
