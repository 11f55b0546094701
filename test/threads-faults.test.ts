/**
 * How each kind of thread death reaches the pool's caller: these are the exact errors the
 * supervisor classifies, so a Piscina upgrade that changes them fails here first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { job, makePool, rejection, runJobs, task, type Pool } from './fixtures/threads/pool.js';

async function stillServes(pool: Pool): Promise<void> {
  const { outcomes } = await runJobs(pool, [job('echo', 'alive')]);
  assert.deepEqual(outcomes, [{ status: 'completed', result: 'alive', followUps: [] }]);
}

describe('a thread that dies rejects its task, and the pool goes on', () => {
  let pool: Pool;
  before(() => {
    pool = makePool();
  });
  after(async () => {
    await pool.destroy();
  });

  test('crash: the uncaught error itself, cloned (name and message kept, code dropped)', async () => {
    const err = await rejection(runJobs(pool, [job('fail', { mode: 'crash', message: 'kaboom' })]));
    assert.deepEqual(err, { name: 'Error', code: undefined, message: 'kaboom', cause: undefined });
    await stillServes(pool);
  });

  test('exit: "worker exited with code: 1"', async () => {
    const err = await rejection(runJobs(pool, [job('fail', { mode: 'exit' })]));
    assert.deepEqual(err, { name: 'Error', code: undefined, message: 'worker exited with code: 1', cause: undefined });
    await stillServes(pool);
  });

  test('oom: ERR_WORKER_OUT_OF_MEMORY', async () => {
    const err = await rejection(runJobs(pool, [job('fail', { mode: 'oom' })]));
    assert.deepEqual(err, {
      name: 'Error',
      code: 'ERR_WORKER_OUT_OF_MEMORY',
      message: 'Worker terminated due to reaching memory limit: JS heap out of memory',
      cause: undefined,
    });
    await stillServes(pool);
  });

  test('loop: aborting the task rejects it with AbortError and terminates the thread', async () => {
    const controller = new AbortController();
    const { task: t, cell } = task([job('fail', { mode: 'loop' })]);
    const running = pool.run(t, { signal: controller.signal });
    const threadsBefore = pool.threads.map((w) => w.threadId);
    // Wait for the thread to enter the job, so the abort hits a running task, not a queued one.
    while (cell[0] !== 0n) await new Promise((resolve) => setTimeout(resolve, 5));
    const reason = new Error('job overstayed its limit');
    controller.abort(reason);
    const err = await rejection(running);
    assert.deepEqual(err, { name: 'AbortError', code: undefined, message: 'The task has been aborted', cause: reason });
    await stillServes(pool);
    const survivors = pool.threads.map((w) => w.threadId);
    assert.ok(threadsBefore.some((id) => !survivors.includes(id)), 'the looping thread was replaced');
  });

  test('a job in a thread-killing mode is refused in the main thread instead of killing it', async () => {
    const { fail } = await import('../src/processors/builtin.js');
    for (const mode of ['crash', 'exit', 'oom', 'loop'] as const) {
      assert.throws(
        () => fail.run({ mode }, { signal: new AbortController().signal } as never),
        { name: 'UnrecoverableError', message: `fail: mode "${mode}" only runs in a worker thread (here it would kill the process)` },
      );
    }
  });
});

describe('tasks sharing a thread that dies', () => {
  let pool: Pool;
  before(() => {
    pool = makePool({ maxThreads: 1, concurrentTasksPerWorker: 2 });
  });
  after(async () => {
    await pool.destroy();
  });

  async function victimAndKiller(mode: 'crash' | 'exit' | 'oom') {
    const victim = runJobs(pool, [job('sleep', { ms: 5000 })]);
    const killer = runJobs(pool, [job('fail', { mode, message: 'kaboom' })]);
    return { victim: await rejection(victim), killer: await rejection(killer) };
  }

  test('a sibling gets the same error as the task that crashed the thread', async () => {
    const { victim, killer } = await victimAndKiller('crash');
    assert.deepEqual(victim, killer);
    assert.equal(victim.message, 'kaboom');
    await stillServes(pool);
  });

  test('a sibling of an exit gets "worker exited with code: 1"', async () => {
    const { victim } = await victimAndKiller('exit');
    assert.equal(victim.message, 'worker exited with code: 1');
    await stillServes(pool);
  });

  test('a sibling of an oom gets ERR_WORKER_OUT_OF_MEMORY', async () => {
    const { victim } = await victimAndKiller('oom');
    assert.equal(victim.code, 'ERR_WORKER_OUT_OF_MEMORY');
    await stillServes(pool);
  });

  test('an abortable task never shares a thread, so aborting it kills no sibling', async () => {
    // Piscina's balancer gives a task with a signal only to an idle thread, and gives nothing
    // else to a thread running one: with a signal on every run, tasksPerThread is effectively 1.
    const controller = new AbortController();
    const plain = runJobs(pool, [job('sleep', { ms: 200 })]);
    const abortable = runJobs(pool, [job('sleep', { ms: 200 })], controller.signal);
    const started = Date.now();
    const [a, b] = await Promise.all([plain, abortable]);
    assert.equal(a.outcomes[0]!.status, 'completed');
    assert.equal(b.outcomes[0]!.status, 'completed');
    assert.ok(Date.now() - started >= 350, 'the abortable task waited for the thread to be idle');
  });

  test('terminating the thread directly rejects its tasks with "worker exited with code: 1"', async () => {
    const first = runJobs(pool, [job('sleep', { ms: 5000 })]);
    const second = runJobs(pool, [job('sleep', { ms: 5000 })]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await pool.threads[0]!.terminate();
    const errors = [await rejection(first), await rejection(second)];
    for (const err of errors) assert.deepEqual(err, { name: 'Error', code: undefined, message: 'worker exited with code: 1', cause: undefined });
    await stillServes(pool);
  });
});

test('destroying the pool rejects running and queued tasks with "Terminating worker thread"', async () => {
  const pool = makePool({ maxThreads: 1 });
  const running = rejection(runJobs(pool, [job('sleep', { ms: 5000 })]));
  const queued = rejection(runJobs(pool, [job('sleep', { ms: 5000 })]));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await pool.destroy();
  assert.deepEqual(await running, { name: 'Error', code: undefined, message: 'Terminating worker thread', cause: undefined });
  assert.deepEqual(await queued, { name: 'Error', code: undefined, message: 'Terminating worker thread', cause: undefined });
});
