import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, PLUGIN_DIR, SupervisorProcess } from './helpers/supervisor-process.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { freePort } from './helpers/redis-server.js';

const fx = usePrivateRedis();

function supervisor(queue: string, extra: string[] = []): SupervisorProcess {
  const s = new SupervisorProcess(['--queues', queue, '--threads', '2', ...extra], { TROUPE_REDIS_URL: fx.redis.url });
  fx.cleanup(() => s.kill());
  return s;
}

const open = fx.openQueue;

const FAULTS = [
  { mode: 'loop', what: 'loops forever (timeout 500 ms)', options: { timeoutMs: 500 }, code: 'JOB_TIMEOUT', name: 'TimeoutError' },
  { mode: 'oom', what: 'runs out of memory', options: {}, code: 'THREAD_OUT_OF_MEMORY', name: 'ThreadCrashError' },
  { mode: 'exit', what: 'calls process.exit', options: {}, code: 'THREAD_CRASHED', name: 'ThreadCrashError' },
  { mode: 'crash', what: 'throws outside the job', options: {}, code: 'THREAD_CRASHED', name: 'ThreadCrashError' },
] as const;

for (const fault of FAULTS) {
  test(`a job that ${fault.what} is stopped, retried, then dead with ${fault.code}; other jobs complete`, async () => {
    const name = `fault-${fault.mode}`;
    const queue = open(name);
    const s = supervisor(name, ['--max-memory-mb', '64']);
    await s.started();
    const bad = await queue.enqueue('fail', { mode: fault.mode }, { ...fault.options, attempts: 2, backoff: [0] });
    const good = await queue.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ processor: 'echo', data: i })));

    const job = await eventually(async () => {
      const j = await queue.getJob(bad.id);
      return j?.state === 'dead' ? j : undefined;
    }, 30_000, `the ${fault.mode} job to be dead`);
    assert.equal(job.attempts, 2, 'it was retried once');
    assert.equal(job.error?.code, fault.code);
    assert.equal(job.error?.name, fault.name);
    assert.deepEqual(job.errors.map((e) => e.code), [fault.code, fault.code]);
    if (fault.mode === 'loop') {
      // The limit plus the kill grace, measured on the job's own clock (from its start).
      assert.ok(job.finishedAt! - job.startedAt! < 1500, `stopped ${job.finishedAt! - job.startedAt!} ms after its start`);
    }
    await eventually(async () => (await queue.counts()).completed === good.length, 30_000, 'the other jobs to complete');

    // The pool replaced the thread and still serves.
    const after = await queue.enqueue('echo', 'still alive');
    assert.equal(await queue.waitForResult(after.id, { timeoutMs: 20_000 }), 'still alive');
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
    assert.ok(stopped, 'clean shutdown logged');
    if (fault.mode === 'loop') assert.equal(stopped.timedOut, 2);
    // Both runs took their thread down; the one restart counter (registry, /status, logs) saw both.
    assert.ok(Number(stopped.threadRestarts) >= 2, `threadRestarts: ${String(stopped.threadRestarts)}`);
  });
}

test('a processor that leaks on every job runs 20,000 jobs with RSS bounded by recycling', async (t) => {
  const name = 'leak';
  const queue = open(name);
  // 64 KiB leaked per job: 20,000 jobs would hold ~1.25 GiB (plus string overhead) without recycling.
  const s = supervisor(name, ['--plugin', join(PLUGIN_DIR, 'leak.mjs'), '--max-jobs-per-thread', '1000', '--max-memory-mb', '256']);
  await s.started();
  const total = 20_000;
  for (let i = 0; i < total; i += 1000) {
    await queue.enqueueMany(Array.from({ length: 1000 }, () => ({ processor: 'leak', data: { kb: 64 }, options: { keepCompleted: { count: 100 } } })));
  }
  let maxRss = 0;
  await eventually(async () => {
    maxRss = Math.max(maxRss, s.rssMb());
    const c = await queue.counts();
    return c.pending + c.active + c.delayed === 0 && c.dead === 0 ? c : undefined;
  }, 180_000, 'all leak jobs to finish');
  const BOUND_MB = 450;
  t.diagnostic(`peak supervisor RSS ${maxRss.toFixed(0)} MiB over ${total} leaking jobs (bound ${BOUND_MB} MiB)`);
  assert.ok(maxRss < BOUND_MB, `RSS peaked at ${maxRss.toFixed(0)} MiB, over the ${BOUND_MB} MiB bound`);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
  assert.ok(Number(stopped?.threadsRetired) >= 15, `threads retired: ${String(stopped?.threadsRetired)}`);
  assert.equal(stopped?.threadRestarts, 0, 'a retirement is not a restart, nor is closing the pool');
  assert.equal(stopped?.completed, total);
});

