/**
 * Redis under memory pressure (issue 16): an evicting maxmemory-policy deletes accepted jobs
 * without a word, so a supervisor refuses it unless told to accept the risk, and reports it
 * everywhere; a full Redis with noeviction refuses writes, so nothing may be leased that could
 * not be finished, enqueue says so with a code, and leasing resumes once there is room.
 * Real supervisor processes and a private redis-server.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Queue } from '../src/index.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { freePort } from './helpers/redis-server.js';
import { eventually, runCli, SupervisorProcess } from './helpers/supervisor-process.js';

const fx = usePrivateRedis();
beforeEach(async () => {
  await fx.runCleanup();
  await fx.client.config('SET', 'maxmemory', '0');
  await fx.client.config('SET', 'maxmemory-policy', 'noeviction');
  await fx.client.flushall();
});

async function supervisor(queue: string, extra: string[] = []): Promise<SupervisorProcess> {
  const s = new SupervisorProcess(['--queues', queue, '--threads', '1', '--http-port', String(await freePort()), ...extra], { TROUPE_REDIS_URL: fx.redis.url });
  fx.cleanup(() => s.kill());
  return s;
}

async function http(s: SupervisorProcess, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const line = await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('HTTP endpoint on '));
  const res = await fetch(`http://127.0.0.1:${line.port as number}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('an evicting maxmemory-policy stops the start with the fix; allowed, it is reported on /health, /status and troupe status', async () => {
  await fx.client.config('SET', 'maxmemory-policy', 'allkeys-lru');
  await fx.client.config('SET', 'maxmemory', String(64 * 1024 * 1024));
  const refused = await supervisor('evict');
  assert.equal(await refused.exited, 2, refused.stderr);
  assert.match(refused.stderr, /maxmemory-policy allkeys-lru \(maxmemory 64 MiB\)/);
  assert.match(refused.stderr, /noeviction.*--allow-evicting-redis/);

  const allowed = await supervisor('evict', ['--allow-evicting-redis']);
  await allowed.started();
  assert.equal(allowed.logs.filter((l) => /^Redis may delete jobs \(allowed/.test(String(l.msg))).length, 1, 'warned once at start');
  const health = await http(allowed, '/health');
  assert.equal(health.status, 200, 'allowed: healthy');
  const memory = (health.body.checks as Record<string, { ok: boolean; detail: string }>).memory!;
  assert.match(memory.detail, /may delete jobs: .*allkeys-lru.*allowed by --allow-evicting-redis/);
  const status = await http(allowed, '/status');
  assert.match(String((status.body.redisMemory as { eviction?: string }).eviction), /allkeys-lru/);
  const cli = await runCli(['status'], { TROUPE_REDIS_URL: fx.redis.url });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /WARNING: Redis may delete jobs: .*allkeys-lru/);

  // A policy switched at run time without the opt-in is unhealthy at the next check.
  allowed.child.kill('SIGTERM');
  assert.equal(await allowed.exited, 0);
  await fx.client.config('SET', 'maxmemory-policy', 'noeviction');
  const plain = await supervisor('evict');
  await plain.started();
  await fx.client.config('SET', 'maxmemory-policy', 'volatile-lru');
  const after = await http(plain, '/health');
  assert.equal(after.status, 503);
  assert.match(String((after.body.reasons as string[]).join(' ')), /redis memory: may delete jobs: .*volatile-lru/);
  await fx.client.config('SET', 'maxmemory-policy', 'noeviction');
  plain.child.kill('SIGTERM');
  assert.equal(await plain.exited, 0);
});

test('a producer is warned once that its Redis may evict jobs', async () => {
  await fx.client.config('SET', 'maxmemory-policy', 'allkeys-lfu');
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);
  process.on('warning', onWarning);
  fx.cleanup(() => void process.off('warning', onWarning));
  const queue = new Queue('evict-producer', { connection: fx.redis.url });
  fx.cleanup(() => queue.close());
  await queue.enqueue('echo', 1);
  await queue.enqueue('echo', 2);
  await eventually(async () => (warnings.length > 0 ? true : undefined), 3000, 'the warning');
  await new Promise((r) => setTimeout(r, 200));
  const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'TROUPE_REDIS_EVICTION');
  assert.equal(ours.length, 1);
  assert.match(ours[0]!.message, /allkeys-lfu.*maxmemory-policy noeviction/);
});

test('a full Redis: enqueue fails with REDIS_OOM, nothing is leased while full, /health says why, and every accepted job runs once there is room', async () => {
  const queue = new Queue('oom', { connection: fx.redis.url });
  fx.cleanup(() => queue.close());
  await queue.pause();
  const s = await supervisor('oom');
  await s.started();

  const used = Number(/used_memory:(\d+)/.exec(await fx.client.info('memory'))![1]);
  await fx.client.config('SET', 'maxmemory', String(used + 1024 * 1024));
  let accepted = 0;
  let refusal: (Error & { code?: string }) | undefined;
  while (!refusal && accepted < 100_000) {
    try {
      accepted += (await queue.enqueueMany(Array.from({ length: 100 }, (_, i) => ({ processor: 'echo', data: { pad: 'x'.repeat(200), i } })))).length;
    } catch (err) {
      refusal = err as Error & { code?: string };
    }
  }
  assert.ok(refusal, 'Redis filled up');
  assert.equal(refusal.code, 'REDIS_OOM', String(refusal));
  assert.match(refusal.message, /Redis is out of memory .*was not stored.*maxmemory/);
  const cli = await runCli(['enqueue', 'oom', 'echo', '--count', '1000', '--data', JSON.stringify({ pad: 'x'.repeat(2000) })], { TROUPE_REDIS_URL: fx.redis.url });
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /Redis is out of memory/);
  assert.doesNotMatch(cli.stderr, /ReplyError|    at /);

  // Past the limit, not just at it (Redis refuses a write only once it is over).
  const full = Number(/used_memory:(\d+)/.exec(await fx.client.info('memory'))![1]);
  await fx.client.config('SET', 'maxmemory', String(full - 256 * 1024));
  // Unpause without a write Redis would refuse (HDEL frees memory, so a full Redis allows it).
  await fx.client.hdel('troupe:{oom}:meta', 'paused');
  await s.waitForLog((l) => /^Redis is out of memory \(OOM\): leasing stopped/.test(String(l.msg)));
  const health = await http(s, '/health');
  assert.equal(health.status, 503);
  assert.match((health.body.reasons as string[]).join(' '), /redis memory: out of memory: .* at its maxmemory/);
  const counts = await queue.counts();
  assert.deepEqual([counts.active, counts.pending], [0, accepted], 'nothing leased while full');

  await fx.client.config('SET', 'maxmemory', '0');
  await eventually(async () => ((await queue.counts()).completed === accepted ? true : undefined), 60_000, 'every accepted job to complete');
  await s.waitForLog((l) => l.msg === 'Redis has room again: leasing resumed');
  assert.equal((await http(s, '/health')).status, 200);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
  assert.deepEqual([stopped?.leased, stopped?.completed, stopped?.leaseLost], [accepted, accepted, 0], 'each accepted job leased and completed once');
});
