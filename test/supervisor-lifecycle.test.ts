import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { startPrivateRedis } from './helpers/redis-server.js';
import { eventually, PLUGIN_DIR, readRecord, runCli, SupervisorProcess } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `troupe-${label}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('SIGTERM with jobs in flight: running jobs finish, unstarted ones go back to pending, exit 0', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const queue = new Queue('term', { connection: redis.url });
  cleanup.push(() => queue.close());
  const s = new SupervisorProcess(['--queues', 'term', '--threads', '2', '--prefetch', '4'], { TROUPE_REDIS_URL: redis.url });
  cleanup.push(() => s.kill());
  await s.started();
  await queue.enqueueMany(Array.from({ length: 12 }, (_, i) => ({ processor: 'cpu', data: { ms: 800 }, options: { jobId: `j${i}` } })));
  await eventually(async () => (await queue.counts()).active >= 4, 10_000, 'jobs running and prefetched');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);

  const counts = await queue.counts();
  assert.equal(counts.active, 0, 'nothing left leased');
  assert.equal(counts.completed, 2, 'the two running jobs finished');
  assert.equal(counts.pending, 10, 'the rest are back in pending');
  const pending = await queue.listJobs('pending', { limit: 20 });
  assert.deepEqual(pending.map((j) => j.attempts), Array(10).fill(0), 'given back without using an attempt');
  assert.deepEqual(pending.map((j) => j.id).sort(), [...Array(12).keys()].slice(2).map((i) => `j${i}`).sort());
  const released = s.logs.find((l) => l.msg.startsWith('shutting down'));
  assert.equal(released?.running, 2);
});

test('a job still running at the shutdown timeout is stopped and failed for retry', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const queue = new Queue('term-timeout', { connection: redis.url });
  cleanup.push(() => queue.close());
  const s = new SupervisorProcess(['--queues', 'term-timeout', '--threads', '1', '--shutdown-timeout-ms', '300'], { TROUPE_REDIS_URL: redis.url });
  cleanup.push(() => s.kill());
  await s.started();
  // The I/O thread starts on its first job; once it is up, the long job is running on it (a job
  // still queued for a thread at the timeout goes back unstarted instead).
  const warm = await queue.enqueue('sleep', { ms: 1 });
  await eventually(async () => (await queue.getJob(warm.id))?.state === 'completed', 10_000, 'the I/O thread to be up');
  const { id } = await queue.enqueue('sleep', { ms: 60_000 });
  await eventually(async () => (await queue.getJob(id))?.state === 'active', 10_000, 'the job to start');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const job = await queue.getJob(id);
  assert.equal(job?.state, 'pending', 'back for a retry');
  assert.equal(job?.error?.code, 'SHUTDOWN');
});

test('Redis restarted (AOF) mid-run: the run completes and nothing is lost', async () => {
  const redis = await startPrivateRedis({ aof: true });
  cleanup.push(() => redis.destroy());
  const record = join(tempDir('restart'), 'runs.txt');
  const queue = new Queue('restart', { connection: { port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null } });
  cleanup.push(() => queue.close());
  const s = new SupervisorProcess(['--queues', 'restart', '--threads', '2', '--plugin', join(PLUGIN_DIR, 'record.mjs')], {
    TROUPE_REDIS_URL: redis.url,
    TROUPE_TEST_RECORD: record,
  });
  cleanup.push(() => s.kill());
  await s.started();
  const total = 3000;
  await queue.enqueueMany(Array.from({ length: total }, (_, i) => ({ processor: 'record', data: { i, ms: 2 }, options: { keepCompleted: { count: total } } })));
  await eventually(async () => readRecord(record).length >= 300, 30_000, 'work under way');
  await redis.stop();
  await new Promise((r) => setTimeout(r, 1000));
  await redis.restart();
  await eventually(async () => (await queue.counts()).completed === total, 90_000, 'all jobs completed after the restart');
  const ids = new Set(readRecord(record).map((r) => r.id));
  assert.equal(ids.size, total, 'every job ran');
  const counts = await queue.counts();
  assert.equal(counts.dead + counts.pending + counts.active, 0);
  assert.ok(s.logs.some((l) => l.level >= 40 && /Redis|leasing failed|writing/.test(l.msg)), 'the outage was logged');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

const BAD_CONFIG: Array<{ name: string; args: string[]; env?: Record<string, string>; file?: object; code: number; message: RegExp }> = [
  { name: 'threads 0', args: ['--threads', '0'], code: 2, message: /threads: must be a whole number from 1 to 1024, got "0" \(from --threads\)/ },
  { name: 'wrong type from env', args: [], env: { TROUPE_LEASE_MS: 'soon' }, code: 2, message: /leaseMs: .*TROUPE_LEASE_MS/ },
  { name: 'unknown key in the config file', args: [], file: { threads: 2, thread: 4 }, code: 2, message: /thread: unknown setting .*known settings are/ },
  { name: 'wrong type in the config file', args: [], file: { queues: 'a,b', threads: 'many' }, code: 2, message: /threads: must be a whole number .* in .*\.json/ },
  { name: 'heartbeat too slow for the lease', args: ['--lease-ms', '2000', '--heartbeat-ms', '1500'], code: 2, message: /heartbeatMs: 1500 must be at most half of leaseMs/ },
  { name: 'bad queue name', args: ['--queues', 'a{b}'], code: 2, message: /queues: queue "a\{b\}" is not a valid name/ },
  { name: 'unknown flag', args: ['--thredas', '2'], code: 2, message: /Unknown argument: thredas/ },
  // A Redis that does not answer yet is waited for, not refused: test/supervisor-redis-wait.test.ts.
  { name: 'missing plugin', args: ['--plugin', './no-such-plugin.mjs'], code: 2, message: /plugin "\.\/no-such-plugin\.mjs": no file at/ },
];

for (const c of BAD_CONFIG) {
  test(`bad configuration is refused with a message: ${c.name}`, async () => {
    const args = [...c.args];
    if (c.file) {
      const path = join(tempDir('config'), 'troupe.json');
      writeFileSync(path, JSON.stringify(c.file));
      args.push('--config', path);
    }
    const run = await runCli(['supervise', ...args], { TROUPE_REDIS_URL: '', REDIS_URL: '', ...c.env }, 30_000);
    assert.equal(run.code, c.code, `exit code; stderr: ${run.stderr}`);
    assert.match(run.stderr, c.message);
  });
}

test('a password Redis refuses is a configuration error: exit 2 at once, saying the password was refused', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const admin = new Redis(redis.port, '127.0.0.1');
  await admin.config('SET', 'requirepass', 'the-right-one');
  admin.disconnect();
  for (const [url, said] of [
    [`redis://:wrong@127.0.0.1:${redis.port}`, /^troupe: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password \(WRONGPASS .*\): fix USER:PASSWORD@ in --redis-url/],
    [redis.url, /^troupe: Redis at redis:\/\/127\.0\.0\.1:\d+ requires a password and none was given \(NOAUTH .*\): add :PASSWORD@/],
  ] as const) {
    const run = await runCli(['supervise', '--http-port', '0'], { TROUPE_REDIS_URL: url }, 30_000);
    assert.equal(run.code, 2, `exit code for ${url}; stderr: ${run.stderr}`);
    assert.match(run.stderr, said);
    assert.doesNotMatch(run.stderr, /wrong@|check that the server is running/, 'the password is not shown, and no talk of a server that is not running');
  }
});

