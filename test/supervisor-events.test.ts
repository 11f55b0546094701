import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from '../src/index.js';
import { defaultConfig } from '../src/supervisor/config.js';
import type { Disposition, RunEnd } from '../src/supervisor/events.js';
import { createLogger } from '../src/supervisor/logger.js';
import { loadProcessorTable } from '../src/supervisor/processor-table.js';
import type { SupervisorService } from '../src/supervisor/service.js';
import { Supervisor } from '../src/supervisor/supervisor.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually } from './helpers/supervisor-process.js';

let redis: PrivateRedis;
before(async () => {
  redis = await startPrivateRedis();
});
after(async () => {
  await redis.destroy();
});

test('an embedded supervisor reports every job through its events, runs its services in order, and shows its status', async () => {
  const calls: string[] = [];
  const service = (name: string) => (): SupervisorService => ({
    name,
    start: async () => void calls.push(`start ${name}`),
    stop: async () => void calls.push(`stop ${name}`),
  });
  const config = { ...defaultConfig(), redisUrl: redis.url, queues: ['events'], threads: 2, heartbeatMs: 200, leaseMs: 2000 };
  const supervisor = new Supervisor({
    config,
    logger: createLogger('silent'),
    processors: await loadProcessorTable([], process.cwd()),
    services: [service('a'), service('b')],
  });
  const leased: number[] = [];
  const ran = new Map<RunEnd, number>();
  const settled = new Map<Disposition, number>();
  let renewals = 0;
  supervisor.events.on('leased', ({ jobs, at }) => {
    for (const job of jobs) leased.push(at - Math.max(job.enqueuedAt, job.dueAt));
  });
  supervisor.events.on('ran', ({ end }) => ran.set(end, (ran.get(end) ?? 0) + 1));
  supervisor.events.on('settled', ({ disposition }) => settled.set(disposition, (settled.get(disposition) ?? 0) + 1));
  supervisor.events.on('renewed', () => void (renewals += 1));

  await supervisor.start();
  assert.deepEqual(calls, ['start a', 'start b']);
  const queue = new Queue('events', { connection: redis.url });
  try {
    await queue.enqueueMany([
      ...Array.from({ length: 100 }, (_, i) => ({ processor: 'echo', data: i })),
      { processor: 'fail', data: { mode: 'throw' }, options: { attempts: 2, backoff: [0] } },
      { processor: 'sleep', data: { ms: 700 } },
    ]);
    const during = await eventually(async () => {
      const s = supervisor.status();
      // busy counts a thread once it has picked the task up (the I/O thread starts on first use).
      return s.inFlight.some((j) => j.processor === 'sleep' && j.state === 'running') && s.threads.busy >= 1 ? s : undefined;
    }, 10_000, 'the sleep job to be running on a thread');
    assert.equal(during.threads.total, 3, 'two CPU threads and the I/O thread the sleep runs on');
    assert.deepEqual(during.queues, ['events']);
    await eventually(async () => {
      const c = await queue.counts();
      return c.completed === 101 && c.dead === 1;
    }, 20_000, 'all jobs finished');
    await eventually(async () => (settled.get('dead') ?? 0) === 1, 5000, 'the dead settlement');

    assert.equal(leased.length, 103, 'one lease per run: 102 jobs, the failing one twice');
    assert.ok(leased.every((w) => w >= 0), 'waits are never negative');
    assert.deepEqual(Object.fromEntries(ran), { completed: 101, failed: 2 });
    assert.deepEqual(Object.fromEntries(settled), { completed: 101, retried: 1, dead: 1 });
    assert.ok(renewals >= 1, 'the sleeping job was renewed at least once');
  } finally {
    await queue.close();
    await supervisor.stop();
  }
  assert.deepEqual(calls, ['start a', 'start b', 'stop b', 'stop a']);
  assert.equal(supervisor.status().shuttingDown, true);
});

test('renewals racing completions report no lost leases: a lease gone because its job finished is not lost', async () => {
  // A heartbeat this short puts a renewal call in flight beside almost every completion write,
  // so a finished job's lease is regularly "gone" when the renewal reaches Redis.
  const config = { ...defaultConfig(), redisUrl: redis.url, queues: ['renew-race'], threads: 2, heartbeatMs: 5, leaseMs: 5000 };
  const supervisor = new Supervisor({ config, logger: createLogger('silent'), processors: await loadProcessorTable([], process.cwd()), services: [] });
  let renewalsWithLeases = 0;
  let reportedLost = 0;
  supervisor.events.on('renewed', ({ lost }) => {
    renewalsWithLeases += 1;
    reportedLost += lost;
  });
  let settled = 0;
  supervisor.events.on('settled', () => void (settled += 1));
  const queue = new Queue('renew-race', { connection: redis.url });
  try {
    await supervisor.start();
    const jobs = 1500;
    // Jobs of about 2 ms, so many are held while renewals run.
    await queue.enqueueMany(Array.from({ length: jobs }, () => ({ processor: 'cpu', data: { ms: 2 } })));
    await eventually(async () => (settled >= jobs ? true : undefined), 60_000, 'every job to settle');
    assert.ok(renewalsWithLeases > 20, `renewals ran beside the jobs (${renewalsWithLeases})`);
    assert.equal(reportedLost, 0);
    assert.equal(supervisor.stats.leaseLost, 0);
    assert.equal((await queue.counts()).completed, jobs);
  } finally {
    await supervisor.stop();
    await queue.close();
  }
});
