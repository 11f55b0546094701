/**
 * Consumers on one client wait for work through one blocking connection (src/queue/wake-hub.ts),
 * counted on a real Redis with CLIENT LIST: 20 queues waiting hold 1 connection, not 20. Each
 * queue is still woken by its own enqueue, a queue that starts waiting while the others are
 * blocked is let in, and a short wait ends on time even while longer ones block.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { QueueConsumer } from '../src/queue/consumer.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();

async function connections(admin: Redis): Promise<number> {
  return (await admin.client('LIST') as string).trim().split('\n').length;
}

test('twenty waiting queues share one blocking connection, and each is woken by its own enqueue', { timeout: 30_000 }, async () => {
  const shared = new Redis(fx.redis.url);
  fx.cleanup(() => void shared.disconnect());
  await shared.ping();
  const names = Array.from({ length: 20 }, (_, i) => `hub-${i}`);
  const consumers = names.map((name) => new QueueConsumer(name, { connection: shared }));
  const queues = names.map((name) => new Queue(name, { connection: shared }));
  fx.cleanup(async () => {
    for (const c of consumers) await c.close();
    for (const q of queues) await q.close();
  });
  const before = await connections(fx.client);

  const waits = consumers.map((c) => c.waitForWork(60_000));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await connections(fx.client), before + 1, 'one blocking connection for all twenty waits');

  await queues[7]!.enqueue('noop', {});
  assert.equal(await waits[7], true, 'queue 7 woken by its enqueue');
  const stillWaiting = await Promise.race([waits[3]!.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
  assert.equal(stillWaiting, 'waiting', "another queue's enqueue does not wake queue 3");

  // Queue 7 waits again while the BLPOP blocks on the other nineteen: it must be let in.
  const again = consumers[7]!.waitForWork(60_000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await queues[7]!.enqueue('noop', {});
  assert.equal(await again, true, 'a queue that starts waiting during a blocked call is woken by its enqueue');

  // A short wait ends by its own deadline though the call in flight would block for a minute.
  const late = new QueueConsumer('hub-late', { connection: shared });
  fx.cleanup(() => late.close());
  assert.equal(await late.waitForWork(300), false, 'a short wait times out, not woken');

  for (const [i, q] of queues.entries()) if (i !== 7) await q.enqueue('noop', {});
  assert.deepEqual(await Promise.all(waits), names.map(() => true), 'every queue woken');

  for (const c of consumers) await c.close();
  await late.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await connections(fx.client), before, 'the blocking connection closes with the last consumer');
});
