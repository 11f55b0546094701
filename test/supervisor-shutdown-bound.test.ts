/**
 * --shutdown-timeout-ms bounds the whole graceful shutdown, Redis or not: with Redis paused or
 * gone, a supervisor asked to stop gives up the writes it cannot make at the deadline, says so
 * in one line, and exits 3; the jobs it could not settle come back by lease expiry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../src/index.js';
import { shutdownBudget } from '../src/supervisor/supervisor.js';
import { startPrivateRedis } from './helpers/redis-server.js';
import { eventually, SupervisorProcess } from './helpers/supervisor-process.js';

const TIMEOUT_MS = 2000;

for (const outage of ['paused (SIGSTOP)', 'stopped'] as const) {
  test(`Redis ${outage} during a shutdown: it ends by --shutdown-timeout-ms with exit 3 and one line saying what was left`, async (t) => {
    // AOF on, so a stopped Redis comes back with the job.
    const redis = await startPrivateRedis({ aof: true });
    t.after(() => redis.destroy());
    const queue = new Queue('bound', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    t.after(() => queue.close());
    const s = new SupervisorProcess(['--queues', 'bound', '--threads', '1', '--shutdown-timeout-ms', String(TIMEOUT_MS), '--lease-ms', '5000', '--heartbeat-ms', '1000', '--http-port', '0'], {
      TROUPE_REDIS_URL: redis.url,
    });
    t.after(() => s.kill());
    await s.started();
    const { id } = await queue.enqueue('cpu', { ms: 300 });
    await eventually(async () => (await queue.getJob(id))?.state === 'active', 10_000, 'the job to run');
    if (outage === 'stopped') await redis.stop();
    else redis.pause();
    s.child.kill('SIGTERM');
    // Generous: the point is that it ends at all (before: still running long after the timeout).
    const code = await Promise.race([s.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), TIMEOUT_MS + 10_000))]);
    assert.equal(code, 3, `exit code; last lines:\n${s.logs.slice(-5).map((l) => JSON.stringify(l)).join('\n')}`);
    const gaveUp = s.logs.filter((l) => String(l.msg).startsWith('shutdown gave up'));
    assert.equal(gaveUp.length, 1, 'one line says so');
    assert.equal(gaveUp[0]!.unwritten, 1, 'the finished job whose outcome Redis never took');
    assert.ok(Array.isArray(gaveUp[0]!.cut) && (gaveUp[0]!.cut as string[]).includes('write outcomes'));
    const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
    assert.equal(stopped?.complete, false);

    if (outage === 'stopped') await redis.restart();
    else redis.resume();
    const job = await queue.getJob(id);
    assert.equal(job?.state, 'active', 'left to lease expiry, as the line says');
  });
}

test('with Redis up, the same short timeout still writes every outcome and exits 0', async (t) => {
  const redis = await startPrivateRedis();
  t.after(() => redis.destroy());
  const queue = new Queue('bound-ok', { connection: redis.url });
  t.after(() => queue.close());
  const s = new SupervisorProcess(['--queues', 'bound-ok', '--threads', '1', '--shutdown-timeout-ms', String(TIMEOUT_MS), '--http-port', '0'], { TROUPE_REDIS_URL: redis.url });
  t.after(() => s.kill());
  await s.started();
  const { id } = await queue.enqueue('sleep', { ms: 60_000 });
  await eventually(async () => (await queue.getJob(id))?.state === 'active', 10_000, 'the job to run');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const job = await queue.getJob(id);
  assert.equal(job?.state, 'pending', 'stopped at the jobs\' share of the timeout and handed back for a retry');
  assert.equal(job?.error?.code, 'SHUTDOWN');
});

test('the budget: running jobs get the timeout less a quarter (1 to 5 s) kept for writing; the whole fits the timeout', () => {
  assert.deepEqual(shutdownBudget(30_000), { jobsMs: 25_000, wholeMs: 30_000 });
  assert.deepEqual(shutdownBudget(8_000), { jobsMs: 6_000, wholeMs: 8_000 });
  assert.deepEqual(shutdownBudget(2_000), { jobsMs: 1_000, wholeMs: 2_000 });
  assert.deepEqual(shutdownBudget(300), { jobsMs: 0, wholeMs: 1_000 }, 'a timeout below the reserve stops running jobs at once');
  assert.deepEqual(shutdownBudget(0), { jobsMs: 0, wholeMs: 1_000 });
});
