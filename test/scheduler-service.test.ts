/**
 * The scheduler loop, in process, against a private Redis and real timers: changes reach
 * running schedulers without a restart, skewed clocks never double a fire (even when the job is
 * gone at once), missed fires follow their policy, and a fire whose claimer died is recovered.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue, QueueConsumer } from '../src/index.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { fireJobId, validateSchedule, type Schedule } from '../src/scheduler/spec.js';
import { ScheduleStore } from '../src/scheduler/store.js';
import { createLogger } from '../src/supervisor/logger.js';
import { eventually } from './helpers/supervisor-process.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();
beforeEach(async () => {
  await fx.runCleanup();
  await fx.client.flushall();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger('silent');

function scheduler(name: string, options: { skewMs?: number; pollMs?: number } = {}): Scheduler {
  const connection = new Redis(fx.redis.url, { maxRetriesPerRequest: null });
  const s = new Scheduler({ connection, owner: name, logger, pollMs: options.pollMs ?? 200, clock: () => Date.now() + (options.skewMs ?? 0) });
  fx.cleanup(async () => {
    await s.stop();
    connection.disconnect();
  });
  return s;
}

const open = fx.openQueue;

function everySecond(name: string, queue: string, extra: Record<string, unknown> = {}): Schedule {
  return validateSchedule({ name, cron: '* * * * * *', queue, processor: 'noop', ...extra });
}

async function pendingIds(queue: Queue): Promise<string[]> {
  return (await queue.listJobs('pending', { limit: 10_000 })).map((j) => j.id);
}

test('schedules added, paused, resumed, changed and removed at run time reach every scheduler without a restart', async () => {
  const store = new ScheduleStore(fx.client);
  const queue = open('live');
  const a = scheduler('a');
  const b = scheduler('b');
  await Promise.all([a.start(), b.start()]);
  await store.save(everySecond('tick', 'live'), 'api');
  await eventually(async () => (await pendingIds(queue)).length >= 2 && true, 5000, 'jobs from the new schedule');
  await eventually(async () => a.active().length === 1 && b.active().length === 1, 2000, 'both schedulers to load it');

  await store.setPaused('tick', true);
  await sleep(400);
  const whilePaused = (await pendingIds(queue)).length;
  await sleep(2200);
  assert.equal((await pendingIds(queue)).length, whilePaused, 'no fires while paused');

  await store.setPaused('tick', false);
  await eventually(async () => (await pendingIds(queue)).length >= whilePaused + 2 && true, 5000, 'fires after resume');

  await store.save(everySecond('tick', 'live', { processor: 'echo', data: 'v2' }), 'api', 'replace');
  const v2 = await eventually(async () => (await queue.listJobs('pending', { limit: 10_000 })).find((j) => j.processor === 'echo'), 5000, 'a job of the new definition');
  assert.equal(v2.data, 'v2');

  await store.remove('tick');
  await sleep(400);
  const removed = (await pendingIds(queue)).length;
  await sleep(1500);
  assert.equal((await pendingIds(queue)).length, removed, 'no fires after remove');
  assert.equal(a.active().length + b.active().length, 0);

  const ids = await pendingIds(queue);
  assert.equal(new Set(ids).size, ids.length, 'ids unique');
  assert.ok(ids.every((id) => /^tick@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(id)), 'ids are <name>@<fire time>');
  assert.equal(a.stats.claimed + b.stats.claimed, ids.length, 'one claim per job');
});

test('three schedulers with skewed clocks (+1.5 s, 0, -1.5 s): one job per fire, even when each job is gone as soon as it finishes', async () => {
  const store = new ScheduleStore(fx.client);
  const consumer = new QueueConsumer('skewed', { connection: fx.redis.url });
  fx.cleanup(() => consumer.close());
  const schedulers = [scheduler('ahead', { skewMs: 1500 }), scheduler('exact'), scheduler('late', { skewMs: -1500 })];
  await Promise.all(schedulers.map((s) => s.start()));
  // Retention count 0: a finished job is deleted at once, so the id alone could not stop a late duplicate.
  await store.save(everySecond('skew', 'skewed', { options: { keepCompleted: { count: 0 } } }), 'api');

  const seen: string[] = [];
  const deadline = Date.now() + 7000;
  while (Date.now() < deadline) {
    const { jobs } = await consumer.lease('test', 100, 10_000);
    for (const job of jobs) seen.push(job.id);
    if (jobs.length > 0) await consumer.complete(jobs.map((job) => ({ lease: job.lease, result: null })));
    await sleep(50);
  }
  await store.setPaused('skew', true);
  await sleep(2000);
  const { jobs } = await consumer.lease('test', 100, 10_000);
  seen.push(...jobs.map((j) => j.id));

  assert.equal(new Set(seen).size, seen.length, `no fire made two jobs: ${seen.join(' ')}`);
  const seconds = seen.map((id) => Date.parse(id.slice(id.indexOf('@') + 1)) / 1000).sort((x, y) => x - y);
  assert.ok(seconds.length >= 6, `fires for about 7 s, got ${seconds.length}`);
  for (let i = 1; i < seconds.length; i++) assert.equal(seconds[i]! - seconds[i - 1]!, 1, 'no second skipped');
  const claimed = schedulers.reduce((sum, s) => sum + s.stats.claimed, 0);
  assert.equal(claimed, seen.length, 'one claim per job');
  const [ahead, exact, late] = schedulers.map((s) => s.stats);
  assert.equal(late!.claimed, 0, 'the late clock never claims: the fire was always taken already');
  assert.ok(late!.taken >= seen.length - 3, `the late scheduler still tried the fires (${JSON.stringify({ ahead, exact, late })})`);
});

test('missed fires: skip drops them; run-once makes one job for the latest; paused time is not missed', async () => {
  const now = Date.now();
  // An hourly minute far from now, so no fire is due during the test.
  const minute = (new Date(now).getUTCMinutes() + 30) % 60;
  const past = new ScheduleStore(fx.client, () => now - 3 * 3_600_000);
  const hourly = (name: string, missed: string) => validateSchedule({ name, hourly: minute, queue: 'missed', processor: 'noop', missed });
  await past.save(hourly('skipper', 'skip'), 'api');
  await past.save(hourly('catcher', 'run-once'), 'api');
  await past.save(hourly('resumed', 'run-once'), 'api');
  await past.setPaused('resumed', true);
  await new ScheduleStore(fx.client).setPaused('resumed', false);

  const queue = open('missed');
  // Several supervisors start at once: still one job.
  const started = [scheduler('s1'), scheduler('s2'), scheduler('s3')];
  await Promise.all(started.map((s) => s.start()));
  await sleep(500);

  const latest = new Date(now);
  latest.setUTCMinutes(minute, 0, 0);
  if (latest.getTime() > now) latest.setUTCHours(latest.getUTCHours() - 1);
  assert.deepEqual(await pendingIds(queue), [fireJobId('catcher', latest.getTime())]);
  assert.equal(started.reduce((sum, s) => sum + s.stats.missedRun, 0), 1);
  assert.equal(started.reduce((sum, s) => sum + s.stats.missedSkipped, 0), 3, 'each scheduler skipped skipper\'s missed fires');
  assert.equal((await new ScheduleStore(fx.client).get('catcher'))!.lastFire, latest.getTime());
});

test('a fire claimed by a supervisor that died before enqueueing is enqueued by another', async () => {
  const claimedAt = Date.now() - 40_000;
  const ghost = new ScheduleStore(fx.client, () => claimedAt);
  await ghost.save(validateSchedule({ name: 'orphan', daily: '02:30', queue: 'recover', processor: 'noop' }), 'api');
  const fire = Date.UTC(2024, 0, 1, 2, 30);
  assert.equal(await ghost.claim((await ghost.get('orphan'))!, fire, 'ghost'), 'claimed');

  const queue = open('recover');
  const s = scheduler('rescuer');
  await s.start();
  const job = await eventually(async () => (await queue.getJob(fireJobId('orphan', fire))) ?? undefined, 5000, 'the recovered job');
  assert.equal(job.processor, 'noop');
  assert.deepEqual(job.metadata, { schedule: 'orphan', fireAt: new Date(fire).toISOString() });
  await eventually(async () => (await ghost.pending()).length === 0, 2000, 'the pending entry to be cleared');
  assert.equal(s.stats.recovered, 1);
});
