/**
 * Redis out of reach at start and mid-run: a supervisor started before its Redis waits for it
 * (back-off up to 30 s) with /health and /ready answering 503 and the reason, starts when it
 * answers, and an outage mid-run is logged once when it begins and once when it ends, with its
 * length. Connection warnings go through the JSON log, never as raw "(node:…)" lines.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from '../src/index.js';
import { freePort, startPrivateRedis } from './helpers/redis-server.js';
import { eventually, SupervisorProcess, type LogLine } from './helpers/supervisor-process.js';

async function getJson(port: number, path: string): Promise<{ status: number; body: { status: string; reasons: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as { status: string; reasons: string[] } };
}

const waiting = (l: LogLine) => l.level === 40 && /^cannot reach Redis at .*; waiting for it/.test(l.msg);

test('started before its Redis: waits with /health and /ready at 503, then starts and runs jobs once Redis answers', async (t) => {
  const redis = await startPrivateRedis();
  t.after(() => redis.destroy());
  // The port is known and free: the supervisor starts against a Redis that is not there yet.
  await redis.stop();
  const httpPort = await freePort();
  const s = new SupervisorProcess(['--queues', 'late', '--threads', '1', '--http-port', String(httpPort)], { TROUPE_REDIS_URL: redis.url });
  t.after(() => s.kill());
  const first = await s.waitForLog(waiting);
  assert.match(first.msg, /connection refused/);
  const health = await eventually(async () => getJson(httpPort, '/health').catch(() => undefined), 10_000, 'the HTTP endpoint to answer');
  assert.equal(health.status, 503);
  assert.match(health.body.reasons.join('\n'), /^redis: not reached yet \(waiting for \d+ s\): cannot reach Redis.*; next attempt in \d+ s$/m);
  assert.equal((await getJson(httpPort, '/ready')).status, 503);
  // Several attempts (0.5 s, 1 s, 2 s apart), one line for them all.
  await new Promise((r) => setTimeout(r, 3000));
  await redis.restart();
  const reached = await s.waitForLog((l) => l.msg.startsWith('Redis reached after waiting'), 20_000);
  assert.ok(Number(reached.waitedMs) >= 3000, `waited ${String(reached.waitedMs)} ms`);
  await s.started();
  assert.equal(s.logs.filter(waiting).length, 1, 'the wait was logged once');
  assert.equal((await getJson(httpPort, '/health')).status, 200);
  assert.equal((await getJson(httpPort, '/ready')).status, 200);
  const queue = new Queue('late', { connection: redis.url });
  t.after(() => queue.close());
  const { id } = await queue.enqueue('echo', 'after the wait');
  assert.equal(await queue.waitForResult(id, { timeoutMs: 10_000 }), 'after the wait');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  assert.doesNotMatch(s.stderr, /\(node:\d+\)/, 'no raw process warnings');
});

test('SIGTERM while waiting for Redis: stops at once, exit 0', async (t) => {
  const port = await freePort();
  const httpPort = await freePort();
  const s = new SupervisorProcess(['--queues', 'never', '--threads', '1', '--http-port', String(httpPort)], { TROUPE_REDIS_URL: `redis://127.0.0.1:${port}` });
  t.after(() => s.kill());
  await s.waitForLog(waiting);
  await eventually(async () => getJson(httpPort, '/health').catch(() => undefined), 10_000, 'the HTTP endpoint to answer');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const stopped = s.logs.find((l) => l.msg === 'supervisor stopped');
  assert.equal(stopped?.complete, true);
  assert.ok(!s.logs.some((l) => l.msg === 'supervisor started'));
});

for (const outage of ['paused (SIGSTOP: no answers, connections stay open)', 'stopped and restarted'] as const) {
  test(`Redis ${outage} mid-run: one line when it stops answering, one when it is back with the outage's length`, async (t) => {
    const redis = await startPrivateRedis({ aof: true });
    t.after(() => redis.destroy());
    const s = new SupervisorProcess(['--queues', 'outage', '--threads', '1', '--http-port', '0'], { TROUPE_REDIS_URL: redis.url });
    t.after(() => s.kill());
    await s.started();
    if (outage.startsWith('paused')) redis.pause();
    else await redis.stop();
    await s.waitForLog((l) => l.msg.startsWith('Redis stopped answering'), 10_000);
    // Long enough for many reconnect attempts and several 30 s-throttled warnings' worth of retries.
    await new Promise((r) => setTimeout(r, 3000));
    if (outage.startsWith('paused')) redis.resume();
    else await redis.restart();
    const back = await s.waitForLog((l) => l.msg.startsWith('Redis reconnected after an outage of'), 20_000);
    assert.ok(Number(back.outageMs) >= 3000, `outage of ${String(back.outageMs)} ms`);
    assert.equal(s.logs.filter((l) => l.msg.startsWith('Redis stopped answering')).length, 1, 'said once that it stopped');
    assert.equal(s.logs.filter((l) => l.msg.startsWith('Redis reconnected')).length, 1, 'and once that it is back');
    assert.ok(!s.logs.some((l) => l.level >= 40 && /Redis connection error/.test(l.msg)), 'no warning per reconnect attempt');
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.doesNotMatch(s.stderr, /\(node:\d+\)/, 'no raw process warnings');
  });
}
