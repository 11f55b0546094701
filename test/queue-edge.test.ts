import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Queue, QueueConsumer, queueKeys } from '../src/index.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  await Promise.all(open.map((c) => c.close()));
});

function pair(label: string) {
  const name = uniqueQueue(label);
  const queue = new Queue(name, { connection: SHARED_REDIS_URL });
  const consumer = new QueueConsumer(name, { connection: SHARED_REDIS_URL });
  open.push(queue, consumer);
  return { name, queue, consumer };
}

test('any typed array or ArrayBuffer at the top level is stored as raw bytes', async () => {
  const { name, queue, consumer } = pair('typed');
  const floats = new Float32Array([1.5, -2, 3.25]);
  const view = new DataView(new ArrayBuffer(6));
  view.setUint16(0, 0xbeef);
  const raw = new Uint8Array([9, 8, 7]).buffer;
  const ids = await queue.enqueueMany([floats, view, raw].map((data) => ({ processor: 'noop', data: data as unknown })));
  const { jobs } = await consumer.lease('w', 3, 10_000);
  const bytes = jobs.map((j) => j.data as Buffer);
  assert.deepEqual(bytes[0], Buffer.from(floats.buffer));
  assert.deepEqual(bytes[1], Buffer.from(view.buffer));
  assert.deepEqual(bytes[2], Buffer.from([9, 8, 7]));
  assert.equal(await queue.redis.hstrlen(queueKeys(name).job(ids[0]!.id), 'data'), 12, 'stored raw: 3 floats, 12 bytes');
});

test('retryAllDead carries on past a batch whose dead entries lost their jobs', async () => {
  const { name, queue, consumer } = pair('orphans');
  const keys = queueKeys(name);
  // 1000 orphan entries (a full batch) sort before the real dead job; recent, so retention keeps them.
  const recent = Date.now() - 60_000;
  const orphans = Array.from({ length: 1000 }, (_, i) => [recent, `orphan-${i}`]).flat();
  await queue.redis.zadd(keys.dead, ...(orphans as Array<string | number>));
  const { id } = await queue.enqueue('noop', null, { attempts: 1 });
  const { jobs } = await consumer.lease('w', 1, 10_000);
  await consumer.fail([{ job: jobs[0]!, error: new Error('x') }]);
  assert.equal((await queue.counts()).dead, 1001);
  assert.equal(await queue.retryAllDead(), 1);
  assert.equal((await queue.getJob(id))?.state, 'pending');
  assert.equal((await queue.counts()).dead, 0, 'orphan entries were dropped too');
});
