/**
 * The built-in maintenance schedule reaches every queue whatever queue or supervisor created it
 * (issue 15): it names no queue, and each fire goes to a queue of the supervisor that claims it,
 * which is up by definition. Real supervisor processes on a private Redis, plus the scheduler
 * API for the recovery path (a claimer that died between claim and enqueue).
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Redis } from 'ioredis';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { fireJobId, validateSchedule } from '../src/scheduler/spec.js';
import { ScheduleStore } from '../src/scheduler/store.js';
import { createLogger } from '../src/supervisor/logger.js';
import { Registry } from '../src/supervisor/registry.js';
import { eventually, SupervisorProcess } from './helpers/supervisor-process.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();
beforeEach(async () => {
  await fx.runCleanup();
  await fx.client.flushall();
});

const DAY = 86_400_000;
const logger = createLogger('silent');
const env = () => ({ TROUPE_REDIS_URL: fx.redis.url, TROUPE_HTTP_PORT: '0' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function supervisor(queue: string): SupervisorProcess {
  const s = new SupervisorProcess(['--queues', queue, '--threads', '1'], env());
  fx.cleanup(() => s.kill());
  return s;
}

const open = fx.openQueue;

/** The latest 03:00 UTC at or before `now`: the fire a run-once schedule makes up at start. */
function latest0300(now: number): number {
  const today = Math.floor(now / DAY) * DAY + 3 * 3_600_000;
  return today <= now ? today : today - DAY;
}

test('created by a supervisor on queue A, fired and run by the only supervisor up, on queue B', async () => {
  const a = supervisor('qa');
  await a.started();
  const store = new ScheduleStore(fx.client);
  await eventually(async () => (await store.get('maintenance')) ?? undefined, 5000, 'the built-in schedule');
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0);

  // Two days pass with no supervisor up: the schedule's run-once policy makes up the latest fire
  // when one starts (the same path as a daily fire, without waiting for 03:00).
  await fx.client.hset('troupe:{schedules}:schedule:maintenance', 'activeSince', Date.now() - 2 * DAY, 'createdAt', Date.now() - 2 * DAY);
  const b = supervisor('qb');
  await b.started();
  const id = fireJobId('maintenance', latest0300(Date.now()));
  const job = await eventually(async () => {
    const found = await open('qb').getJob(id);
    return found?.state === 'completed' ? found : undefined;
  }, 15_000, `${id} to complete on queue qb`);
  assert.equal(job.processor, 'maintenance');
  assert.equal(await open('qa').getJob(id), null, 'nothing went to queue A, which no supervisor serves');
  await b.waitForLog((l) => l.jobId === id && /^maintenance removed \d+ item/.test(l.msg));
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
});

test('a built-in schedule stored by an older version on the demo queue is re-targeted at start; one people set is left alone', async () => {
  const old = validateSchedule({ name: 'maintenance', daily: '03:00', timezone: 'UTC', queue: 'troupe-demo', processor: 'maintenance', data: {}, options: { attempts: 2 }, missed: 'run-once' });
  const store = new ScheduleStore(fx.client);
  await store.save(old, 'builtin', 'ensure');
  const own = validateSchedule({ name: 'reports-maint', daily: '04:00', queue: 'ops', processor: 'maintenance' });
  await store.save({ ...own, name: 'maintenance' }, 'cli', 'replace');
  // The CLI's definition is kept by a start (declared schedules are written before "supervisor started")...
  const first = supervisor('qb');
  await first.started();
  assert.equal((await store.get('maintenance'))!.queue, 'ops');
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  // ...while the older version's built-in one is replaced.
  await store.remove('maintenance');
  await store.save(old, 'builtin', 'ensure');
  const second = supervisor('qb');
  await second.started();
  const stored = await eventually(async () => {
    const s = await store.get('maintenance');
    return s && s.queue !== 'troupe-demo' ? s : undefined;
  }, 5000, 'the built-in schedule to be re-targeted');
  assert.deepEqual([stored.queue, stored.source, stored.when], ['*', 'builtin', 'daily at 03:00']);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

function scheduler(owner: string, queues?: string[]): Scheduler {
  const connection = new Redis(fx.redis.url, { maxRetriesPerRequest: null });
  const s = new Scheduler({ connection, owner, logger, pollMs: 200, ...(queues ? { queues } : {}) });
  fx.cleanup(async () => {
    await s.stop();
    connection.disconnect();
  });
  return s;
}

test('an any-queue schedule fires onto the claimer\'s first queue; a scheduler that serves no queue leaves it to others', async () => {
  const store = new ScheduleStore(fx.client);
  const withQueues = scheduler('b', ['qb', 'qc']);
  const without = scheduler('none');
  await Promise.all([withQueues.start(), without.start()]);
  await store.save(validateSchedule({ name: 'tick', cron: '* * * * * *', queue: '*', processor: 'noop' }), 'api');
  const qb = open('qb');
  await eventually(async () => (await qb.listJobs('pending')).length >= 3 && true, 6000, 'three fires on qb');
  await store.setPaused('tick', true);
  await sleep(300);
  assert.equal(without.stats.claimed + without.stats.taken, 0, 'the queue-less scheduler never tried a fire');
  assert.equal((await open('qc').listJobs('pending')).length, 0, 'only the first queue');
  assert.equal(withQueues.stats.claimed, (await qb.listJobs('pending')).length);
});

test('a fire of an any-queue schedule whose claimer died is recovered onto the recorded queue if a live supervisor serves it, else onto the rescuer\'s', async () => {
  const claimedAt = Date.now() - 40_000;
  const ghost = new ScheduleStore(fx.client, () => claimedAt);
  await ghost.save(validateSchedule({ name: 'any', daily: '02:30', queue: '*', processor: 'noop' }), 'api');
  const stored = (await ghost.get('any'))!;
  const served = Date.UTC(2024, 0, 1, 2, 30);
  const orphaned = Date.UTC(2024, 0, 2, 2, 30);
  // Claimed onto qa (a live supervisor serves it) and onto gone (none does).
  assert.equal(await ghost.claim(stored, served, 'ghost', 'qa'), 'claimed');
  assert.equal(await ghost.claim(stored, orphaned, 'ghost', 'gone'), 'claimed');
  const alive = new Registry(fx.client, 'alive:1:aa', 60_000, () => ({ threads: 1, queues: ['qa'], inFlight: 0, held: 0, completed: 0, failed: 0, dead: 0, timedOut: 0, leaseLost: 0, threadRestarts: 0 }), logger);
  await alive.start();
  fx.cleanup(() => alive.stop());

  const rescuer = scheduler('rescuer', ['qr']);
  await rescuer.start();
  await eventually(async () => (await ghost.pending()).length === 0, 5000, 'both fires recovered');
  assert.ok(await open('qa').getJob(fireJobId('any', served)), 'the recorded queue, served by a live supervisor, gets its fire (same id: no second job if the claimer was only slow)');
  assert.ok(await open('qr').getJob(fireJobId('any', orphaned)), 'the rescuer takes the fire whose queue nobody serves');
  assert.equal(await open('qr').getJob(fireJobId('any', served)), null);
  assert.equal(rescuer.stats.recovered, 2);
});
