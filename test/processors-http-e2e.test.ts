/**
 * The `http` processor behind a real supervisor configured with TROUPE_HTTP_EXECUTORS: jobs reach
 * the healthy executor; with none healthy a job fails, follows its retry policy, and completes
 * once an executor comes back, or ends dead with the reason when none does.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { Queue } from '../src/index.js';
import { startExecutor, type Executor } from './fixtures/http/executor.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, SupervisorProcess } from './helpers/supervisor-process.js';

let redis: PrivateRedis;
let supervisor: SupervisorProcess;
let queue: Queue;
let live: Executor;
let comesBackPort: number;
const cleanup: Array<() => Promise<void>> = [];

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

before(async () => {
  redis = await startPrivateRedis();
  live = await startExecutor('live');
  cleanup.push(() => live.close());
  comesBackPort = await freePort();
  supervisor = new SupervisorProcess(['--threads', '1', '--queues', 'http-e2e'], {
    TROUPE_REDIS_URL: redis.url,
    TROUPE_HTTP_EXECUTORS: `http://127.0.0.1:${comesBackPort},${live.url}`,
  });
  await supervisor.started();
  queue = new Queue('http-e2e', { connection: redis.url });
});
after(async () => {
  await queue?.close();
  await supervisor?.kill();
  for (const fn of cleanup.reverse()) await fn();
  await redis?.destroy();
});

test('jobs go to the healthy executor from TROUPE_HTTP_EXECUTORS; the dead one is skipped', async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await queue.enqueue('http', { input: { n: i } })).id);
  for (const [i, id] of ids.entries()) {
    assert.deepEqual(await queue.waitForResult(id, { timeoutMs: 20_000 }), { by: 'live', echoed: { n: i }, jobId: id });
  }
});

test('no healthy executor: the job follows its retry policy and completes when an executor comes back', async () => {
  live.health = 'fail';
  // A good health answer is trusted for 1 s (healthTtlMs): let the last one lapse.
  await new Promise((r) => setTimeout(r, 1200));
  const { id } = await queue.enqueue('http', { input: 'patient' }, { attempts: 20, backoff: { type: 'fixed', ms: 300 } });
  const failedOnce = await eventually(async () => {
    const j = await queue.getJob(id);
    return j && j.errors.length > 0 ? j : undefined;
  }, 20_000, 'a first failed attempt');
  assert.equal(failedOnce.errors[0]!.code, 'HTTP_NO_HEALTHY_EXECUTOR');
  assert.match(failedOnce.errors[0]!.message, /no healthy executor among 2/);
  const back = await startExecutor('back', comesBackPort);
  cleanup.push(() => back.close());
  const result = (await queue.waitForResult(id, { timeoutMs: 30_000 })) as { by: string };
  assert.equal(result.by, 'back');
  const job = await queue.getJob(id);
  assert.ok((job?.attempts ?? 0) >= 2, 'it took more than one attempt');
  live.health = 'ok';
});

test('when no executor comes back, the job ends dead with the reason after its attempts', async () => {
  live.health = 'fail';
  try {
    const { id } = await queue.enqueue('http', { input: 1, executors: [live.url] }, { attempts: 3, backoff: { type: 'fixed', ms: 100 } });
    const dead = await eventually(async () => {
      const j = await queue.getJob(id);
      return j?.state === 'dead' ? j : undefined;
    }, 30_000, 'the job to be dead');
    assert.equal(dead.attempts, 3);
    assert.equal(dead.error?.code, 'HTTP_NO_HEALTHY_EXECUTOR');
    assert.match(dead.error?.message ?? '', /GET \/health answered 503/);
  } finally {
    live.health = 'ok';
  }
});
