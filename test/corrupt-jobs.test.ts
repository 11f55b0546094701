/**
 * Job hashes damaged outside Troupe (hand edits, broken clients): each such job goes dead on its
 * own as JOB_CORRUPT, naming what is wrong, and the good jobs leased in the same batch run
 * normally, on their one attempt. Real supervisor process and a private Redis.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../src/index.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { eventually, runCli, SupervisorProcess } from './helpers/supervisor-process.js';

const fx = usePrivateRedis();

/** Every field the lease returns that can be damaged, and what the report must say of it. */
const DAMAGE: Array<{ name: string; damage: (key: string) => Promise<unknown>; says: RegExp }> = [
  { name: 'no processor', damage: (k) => fx.client.hdel(k, 'processor'), says: /processor is missing/ },
  { name: 'data not JSON', damage: (k) => fx.client.hset(k, 'data', '{"half":'), says: /data is not valid JSON/ },
  { name: 'unknown dataType', damage: (k) => fx.client.hset(k, 'dataType', 'xml'), says: /dataType is "xml", not "json" or "bytes"/ },
  { name: 'maxAttempts', damage: (k) => fx.client.hset(k, 'maxAttempts', 'many'), says: /maxAttempts is "many", not a whole number of at least 1/ },
  { name: 'timeoutMs', damage: (k) => fx.client.hset(k, 'timeoutMs', '-5'), says: /timeoutMs is "-5"/ },
  { name: 'enqueuedAt', damage: (k) => fx.client.hset(k, 'enqueuedAt', 'yesterday'), says: /enqueuedAt is "yesterday"/ },
  { name: 'priority', damage: (k) => fx.client.hset(k, 'priority', 'urgent'), says: /priority is "urgent", not one of critical, high, normal, low/ },
  { name: 'backoff', damage: (k) => fx.client.hset(k, 'backoff', 'exp:soon:later'), says: /backoff cannot be read: "exp:soon:later"/ },
  { name: 'metadata not JSON', damage: (k) => fx.client.hset(k, 'metadata', '{oops'), says: /metadata is not valid JSON/ },
  { name: 'metadata not an object', damage: (k) => fx.client.hset(k, 'metadata', '[1,2]'), says: /metadata is "\[1,2\]", not a JSON object/ },
  { name: 'runAt', damage: (k) => fx.client.hset(k, 'runAt', 'soon'), says: /runAt is "soon"/ },
  // The lease reply joins a job's fields with NUL bytes: one inside a field must not shift the rest unnoticed.
  { name: 'a NUL byte in a field', damage: (k) => fx.client.hset(k, 'backoff', 'fixed:100\u0000x'), says: /a stored field holds a NUL byte/ },
];

test('each damaged job goes dead as JOB_CORRUPT naming the field; its batch-mates run on their one attempt', async () => {
  const queue = new Queue('damaged', { connection: fx.redis.url });
  fx.cleanup(() => queue.close());
  // Good and damaged jobs interleaved, all pending before the supervisor starts: they share batches.
  const ids: Array<{ id: string; damaged?: (typeof DAMAGE)[number] }> = [];
  for (let i = 0; i < 40; i++) {
    const damaged = i % 3 === 1 ? DAMAGE[Math.floor(i / 3) % DAMAGE.length] : undefined;
    const { id } = await queue.enqueue('echo', { i }, { attempts: 1, metadata: { i } });
    ids.push({ id, ...(damaged ? { damaged } : {}) });
  }
  for (const { id, damaged } of ids) if (damaged) await damaged.damage(`troupe:{damaged}:job:${id}`);
  const good = ids.filter((j) => !j.damaged);
  const bad = ids.filter((j) => j.damaged);
  assert.equal(new Set(bad.map((j) => j.damaged!.name)).size, DAMAGE.length, 'every kind of damage is in the run');

  const s = new SupervisorProcess(['--queues', 'damaged', '--threads', '1'], { TROUPE_REDIS_URL: fx.redis.url, TROUPE_HTTP_PORT: '0' });
  fx.cleanup(() => s.kill());
  await s.started();
  await eventually(async () => {
    const c = await queue.counts();
    return c.completed + c.dead === ids.length ? c : undefined;
  }, 20_000, 'every job to end');

  const counts = await queue.counts();
  assert.deepEqual([counts.completed, counts.dead, counts.pending, counts.active], [good.length, bad.length, 0, 0]);
  for (const { id } of good) {
    const job = await queue.getJob(id);
    assert.deepEqual([job?.state, job?.attempts], ['completed', 1], `good job ${id} ran once and completed`);
  }
  for (const { id, damaged } of bad) {
    const job = await queue.getJob(id);
    assert.equal(job?.state, 'dead', `${damaged!.name}: dead`);
    assert.equal(job?.error?.code, 'JOB_CORRUPT', `${damaged!.name}: coded`);
    assert.match(job?.error?.message ?? '', damaged!.says, `${damaged!.name}: names the problem`);
    assert.match(job?.error?.message ?? '', /troupe job .* --queue damaged/, 'and says how to inspect it');
  }
  assert.equal(s.logs.filter((l) => l.msg.startsWith('a leased job cannot be decoded')).length, bad.length, 'one warning per damaged job');
  assert.ok(!s.logs.some((l) => /leasing failed/.test(l.msg)), 'no lease call failed');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('troupe job and getJob show a damaged job with its problems instead of throwing', async () => {
  const queue = new Queue('damaged-read', { connection: fx.redis.url });
  fx.cleanup(() => queue.close());
  const { id } = await queue.enqueue('echo', { ok: true });
  await fx.client.hset(`troupe:{damaged-read}:job:${id}`, 'data', '{"half":', 'metadata', '{oops');
  const job = await queue.getJob(id);
  assert.equal(job?.corrupt?.length, 2, JSON.stringify(job?.corrupt));
  assert.match(job!.corrupt![0]!, /^data is not valid JSON \(.+\): "\{\\"half\\":"$/);
  assert.match(job!.corrupt![1]!, /^metadata is not valid JSON \(.+\): "\{oops"$/);
  const run = await runCli(['job', id, '--queue', 'damaged-read'], { TROUPE_REDIS_URL: fx.redis.url });
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /SyntaxError/);
  assert.match(run.stdout, /corrupt\s+data is not valid JSON/);
});
