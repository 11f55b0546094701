/**
 * Shutdown past its timeout stops every running task, including one still queued for a thread
 * that is starting up. The thread pool is replaced by one whose pick-up time the test decides (a
 * real thread's start-up time cannot be set); the dispatcher, outcomes and cells are the real ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBackoff } from '../src/queue/backoff.js';
import type { LeasedJob } from '../src/queue/consumer.js';
import { Lease } from '../src/queue/lease.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { Dispatcher } from '../src/supervisor/dispatcher.js';
import { SupervisorEvents } from '../src/supervisor/events.js';
import { createLogger } from '../src/supervisor/logger.js';
import { Outcomes, type Ack } from '../src/supervisor/outcomes.js';
import type { ThreadPool } from '../src/supervisor/pool.js';
import { newStats } from '../src/supervisor/stats.js';
import { CELL_THREAD_ID, type ThreadTask, type ThreadTaskResult } from '../src/threads/protocol.js';

/** A pool whose one thread picks a task up only when pickUp() is called, and never finishes it. */
class SlowStartPool {
  readonly killed: number[] = [];
  private readonly tasks: Array<{ task: ThreadTask; reject: (err: Error) => void }> = [];
  readonly threadCount = 1;

  run(task: ThreadTask): Promise<ThreadTaskResult> {
    return new Promise((_resolve, reject) => void this.tasks.push({ task, reject }));
  }

  pickUp(threadId: number): void {
    for (const { task } of this.tasks) Atomics.store(new BigInt64Array(task.cell), CELL_THREAD_ID, BigInt(threadId));
  }

  kill(threadId: number): boolean {
    this.killed.push(threadId);
    for (const { reject } of this.tasks.splice(0)) reject(new Error('Terminating worker thread'));
    return true;
  }

  wasStopped(threadId: number): boolean {
    return this.killed.includes(threadId);
  }

  idle(): void {}
  retire(): boolean {
    return false;
  }
}

function leased(id: string, processor: string): LeasedJob {
  return {
    queue: 'q', id, lease: new Lease(id, `t-${id}`, Number.MAX_SAFE_INTEGER), processor, data: null, dataType: 'json', attempt: 1, maxAttempts: 3,
    timeoutMs: 0, enqueuedAt: 0, dueAt: 0, leasedAt: 0, priority: 'normal', backoff: decodeBackoff(undefined),
  };
}

test('a task no thread has picked up at the shutdown timeout is stopped on the thread that picks it up', async () => {
  const cpu = new SlowStartPool();
  const io = new SlowStartPool();
  const pushed: Ack[] = [];
  const events = new SupervisorEvents();
  const stats = newStats();
  const logger = createLogger('silent');
  const outcomes = new Outcomes({
    ackerFor: () => ({ push: (ack) => void pushed.push(ack) }),
    events,
    logger,
    stats,
    policy: { shutdownTimeoutMs: 300, maxMemoryMb: 256, maxResourcePauseMs: 1000, encodeResult: () => { throw new Error('no result expected'); } },
  });
  const dispatcher = new Dispatcher({
    // The stand-in has the methods the dispatcher calls; ThreadPool's private fields it cannot have.
    pool: cpu as unknown as ThreadPool,
    ioPool: () => io as unknown as ThreadPool,
    events,
    config: { ...defaultConfig(), threads: 1 },
    logger,
    stats,
    outcomes,
    concurrencyOf: (name) => (name === 'wait' ? 10 : 0),
  });
  dispatcher.add([leased('cpu-1', 'work'), leased('io-1', 'wait')]);
  assert.equal(dispatcher.runningCount, 2);
  cpu.pickUp(7);

  dispatcher.abortRunning();
  assert.deepEqual(cpu.killed, [7], 'the picked-up task is stopped at once');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(io.killed, [], 'nothing to stop yet: no thread has the I/O task');
  io.pickUp(9);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(io.killed, [9], 'stopped as soon as its thread picked it up');
  await dispatcher.whenIdle();
  assert.equal(pushed.length, 2, 'one ack per job');
  assert.deepEqual(pushed.map((a) => a.held.job.id).sort(), ['cpu-1', 'io-1']);
});
