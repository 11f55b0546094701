/**
 * The proof: three real supervisor processes, each running the scheduler, and a
 * per-second schedule added at run time with the CLI. For about 10 s every second gets exactly
 * one job, ids are unique, and no second in between is missing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../src/index.js';
import { JOB_STATES } from '../src/queue/keys.js';
import { eventually, runCli, SupervisorProcess } from './helpers/supervisor-process.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('three supervisors and a per-second schedule for 10 s: exactly one job per second', async (t) => {
  const env = { TROUPE_REDIS_URL: fx.redis.url, TROUPE_HTTP_PORT: '0' };
  const supervisors = Array.from({ length: 3 }, () => {
    const s = new SupervisorProcess(['--queues', 'ticks', '--threads', '1'], { ...env, TROUPE_LOG_LEVEL: 'debug' });
    fx.cleanup(() => s.kill());
    return s;
  });
  await Promise.all(supervisors.map((s) => s.started()));
  const queue = new Queue('ticks', { connection: fx.redis.url });
  fx.cleanup(() => queue.close());

  const added = await runCli(['schedule', 'add', 'ticks', '--cron', '* * * * * *', '--queue', 'ticks', '--processor', 'noop'], env);
  assert.equal(added.code, 0, added.stderr);
  await Promise.all(supervisors.map((s) => s.waitForLog((l) => l.msg === 'schedule active' && l.schedule === 'ticks', 5000)));
  await sleep(10_000);
  const paused = await runCli(['schedule', 'pause', 'ticks'], env);
  assert.equal(paused.code, 0, paused.stderr);
  // Let a fire in flight when the pause landed finish being written.
  await sleep(1500);

  const ids: string[] = [];
  for (const state of JOB_STATES) ids.push(...(await queue.listJobs(state, { limit: 10_000 })).map((j) => j.id));
  const tickIds = ids.filter((id) => id.startsWith('ticks@'));
  assert.equal(tickIds.length, ids.length, `only scheduled jobs in the queue: ${ids.join(' ')}`);
  assert.equal(new Set(tickIds).size, tickIds.length, 'ids are unique');
  const seconds = tickIds.map((id) => Date.parse(id.slice('ticks@'.length)) / 1000).sort((a, b) => a - b);
  assert.ok(seconds.length >= 9 && seconds.length <= 13, `about 10 s of fires, got ${seconds.length}`);
  for (let i = 1; i < seconds.length; i++) {
    assert.equal(seconds[i]! - seconds[i - 1]!, 1, `one job for each second between the first and the last (${seconds.join(', ')})`);
  }

  // Every supervisor took part in every fire: it either claimed it or found it claimed.
  const count = (s: SupervisorProcess, msg: string) => s.logs.filter((l) => l.msg === msg && l.schedule === 'ticks').length;
  const fired = supervisors.map((s) => count(s, 'schedule fired'));
  const taken = supervisors.map((s) => count(s, 'schedule fire taken by another supervisor'));
  t.diagnostic(`${tickIds.length} fires; claimed per supervisor ${fired.join('/')}, found taken ${taken.join('/')}`);
  assert.equal(fired.reduce((a, b) => a + b, 0), tickIds.length, 'one claim per job across the three');
  supervisors.forEach((_, i) => assert.ok(fired[i]! + taken[i]! >= tickIds.length - 2, `supervisor ${i} saw the fires: fired ${fired}, taken ${taken}`));

  for (const s of supervisors) s.child.kill('SIGTERM');
  for (const s of supervisors) assert.equal(await s.exited, 0);
  const completed = await eventually(async () => {
    const c = await queue.counts();
    return c.completed + c.pending + c.active + c.dead === tickIds.length ? c : undefined;
  }, 5000, 'the counts to settle');
  assert.equal(completed.dead, 0);
});
