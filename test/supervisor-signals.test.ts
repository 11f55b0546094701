import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { listSupervisors } from '../src/supervisor/registry.js';
import { eventually, PLUGIN_DIR, SupervisorProcess } from './helpers/supervisor-process.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { freePort } from './helpers/redis-server.js';

const fx = usePrivateRedis();

function supervisor(args: string[], env: NodeJS.ProcessEnv = {}): SupervisorProcess {
  const s = new SupervisorProcess(['--threads', '2', ...args], { TROUPE_REDIS_URL: fx.redis.url, ...env });
  fx.cleanup(() => s.kill());
  return s;
}

const open = fx.openQueue;

test('processor signals: unrecoverable goes dead at once, retry-after sets the delay, resource pauses the queue', async () => {
  const queue = open('signals');
  const httpPort = await freePort();
  const s = supervisor(['--queues', 'signals', '--http-port', String(httpPort)]);
  await s.started();

  const unrecoverable = await queue.enqueue('fail', { mode: 'unrecoverable' }, { attempts: 5 });
  const dead = await eventually(async () => {
    const j = await queue.getJob(unrecoverable.id);
    return j?.state === 'dead' ? j : undefined;
  }, 10_000, 'the unrecoverable job to be dead');
  assert.equal(dead.attempts, 1, 'no retries');

  const retryAfter = await queue.enqueue('fail', { mode: 'retry-after', ms: 60_000 }, { attempts: 5 });
  const delayed = await eventually(async () => {
    const j = await queue.getJob(retryAfter.id);
    return j?.state === 'delayed' ? j : undefined;
  }, 10_000, 'the retry-after job to wait');
  const wait = delayed.runAt! - delayed.errors[0]!.at!;
  assert.ok(wait >= 59_000 && wait <= 60_000, `retry scheduled ${wait} ms after the failure`);

  const resource = await queue.enqueue('fail', { mode: 'resource', ms: 30_000 }, { attempts: 1 });
  const counts = await eventually(async () => {
    const c = await queue.counts();
    return c.resourcePause ? c : undefined;
  }, 10_000, 'the queue to be paused for the resource');
  assert.ok(counts.resourcePause!.until - Date.now() > 25_000);
  assert.match(counts.resourcePause!.reason, /./);
  const job = await queue.getJob(resource.id);
  assert.equal(job?.state, 'pending', 'handed back, not failed');
  assert.equal(job?.attempts, 0, 'without using its only attempt');
  // A resource pause is an outcome like any other: it reaches the metrics.
  const metrics = await eventually(async () => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    return /^troupe_jobs_resource_paused_total\{queue="signals",processor="fail"\} 1$/m.test(text) ? text : undefined;
  }, 10_000, 'the resource pause in /metrics');
  assert.match(metrics, /^troupe_jobs_released_total\{queue="signals",processor="fail"\} 0$/m, 'counted once, as a pause');
  const held = await queue.enqueue('echo', 'waits for the pause');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await queue.getJob(held.id))?.state, 'pending', 'nothing runs while the queue is paused');
  await queue.resume();
  assert.equal(await queue.waitForResult(held.id, { timeoutMs: 10_000 }), 'waits for the pause');

  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
  // The resumed queue runs the resource job again, which may pause it once more before the exit.
  assert.ok(Number(stopped?.resourcePauses) >= 1, `resourcePauses: ${String(stopped?.resourcePauses)}`);
});

test('follow-up jobs are enqueued with ids derived from the parent, on any queue, exactly once', async () => {
  const queue = open('parents');
  const other = open('children');
  const s = supervisor(['--queues', 'parents,children', '--plugin', join(PLUGIN_DIR, 'parent.mjs')]);
  await s.started();
  const { id } = await queue.enqueue('parent', { otherQueue: 'children' });
  assert.deepEqual(await queue.waitForResult(id, { timeoutMs: 10_000 }), { spawned: 2 });
  assert.deepEqual(await queue.waitForResult(`${id}.0`, { timeoutMs: 10_000 }), { from: id, step: 1 });
  assert.deepEqual(await other.waitForResult(`${id}.1`, { timeoutMs: 10_000 }), { from: id, step: 2 });
  // A re-run of the parent (after a crash before its completion was written) names the same ids.
  const again = await other.enqueue('echo', { from: id, step: 2 }, { jobId: `${id}.1` });
  assert.equal(again.outcome, 'exists');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('a supervisor registers itself with its details and leaves the registry on a clean exit', async () => {
  const s = supervisor(['--queues', 'reg-a,reg-b', '--heartbeat-ms', '200']);
  await s.started();
  const entry = await eventually(async () => (await listSupervisors(fx.client)).find((e) => e.pid === s.pid), 5000, 'the registry entry');
  assert.deepEqual(entry.queues, ['reg-a', 'reg-b']);
  assert.equal(entry.threads, 2);
  assert.equal(entry.stale, false);
  assert.ok(entry.heartbeatAt >= entry.startedAt);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  assert.equal((await listSupervisors(fx.client)).some((e) => e.pid === s.pid), false);
});

test('--processes 2: a director runs two supervisors and restarts one that is killed', async () => {
  const queue = open('directed');
  const d = supervisor(['--queues', 'directed', '--processes', '2', '--threads', '1', '--heartbeat-ms', '200']);
  const children = async () => (await listSupervisors(fx.client)).filter((e) => e.queues.includes('directed') && !e.stale);
  const first = await eventually(async () => {
    const list = await children();
    return list.length === 2 ? list : undefined;
  }, 20_000, 'two supervisors registered');
  const victim = first[0]!.pid;
  process.kill(victim, 'SIGKILL');
  await eventually(async () => {
    const list = await children();
    return list.length === 2 && list.every((e) => e.pid !== victim) ? list : undefined;
  }, 30_000, 'the killed supervisor to be replaced');
  const { id } = await queue.enqueue('echo', 'served');
  assert.equal(await queue.waitForResult(id, { timeoutMs: 10_000 }), 'served');
  d.child.kill('SIGTERM');
  assert.equal(await d.exited, 0);
  assert.deepEqual(await children(), [], 'both children left the registry');
});
