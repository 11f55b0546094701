/**
 * A write whose reply the network ate: the command ran on Redis, the connection was reset before
 * the answer came back, and the client sent it again (ioredis resends what was in flight when it
 * reconnects) or retried it itself. Every transition must come out of that as if it had been
 * answered: no lease lost, no job stranded, no attempt charged, counts exact. A proxy in front of
 * a private Redis drops exactly one reply each time.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Redis, type RedisOptions } from 'ioredis';
import { Queue, QueueConsumer } from '../src/index.js';
import { QUEUE_SCRIPTS, SCRIPT_NAMES } from '../src/queue/scripts.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { ReplyDropper } from './helpers/reply-dropper.js';
import { eventually, SupervisorProcess } from './helpers/supervisor-process.js';

const fx = usePrivateRedis();
let proxy: ReplyDropper;

beforeEach(async () => {
  await fx.runCleanup();
  await fx.client.flushall();
  // Loaded up front, so a dropped reply is the script's own and not a NOSCRIPT on first use.
  for (const name of SCRIPT_NAMES) await fx.client.script('LOAD', QUEUE_SCRIPTS.source(name));
  proxy = await ReplyDropper.start({ host: '127.0.0.1', port: fx.redis.port });
  fx.cleanup(() => proxy.stop());
});

const sha = (name: (typeof SCRIPT_NAMES)[number]) => QUEUE_SCRIPTS.get(name).sha;

function consumer(name: string, options: RedisOptions = {}): QueueConsumer {
  const client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: null, ...options });
  client.on('error', () => {}); // the resets are the point here
  const c = new QueueConsumer(name, { connection: client });
  fx.cleanup(async () => {
    await c.close();
    client.disconnect();
  });
  return c;
}

async function filled(name: string, n: number, options = {}): Promise<Queue> {
  const q = new Queue(name, { connection: fx.redis.url });
  fx.cleanup(() => q.close());
  await q.enqueueMany(Array.from({ length: n }, (_, i) => ({ processor: 'echo', data: i, options })));
  return q;
}

test('a lease sent again after its reply was lost hands back the same jobs, not a second batch', async () => {
  const q = await filled('lost-lease', 4);
  const c = consumer('lost-lease');
  proxy.dropReplyTo(sha('lease'));
  const batch = await c.lease('me', 2, 30_000);
  assert.equal(proxy.dropped, 1);
  assert.equal(batch.jobs.length, 2);
  const counts = await q.counts();
  assert.deepEqual([counts.active, counts.pending], [2, 2], 'the resend leased nothing more: no job stranded');
  for (const job of batch.jobs) assert.equal((await q.getJob(job.id))?.attempts, 1, 'one attempt counted');
  assert.deepEqual(await c.complete(batch.jobs.map((j) => ({ lease: j.lease, result: 1 }))), [], 'the leases handed back are the live ones');
});

test('a lease the client retries itself (the command timed out, not resent) gets the same jobs back', async () => {
  const q = await filled('lost-lease-retry', 4);
  const c = consumer('lost-lease-retry', { autoResendUnfulfilledCommands: false, commandTimeout: 500 });
  proxy.dropReplyTo(sha('lease'));
  await assert.rejects(c.lease('me', 2, 30_000));
  const again = await c.lease('me', 2, 30_000);
  assert.equal(again.jobs.length, 2);
  const counts = await q.counts();
  assert.deepEqual([counts.active, counts.pending], [2, 2]);
  for (const job of again.jobs) assert.equal((await q.getJob(job.id))?.attempts, 1);
  const next = await c.lease('me', 2, 30_000);
  assert.deepEqual(next.jobs.map((j) => j.id).filter((id) => again.jobs.some((a) => a.id === id)), [], 'the next call leases new jobs');
});

test('complete, fail, release and resource pause sent again after a lost reply report what they did, not a lost lease', async () => {
  const q = await filled('lost-outcomes', 6, { attempts: 2, backoff: [0] });
  const c = consumer('lost-outcomes');
  const { jobs } = await c.lease('me', 6, 30_000);
  const [a, b, d, e, f, g] = jobs as [typeof jobs[0], typeof jobs[0], typeof jobs[0], typeof jobs[0], typeof jobs[0], typeof jobs[0]];

  proxy.dropReplyTo(sha('complete'));
  assert.deepEqual(await c.complete([{ lease: a.lease, result: 'a' }]), []);
  proxy.dropReplyTo(sha('fail'));
  assert.deepEqual(await c.fail([{ job: b, error: new Error('retry me') }, { job: d, error: new Error('bad'), unrecoverable: true }]), { lost: [], dead: [d.id], retried: [b.id] });
  proxy.dropReplyTo(sha('release'));
  assert.deepEqual(await c.release([e.lease]), []);
  proxy.dropReplyTo(sha('pause-for-resource'));
  const paused = await c.pauseForResource(f, { firstPauseMs: 60_000, maxPauseMs: 60_000, reason: 'quota' });
  assert.equal(paused.lost, false);
  assert.ok(paused.pausedUntil > Date.now());
  assert.equal(proxy.dropped, 4, 'one reply dropped each: complete, fail, release, pause');

  assert.equal((await q.getJob(a.id))?.state, 'completed');
  assert.deepEqual([(await q.getJob(b.id))?.state, (await q.getJob(b.id))?.errors.length], ['pending', 1], 'retried once, one error recorded');
  assert.equal((await q.getJob(d.id))?.state, 'dead');
  assert.deepEqual([(await q.getJob(e.id))?.state, (await q.getJob(e.id))?.attempts], ['pending', 0], 'released once, its attempt refunded once');
  assert.deepEqual([(await q.getJob(f.id))?.state, (await q.getJob(f.id))?.attempts], ['pending', 0]);
  // A lease really lost is still reported: g's token was taken over.
  await fx.client.hset(`troupe:{lost-outcomes}:job:${g.id}`, 'token', '999999');
  assert.deepEqual(await c.complete([{ lease: g.lease, result: 'g' }]), [g.id]);
});

test('a supervisor whose lease and completion replies are lost counts every job once, charges no extra attempt', async () => {
  const q = new Queue('lost-run', { connection: fx.redis.url });
  fx.cleanup(() => q.close());
  const s = new SupervisorProcess(['--queues', 'lost-run', '--threads', '1'], { TROUPE_REDIS_URL: proxy.url, TROUPE_HTTP_PORT: '0' });
  fx.cleanup(() => s.kill());
  await s.started();
  proxy.dropReplyTo(sha('lease'));
  proxy.dropReplyTo(sha('complete'));
  const jobs = await q.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ processor: 'echo', data: i })));
  await eventually(async () => ((await q.counts()).completed === 50 ? true : undefined), 20_000, 'all 50 to complete');
  assert.equal(proxy.dropped, 2, 'both replies were lost');
  for (const { id } of jobs) assert.equal((await q.getJob(id))?.attempts, 1, `job ${id}: one attempt`);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
  assert.deepEqual([stopped?.completed, stopped?.leaseLost, stopped?.leased], [50, 0, 50]);
});
