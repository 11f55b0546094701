import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue, QueueConsumer } from '../src/index.js';
import { maintenance, registryEntryKey, REGISTRY_INDEX_KEY, runMaintenance } from '../src/processors/maintenance.js';
import { REGISTRY_KEY, supervisorKey } from '../src/supervisor/registry.js';
import { SupervisorProcess } from './helpers/supervisor-process.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();

function clients(name: string) {
  const queue = new Queue(name, { connection: fx.redis.url });
  const consumer = new QueueConsumer(name, { connection: fx.redis.url });
  fx.cleanup(() => queue.close(), () => consumer.close());
  return { queue, consumer };
}

/** Enqueue, lease and complete (or fail for good) one job at a time, so each finish is its own call. */
async function finish(q: ReturnType<typeof clients>, jobs: Array<{ id: string; options?: Record<string, unknown>; fail?: boolean }>): Promise<void> {
  for (const job of jobs) {
    await q.queue.enqueue('noop', null, { ...job.options, jobId: job.id });
    const { jobs: leased } = await q.consumer.lease('test', 1, 10_000);
    const lease = leased[0]!;
    if (job.fail) await q.consumer.fail([{ job: lease, error: new Error('no'), unrecoverable: true }]);
    else await q.consumer.complete([{ lease: lease.lease, result: 'ok' }]);
  }
}

test('the registry key names agree with the supervisor\'s (the processor may not import it)', () => {
  assert.equal(REGISTRY_INDEX_KEY, REGISTRY_KEY);
  assert.equal(registryEntryKey('host:1:ab'), supervisorKey('host:1:ab'));
});

test('maintenance removes finished jobs past their retention, stale dedupe entries and long-gone supervisors, and reports them', async () => {
  const m = clients('maint');
  const minute = { keepCompleted: { ageMs: 60_000 } };
  await finish(m, [
    // First: finishing it trims the whole set to its count, which would take the others along.
    { id: 'count-1', options: { keepCompleted: { count: 1 } } },
    { id: 'old-1', options: minute },
    { id: 'old-2', options: minute },
    { id: 'kept-1' },
    { id: 'kept-2' },
    { id: 'dead-1', options: { keepDead: { ageMs: 60_000 } }, fail: true },
    { id: 'dead-kept', fail: true },
    { id: 'cached', options: { dedupeKey: 'lost-ttl', resultTtlMs: 30_000 } },
    { id: 'cached-ok', options: { dedupeKey: 'with-ttl', resultTtlMs: 3_600_000 } },
  ]);
  await m.queue.enqueue('noop', null, { jobId: 'waiting', dedupeKey: 'in-flight' });
  // What nothing else would remove: an index entry without its job, a cached result whose TTL
  // was lost, an in-flight marker for a job that is gone.
  await fx.client.zadd('troupe:{maint}:completed', Date.now(), 'ghost');
  await fx.client.persist('troupe:{maint}:dedupe:lost-ttl');
  await fx.client.hset('troupe:{maint}:dedupe:orphan', 'jobId', 'vanished');
  const now = Date.now();
  await fx.client.zadd(REGISTRY_INDEX_KEY, now - 2 * 3_600_000, 'gone:1:aa', now, 'alive:2:bb', now, 'expired:3:cc');
  await fx.client.hset(registryEntryKey('gone:1:aa'), 'id', 'gone:1:aa', 'heartbeatAt', now - 2 * 3_600_000);
  await fx.client.hset(registryEntryKey('alive:2:bb'), 'id', 'alive:2:bb', 'heartbeatAt', now);

  const later = now + 2 * 60_000;
  const expected = { completed: 4, dead: 1, dedupe: 2 };
  const dry = await runMaintenance(fx.client, { dryRun: true }, { now: later });
  assert.deepEqual(dry.queues, { maint: expected });
  assert.equal(dry.supervisors, 2);
  assert.equal(dry.removed, 9);
  assert.equal(dry.dryRun, true);
  assert.equal(await fx.client.zcard('troupe:{maint}:completed'), 8, 'a dry run removes nothing');

  const report = await runMaintenance(fx.client, {}, { now: later });
  assert.deepEqual({ ...report, tookMs: 0 }, { queues: { maint: expected }, supervisors: 2, removed: 9, dryRun: false, tookMs: 0 });
  assert.deepEqual((await fx.client.zrange('troupe:{maint}:completed', '0', '-1')).sort(), ['cached', 'cached-ok', 'kept-1', 'kept-2']);
  assert.equal(await fx.client.exists('troupe:{maint}:job:old-1'), 0);
  assert.deepEqual((await m.queue.listJobs('dead')).map((j) => j.id), ['dead-kept']);
  assert.equal(await fx.client.exists('troupe:{maint}:dedupe:lost-ttl', 'troupe:{maint}:dedupe:orphan'), 0);
  assert.equal(await fx.client.exists('troupe:{maint}:dedupe:with-ttl', 'troupe:{maint}:dedupe:in-flight'), 2);
  assert.deepEqual(await fx.client.zrange(REGISTRY_INDEX_KEY, '0', '-1'), ['alive:2:bb']);
  assert.equal(await fx.client.exists(registryEntryKey('gone:1:aa')), 0);

  const again = await runMaintenance(fx.client, {}, { now: later });
  assert.deepEqual([again.removed, again.queues], [0, {}], 'a second run finds nothing');
});

test('the processor checks its input', () => {
  const cases: Array<[unknown, RegExp | undefined]> = [
    [undefined, undefined],
    [{}, undefined],
    [{ queues: ['a'], supervisorGoneMs: 60_000, dryRun: true }, undefined],
    [[1], /data must be an object/],
    [{ queue: 'a' }, /data\.queue is not a setting/],
    [{ queues: ['a b'] }, /data\.queues must be a list of queue names/],
    [{ supervisorGoneMs: 5 }, /at least 60000/],
    [{ dryRun: 'yes' }, /data\.dryRun must be true or false/],
  ];
  for (const [input, problem] of cases) {
    const answer = maintenance.validate!(input);
    if (problem) assert.match(String(answer), problem);
    else assert.equal(answer, undefined, JSON.stringify(input));
  }
});

test('a maintenance job runs on a supervisor\'s thread with the supervisor\'s Redis and returns its report', async () => {
  const s = new SupervisorProcess(['--queues', 'maint-run', '--threads', '1', '--no-scheduler'], { TROUPE_REDIS_URL: fx.redis.url, TROUPE_HTTP_PORT: '0' });
  fx.cleanup(() => s.kill());
  await s.started();
  const { queue } = clients('maint-run');
  const { id } = await queue.enqueue('maintenance', { dryRun: true, queues: ['maint-run'] });
  const report = (await queue.waitForResult(id, { timeoutMs: 15_000 })) as { dryRun: boolean; removed: number };
  assert.equal(report.dryRun, true);
  assert.equal(typeof report.removed, 'number');
  await s.waitForLog((l) => l.jobId === id && /^maintenance would remove \d+ item/.test(l.msg));
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});
