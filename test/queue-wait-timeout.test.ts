/**
 * waitForResult's timeout says what state the job is in: before, a job that never started on a
 * queue no supervisor serves was said to "keep running". Live supervisors are read from the
 * registry that real Registry objects write.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Queue, QueueConsumer, WaitTimeoutError } from '../src/queue/index.js';
import { REGISTRY_KEYS } from '../src/queue/keys.js';
import { createLogger } from '../src/supervisor/logger.js';
import { Registry, type SupervisorSnapshot } from '../src/supervisor/registry.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();

function open(name: string) {
  const q = new Queue(name, { connection: fx.redis.url });
  const c = new QueueConsumer(name, { connection: fx.redis.url });
  fx.cleanup(() => q.close(), () => c.close());
  return { q, c };
}

/** A real registry entry, as a supervisor serving `queues` writes it; stopped by cleanup. */
async function liveSupervisor(id: string, queues: string[]): Promise<void> {
  const snapshot = (): SupervisorSnapshot => ({ threads: 1, queues, inFlight: 0, held: 0, completed: 0, failed: 0, dead: 0, timedOut: 0, leaseLost: 0, threadRestarts: 0 });
  const registry = new Registry(fx.client, id, 1000, snapshot, createLogger('silent'));
  await registry.start();
  fx.cleanup(() => registry.stop());
}

async function timeout(q: Queue, id: string, timeoutMs = 150): Promise<WaitTimeoutError> {
  try {
    await q.waitForResult(id, { timeoutMs });
  } catch (err) {
    assert.ok(err instanceof WaitTimeoutError, String(err));
    assert.equal(err.code, 'WAIT_TIMEOUT');
    assert.match(err.message, new RegExp(`^job ${id} did not finish within ${timeoutMs} ms: `));
    return err;
  }
  assert.fail('the wait should have timed out');
}

describe('waitForResult: the timeout names the job\'s state', () => {
  test('pending on a queue no live supervisor serves: never started, and how to serve it', async () => {
    const { q } = open('wait-unserved');
    // A supervisor of another queue, and a dead one of this queue (heartbeat long past), do not count.
    await liveSupervisor('other', ['elsewhere']);
    await fx.client.zadd(REGISTRY_KEYS.index, 1, 'gone');
    await fx.client.hset(REGISTRY_KEYS.entry('gone'), { id: 'gone', queues: 'wait-unserved', heartbeatAt: 1, heartbeatMs: 1000 });
    const { id } = await q.enqueue('echo', 1);
    const err = await timeout(q, id);
    assert.match(err.message, /it is pending and never started: no live supervisor serves queue wait-unserved; start one with `troupe supervise --queues wait-unserved`/);
    assert.doesNotMatch(err.message, /keeps running/);
    assert.deepEqual([err.state, err.liveSupervisors], ['pending', 0]);
    await fx.runCleanup();
  });

  test('pending while a live supervisor serves the queue: not started yet, and says so', async () => {
    const { q } = open('wait-busy');
    await liveSupervisor('a', ['x', 'wait-busy']);
    await liveSupervisor('b', ['wait-busy']);
    const { id } = await q.enqueue('echo', 1);
    const err = await timeout(q, id);
    assert.match(err.message, /it is pending and has not started yet; 2 live supervisors serve queue wait-busy/);
    assert.deepEqual([err.state, err.liveSupervisors], ['pending', 2]);
    await q.pause();
    const paused = await timeout(q, id);
    assert.match(paused.message, /it is pending and never started: queue wait-busy is paused; resume it with `troupe queue resume wait-busy`/);
    await fx.runCleanup();
  });

  test('delayed: due when, and whether anything will run it', async () => {
    const { q } = open('wait-delayed');
    const { id } = await q.enqueue('echo', 1, { delayMs: 60_000 });
    const runAt = (await q.getJob(id))!.runAt!;
    const err = await timeout(q, id);
    assert.match(err.message, new RegExp(`it is delayed until ${new Date(runAt).toISOString()} and never started; no live supervisor serves queue wait-delayed`));
    assert.equal(err.state, 'delayed');
    await fx.runCleanup();
  });

  test('active: running, on which supervisor, and it keeps running', async () => {
    const { q, c } = open('wait-active');
    await liveSupervisor('sup-1', ['wait-active']);
    const { id } = await q.enqueue('echo', 1);
    await c.lease('sup-1', 1, 30_000);
    const err = await timeout(q, id);
    assert.match(err.message, /it is running \(run 1 of 3, held by sup-1\) and keeps running; wait again or raise timeoutMs/);
    assert.deepEqual([err.state, err.liveSupervisors], ['active', undefined]);
    await fx.runCleanup();
  });

  test('waiting to retry: which run failed, how, and when the next is due', async () => {
    const { q, c } = open('wait-retry');
    const { id } = await q.enqueue('echo', 1, { backoff: { type: 'fixed', ms: 60_000 } });
    const { jobs } = await c.lease('sup-1', 1, 30_000);
    await c.fail([{ job: jobs[0]!, error: new RangeError('out of range') }]);
    const runAt = (await q.getJob(id))!.runAt!;
    const err = await timeout(q, id);
    assert.match(err.message, new RegExp(`run 1 of 3 failed \\(RangeError: out of range\\); it waits to retry at ${new Date(runAt).toISOString()}; no live supervisor serves queue wait-retry`));
    assert.equal(err.state, 'delayed');
    await fx.runCleanup();
  });

  test('gone while waited for: cancelled, cleared or removed', async () => {
    const { q } = open('wait-gone');
    const { id } = await q.enqueue('echo', 1, { delayMs: 60_000 });
    const waiting = q.waitForResult(id, { timeoutMs: 300 });
    await new Promise((r) => setTimeout(r, 100));
    await q.cancel(id);
    await assert.rejects(waiting, (err: unknown) => {
      assert.ok(err instanceof WaitTimeoutError);
      assert.match(err.message, /it no longer exists \(cancelled, cleared or removed by retention\)/);
      assert.equal(err.state, undefined);
      return true;
    });
    await fx.runCleanup();
  });
});