test("a time limit from --job-timeout-ms is reported as the supervisor's default, not as the job's own", async () => {
  const name = 'default-limit';
  const queue = open(name);
  const s = supervisor(name, ['--job-timeout-ms', '300']);
  await s.started();
  const looping = await queue.enqueue('fail', { mode: 'loop' }, { attempts: 1 });
  const dead = await eventually(async () => {
    const j = await queue.getJob(looping.id);
    return j?.state === 'dead' ? j : undefined;
  }, 20_000, 'the looping job to be dead');
  assert.equal(dead.error?.code, 'JOB_TIMEOUT');
  assert.match(dead.error?.message ?? '', /ran past its 300 ms time limit, set by the supervisor's default, and its thread was stopped; raise it with --job-timeout-ms/);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('with two tasks per thread, a timed-out job is blamed alone: its sibling on the same thread is handed back and completes', async () => {
  const name = 'siblings';
  const queue = open(name);
  const s = supervisor(name, ['--threads', '1', '--tasks-per-thread', '2']);
  await s.started();
  const sibling = await queue.enqueue('sleep', { ms: 1500 }, { attempts: 1 });
  await eventually(async () => (await queue.getJob(sibling.id))?.state === 'active', 10_000, 'the sibling to start');
  const looping = await queue.enqueue('fail', { mode: 'loop' }, { timeoutMs: 300, attempts: 1 });

  const dead = await eventually(async () => {
    const j = await queue.getJob(looping.id);
    return j?.state === 'dead' ? j : undefined;
  }, 20_000, 'the looping job to be dead');
  assert.equal(dead.error?.code, 'JOB_TIMEOUT');
  // attempts: 1 would have sent the sibling to dead too, had it been blamed.
  const done = await eventually(async () => {
    const j = await queue.getJob(sibling.id);
    return j?.state === 'completed' ? j : undefined;
  }, 20_000, 'the sibling to complete after being handed back');
  assert.equal(done.attempts, 1, 'the interrupted run did not use its only attempt');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('--max-jobs-per-thread retires threads between tasks: no job handed back or leased twice, no crash logged, counted as retirements', async () => {
  const name = 'recycle-count';
  const queue = open(name);
  const httpPort = await freePort();
  const s = supervisor(name, ['--threads', '1', '--max-jobs-per-thread', '5', '--http-port', String(httpPort)]);
  await s.started();
  const jobs = await queue.enqueueMany(Array.from({ length: 20 }, () => ({ processor: 'cpu', data: { ms: 20 } })));
  await eventually(async () => (await queue.counts()).completed === jobs.length, 30_000, 'all jobs completed');
  const metrics = await eventually(async () => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const retired = Number(/^troupe_threads_retired_total (\d+)$/m.exec(text)?.[1]);
    return retired >= 3 ? text : undefined;
  }, 10_000, 'the retirements in /metrics');
  assert.match(metrics, /^troupe_thread_restarts_total 0$/m, 'a retirement is not a restart');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  assert.equal(s.logs.filter((l) => l.msg === 'retiring thread').length >= 3, true);
  assert.deepEqual(s.logs.filter((l) => /thread died/.test(String(l.msg))).map((l) => l.msg), [], 'no retirement looks like a crash');
  const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
  assert.equal(stopped?.leased, 20, 'each job leased once: none was handed back by a retirement');
  assert.equal(stopped?.released, 0);
  assert.equal(stopped?.threadRestarts, 0);
  assert.ok(Number(stopped?.threadsRetired) >= 3, `threadsRetired: ${String(stopped?.threadsRetired)}`);
});

test('a thread whose heap stays above --recycle-heap-mb is retired between jobs', async () => {
  const name = 'heap-recycle';
  const queue = open(name);
  const s = supervisor(name, ['--threads', '1', '--plugin', join(PLUGIN_DIR, 'leak.mjs'), '--recycle-heap-mb', '40', '--max-jobs-per-task', '1']);
  await s.started();
  // 1 MiB held per job: the heap passes 40 MiB after ~40 jobs, so 200 jobs need several threads.
  const jobs = await queue.enqueueMany(Array.from({ length: 200 }, () => ({ processor: 'leak', data: { kb: 1024, mode: 'heap' }, options: { keepCompleted: { count: 1000 } } })));
  await eventually(async () => (await queue.counts()).completed === jobs.length, 60_000, 'all jobs completed');
  const retired = s.logs.filter((l) => l.msg === 'retiring thread');
  assert.ok(retired.length >= 2, `threads retired: ${retired.length}`);
  assert.match(String(retired[0]!.reason), /stayed above --recycle-heap-mb 40/);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});
