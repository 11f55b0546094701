import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Queue } from '../src/index.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, PLUGIN_DIR, readRecord, SupervisorProcess } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function setup(label: string): Promise<{ redis: PrivateRedis; queue: Queue; record: string; dir: string }> {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const dir = mkdtempSync(join(tmpdir(), `troupe-${label}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const queue = new Queue('work', { connection: redis.url });
  cleanup.push(() => queue.close());
  return { redis, queue, record: join(dir, 'runs.txt'), dir };
}

function supervisor(redisUrl: string, record: string, extra: string[] = []): SupervisorProcess {
  const s = new SupervisorProcess(['--queues', 'work', '--threads', '2', '--plugin', join(PLUGIN_DIR, 'record.mjs'), ...extra], {
    TROUPE_REDIS_URL: redisUrl,
    TROUPE_TEST_RECORD: record,
  });
  cleanup.push(() => s.kill());
  return s;
}

test('5,000 jobs over two supervisor processes complete exactly once', async () => {
  const { redis, queue, record } = await setup('once');
  const a = supervisor(redis.url, record);
  const b = supervisor(redis.url, record);
  await Promise.all([a.started(), b.started()]);
  const total = 5000;
  const jobs = Array.from({ length: total }, (_, i) => ({ processor: 'record', data: { i }, options: { keepCompleted: { count: total } } }));
  await queue.enqueueMany(jobs);
  await eventually(async () => (await queue.counts()).completed === total, 60_000, 'all jobs completed');

  const runs = readRecord(record);
  assert.equal(runs.length, total, 'one run per job');
  assert.equal(new Set(runs.map((r) => r.id)).size, total, 'no job ran twice');
  const pids = new Set(runs.map((r) => r.pid));
  assert.deepEqual(pids, new Set([a.pid, b.pid]), 'both supervisors took work');
  const counts = await queue.counts();
  assert.equal(counts.dead + counts.pending + counts.active + counts.delayed, 0);

  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
});

test('kill -9 of one of two supervisors holding jobs: all complete, doubles only where a lease was lost', async (t) => {
  const { redis, queue, record } = await setup('kill9');
  // Short leases so the dead supervisor's jobs come back quickly.
  const timing = ['--lease-ms', '1500', '--heartbeat-ms', '300'];
  const victim = supervisor(redis.url, record, timing);
  const survivor = supervisor(redis.url, record, timing);
  await Promise.all([victim.started(), survivor.started()]);
  const total = 600;
  await queue.enqueueMany(Array.from({ length: total }, (_, i) => ({ processor: 'record', data: { i, ms: 20 }, options: { keepCompleted: { count: total }, attempts: 5 } })));

  // Kill it while it holds jobs: once it has run some, it holds running and prefetched ones.
  await eventually(async () => readRecord(record).filter((r) => r.pid === victim.pid).length >= 20, 30_000, 'the victim to run jobs');
  victim.child.kill('SIGKILL');
  await victim.exited;

  await eventually(async () => (await queue.counts()).completed === total, 60_000, 'all jobs completed after the kill');
  const runs = readRecord(record);
  const perJob = new Map<string, number>();
  for (const r of runs) perJob.set(r.id, (perJob.get(r.id) ?? 0) + 1);
  assert.equal(perJob.size, total, 'every job ran');
  const doubled = [...perJob].filter(([, n]) => n > 1).map(([id]) => id);
  const jobs = await queue.listJobs('completed', { limit: total });
  assert.equal(jobs.length, total);
  const expired = new Set(jobs.filter((j) => j.leaseExpiries > 0).map((j) => j.id));
  assert.ok(expired.size > 0, 'the victim held leases that expired and were reclaimed');
  for (const id of doubled) assert.ok(expired.has(id), `job ${id} ran twice but its lease never expired`);
  // The count is part of the contract: report it where the test output shows it.
  t.diagnostic(`kill -9: ${expired.size} leases reclaimed, ${doubled.length} jobs ran twice (their first run died with the victim)`);

  survivor.child.kill('SIGTERM');
  assert.equal(await survivor.exited, 0);
});
