/**
 * While a backlog lasts, a queue's lease loop keeps a second lease call in flight (lane 1); when
 * the queue runs dry only lane 0 leases, and it alone blocks on the wake key. Counted on a real
 * supervisor and Redis: calls in flight at once, the lane of every call, every job run once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueueConsumer } from '../src/queue/consumer.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { createLogger } from '../src/supervisor/logger.js';
import { loadProcessorTable } from '../src/supervisor/processor-table.js';
import { Supervisor } from '../src/supervisor/supervisor.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { eventually } from './helpers/supervisor-process.js';

const fx = usePrivateRedis();

test('a backlog is leased by two calls in flight at once; an idle queue by one; every job runs once', async () => {
  const queueName = 'lanes';
  const calls: Array<{ lane: number; at: number }> = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const lease = QueueConsumer.prototype.lease;
  // Counting needs no hook in the runtime: wrap the consumer's one lease entry point.
  QueueConsumer.prototype.lease = async function (this: QueueConsumer, owner: string, max: number, leaseMs: number, lane = 0) {
    calls.push({ lane, at: Date.now() });
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    try {
      return await lease.call(this, owner, max, leaseMs, lane);
    } finally {
      inFlight -= 1;
    }
  } as typeof lease;
  fx.cleanup(() => void (QueueConsumer.prototype.lease = lease));

  const queue = fx.openQueue(queueName);
  await queue.pause();
  const jobs = 6000;
  for (let i = 0; i < jobs; i += 1000) await queue.enqueueMany(Array.from({ length: 1000 }, () => ({ processor: 'noop', data: {} })));

  const config = { ...defaultConfig(), redisUrl: fx.redis.url, queues: [queueName], threads: 2, minThreads: 2, scheduler: false, httpPort: 0 };
  const supervisor = new Supervisor({ config, logger: createLogger('silent'), processors: await loadProcessorTable([], process.cwd()) });
  const completed = new Map<string, number>();
  supervisor.events.on('settled', ({ job, disposition }) => {
    if (disposition === 'completed') completed.set(job.id, (completed.get(job.id) ?? 0) + 1);
  });
  await supervisor.start();
  fx.cleanup(async () => void (await supervisor.stop()));

  await queue.resume();
  await eventually(async () => (await queue.counts()).completed === jobs, 30_000, 'every job completed');
  assert.equal(completed.size, jobs, 'every job settled as completed');
  assert.ok([...completed.values()].every((n) => n === 1), 'no job completed twice');
  assert.equal(mostInFlight, 2, 'two lease calls were in flight at once during the backlog');
  assert.ok(calls.some((c) => c.lane === 1), 'lane 1 leased');
  const [ahead] = await fx.client.keys(`troupe:{${queueName}}:last-lease:*#1`);
  assert.ok(ahead, "lane 1 keeps its own record of its last call, so a repeat of it is recognised");

  // Dry: lane 0 alone looks again (its wait on the wake key times out or an enqueue wakes it).
  const idleFrom = Date.now() + 200;
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await queue.enqueue('noop', {});
  await eventually(async () => (await queue.counts()).completed === jobs + 1, 10_000, 'the late job completed');
  const idleCalls = calls.filter((c) => c.at >= idleFrom);
  assert.ok(idleCalls.length > 0, 'the enqueue woke a lease call');
  assert.deepEqual([...new Set(idleCalls.map((c) => c.lane))], [0], 'only lane 0 leases a queue without a backlog');
});