test('the README main command (troupe demo) processes sample jobs and exits 0', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const run = await runCli(['demo', '--jobs', '60'], { TROUPE_REDIS_URL: redis.url }, 60_000);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Demo finished/);
  assert.match(run.stdout, /completed\s+54/);
  assert.match(run.stdout, /dead \(failed every attempt, by design\)\s+6/);
});

// The private redis-server started when no Redis is given: test/local-redis.test.ts.

test('Redis paused (SIGSTOP) mid-run: the supervisor waits it out and the run completes with nothing lost', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const record = join(tempDir('pause'), 'runs.txt');
  const queue = new Queue('paused-redis', { connection: redis.url });
  cleanup.push(() => queue.close());
  const s = new SupervisorProcess(['--queues', 'paused-redis', '--threads', '2', '--plugin', join(PLUGIN_DIR, 'record.mjs')], {
    TROUPE_REDIS_URL: redis.url,
    TROUPE_TEST_RECORD: record,
  });
  cleanup.push(() => s.kill());
  await s.started();
  const total = 2000;
  await queue.enqueueMany(Array.from({ length: total }, (_, i) => ({ processor: 'record', data: { i, ms: 2 }, options: { keepCompleted: { count: total } } })));
  await eventually(async () => readRecord(record).length >= 200, 30_000, 'work under way');
  redis.pause();
  await new Promise((r) => setTimeout(r, 2000));
  redis.resume();
  await eventually(async () => (await queue.counts()).completed === total, 60_000, 'all jobs completed after the pause');
  assert.equal(new Set(readRecord(record).map((r) => r.id)).size, total);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('a second signal exits at once; the held jobs come back when their leases expire', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const queue = new Queue('second-signal', { connection: redis.url });
  cleanup.push(() => queue.close());
  const s = new SupervisorProcess(['--queues', 'second-signal', '--threads', '1', '--lease-ms', '1000', '--heartbeat-ms', '200'], { TROUPE_REDIS_URL: redis.url });
  cleanup.push(() => s.kill());
  await s.started();
  const { id } = await queue.enqueue('sleep', { ms: 60_000 }, { attempts: 3 });
  await eventually(async () => (await queue.getJob(id))?.state === 'active', 10_000, 'the job to start');
  s.child.kill('SIGTERM');
  await s.waitForLog((l) => l.msg.startsWith('shutting down'));
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 1, 'exits at once with 1, without waiting for the 60 s job');
  assert.equal((await queue.getJob(id))?.state, 'active', 'still leased by the dead process');
  // Another supervisor reclaims it once the lease expires.
  const next = new SupervisorProcess(['--queues', 'second-signal', '--threads', '1', '--lease-ms', '1000', '--heartbeat-ms', '200'], { TROUPE_REDIS_URL: redis.url });
  cleanup.push(() => next.kill());
  await next.started();
  const job = await eventually(async () => {
    const j = await queue.getJob(id);
    return j && j.leaseExpiries === 1 && j.state === 'active' ? j : undefined;
  }, 15_000, 'the job to be reclaimed and re-leased');
  assert.equal(job.attempts, 2);
});
