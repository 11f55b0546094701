import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { Queue } from '../src/index.js';
import { defaultConfig, type SupervisorConfig } from '../src/supervisor/config.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import type { Supervisor } from '../src/supervisor/supervisor.js';
import { capturingLogger, promtool } from './helpers/metrics.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, type LogLine } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function privateRedis(): Promise<PrivateRedis> {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  return redis;
}

/** An embedded supervisor with the services `troupe supervise` gives it, logging into `lines`. */
async function supervisor(redisUrl: string, overrides: Partial<SupervisorConfig>): Promise<{ s: Supervisor; lines: LogLine[]; base: string }> {
  const config = { ...defaultConfig(), redisUrl, threads: 2, heartbeatMs: 200, leaseMs: 2000, httpPort: await freePort(), ...overrides };
  const { logger, lines } = capturingLogger();
  const s = await buildSupervisor(config, { logger });
  await s.start();
  cleanup.push(() => s.stop());
  return { s, lines, base: `http://127.0.0.1:${config.httpPort}` };
}

function queueOn(url: string, name: string): Queue {
  const q = new Queue(name, { connection: url });
  cleanup.push(() => q.close());
  return q;
}

async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

test('/metrics passes promtool and counts the jobs; /status, /ready, /openapi.json, 404 and 405', async (t) => {
  const redis = await privateRedis();
  // The long job is still running at the end: stopping gives it 2 s (3 s less the part kept for
  // writing outcomes), not the default 30 s, and the endpoint answers meanwhile.
  const { s, base } = await supervisor(redis.url, { queues: ['web'], shutdownTimeoutMs: 3000 });
  const queue = queueOn(redis.url, 'web');
  await queue.enqueueMany([
    ...Array.from({ length: 40 }, (_, i) => ({ processor: 'sleep', data: { ms: 1 + (i % 5) } })),
    { processor: 'fail', data: { mode: 'throw' }, options: { attempts: 2, backoff: [0] } },
    { processor: 'sleep', data: { ms: 60_000 }, options: { jobId: 'long' } },
  ]);
  await eventually(async () => {
    const c = await queue.counts();
    return c.completed === 40 && c.dead === 1;
  }, 20_000, 'jobs finished');

  const text = await eventually(async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const body = await res.text();
    return /^troupe_queue_jobs\{queue="web",state="completed"\} 40$/m.test(body) ? body : undefined;
  }, 5000, 'depths polled');
  assert.match(text, /^troupe_jobs_completed_total\{queue="web",processor="sleep"\} 40$/m);
  assert.match(text, /^troupe_jobs_failed_total\{queue="web",processor="fail"\} 2$/m);
  assert.match(text, /^troupe_jobs_retried_total\{queue="web",processor="fail"\} 1$/m);
  assert.match(text, /^troupe_jobs_dead_total\{queue="web",processor="fail"\} 1$/m);
  assert.match(text, /^troupe_job_run_seconds_count\{queue="web",processor="sleep"\} 40$/m);
  assert.match(text, /^troupe_job_end_to_end_seconds_bucket\{queue="web",processor="sleep",le="\+Inf"\} 40$/m);
  assert.match(text, /^troupe_job_wait_recent_seconds\{queue="web",processor="sleep",quantile="0.99"\} \d/m);
  assert.match(text, /^troupe_queue_jobs\{queue="web",state="active"\} 1$/m);
  assert.match(text, /^troupe_threads\{state="busy"\} 1$/m);
  assert.match(text, /^troupe_jobs_in_flight\{state="running"\} 1$/m);
  assert.match(text, /^troupe_jobs_per_second\{queue="web",processor="sleep",outcome="completed",window="1m"\} \d/m);
  const check = promtool(text);
  if (check) {
    assert.equal(check.status, 0, check.output);
    assert.equal(check.output.trim(), '', `promtool lint: ${check.output}`);
  } else {
    t.diagnostic('promtool is not installed (Debian: apt-get install prometheus); exposition checked by the assertions above only');
  }

  const status = await getJson<{
    supervisor: { queues: string[]; shuttingDown: boolean };
    threads: { total: number; busy: number; idle: number };
    inFlight: { count: number; jobs: Array<{ id: string; state: string; ageMs: number }> };
    queues: Record<string, { depth: { completed: number }; processors: Record<string, { counts: { completed: number }; run: { count: number; mean: number; p95: number; p99: number; max: number } }> }>;
  }>(`${base}/status`);
  assert.equal(status.status, 200);
  assert.deepEqual(status.body.supervisor.queues, ['web']);
  // The two CPU threads and the I/O thread, where the long sleep waits (sleep is an I/O processor).
  assert.deepEqual([status.body.threads.total, status.body.threads.busy, status.body.threads.idle], [3, 1, 2]);
  assert.deepEqual([status.body.inFlight.count, status.body.inFlight.jobs[0]?.id, status.body.inFlight.jobs[0]?.state], [1, 'long', 'running']);
  assert.ok(status.body.inFlight.jobs[0]!.ageMs >= 0);
  const web = status.body.queues.web!;
  assert.deepEqual([web.depth.completed, web.processors.sleep?.counts.completed, web.processors.sleep?.run.count], [40, 40, 40]);
  assert.ok(web.processors.sleep!.run.p99 >= 1, 'sleeps of 1-5 ms');
  const run = web.processors.sleep!.run;
  assert.ok(run.mean >= 1 && run.mean <= run.max && run.p95 >= 1 && run.p95 <= run.p99, `/status has the mean and p95: ${JSON.stringify(run)}`);

  assert.deepEqual(await getJson(`${base}/ready`).then((r) => [r.status, r.body.status]), [200, 'ok']);
  const openapi = await getJson<{ openapi: string; paths: Record<string, unknown> }>(`${base}/openapi.json`);
  assert.equal(openapi.body.openapi, '3.0.3');
  assert.deepEqual(Object.keys(openapi.body.paths).sort(), ['/docs', '/health', '/metrics', '/openapi.json', '/openapi.yaml', '/ready', '/status']);
  assert.equal((await getJson(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);

  // While the long job gets its shutdown time, the endpoint still answers: not ready, still alive.
  const stopping = s.stop();
  const notReady = await getJson<{ status: string; reasons: string[]; shuttingDown: boolean }>(`${base}/ready`);
  assert.deepEqual([notReady.status, notReady.body.shuttingDown, notReady.body.reasons], [503, true, ['supervisor: shutting down, no longer leasing']]);
  assert.equal((await fetch(`${base}/health`)).status, 200);
  await stopping;
  await assert.rejects(fetch(`${base}/health`), 'the endpoint is closed once the supervisor stopped');
});

test('/health reports an event loop that was blocked for more than a second', async () => {
  const redis = await privateRedis();
  const { base } = await supervisor(redis.url, { queues: ['blocked'] });
  assert.equal((await fetch(`${base}/health`)).status, 200);
  // The supervisor is embedded: blocking this test's loop blocks its loop.
  const until = Date.now() + 1300;
  while (Date.now() < until) Math.imul(7, 13);
  const r = await getJson<{ reasons: string[]; checks: { eventLoop: { lagMs: number } } }>(`${base}/health`);
  assert.equal(r.status, 503);
  assert.match(r.body.reasons.join(), /^event loop: worst recent lag \d+ ms \(limit 1000 ms\)$/);
  assert.ok(r.body.checks.eventLoop.lagMs >= 1200);
});

test('/health turns 503 with the reason when Redis stops, and 200 when it is back', async () => {
  const redis = await privateRedis();
  const { base } = await supervisor(redis.url, { queues: ['health'] });
  const healthy = await getJson<{ status: string; reasons: string[]; checks: { redis: { ok: boolean }; pool: { threads: number } } }>(`${base}/health`);
  assert.deepEqual([healthy.status, healthy.body.status, healthy.body.reasons, healthy.body.checks.pool.threads], [200, 'ok', [], 2]);

  await redis.stop();
  const down = await eventually(async () => {
    const r = await getJson<{ status: string; reasons: string[] }>(`${base}/health`);
    return r.status === 503 ? r : undefined;
  }, 10_000, '/health to report 503');
  assert.equal(down.body.status, 'unhealthy');
  assert.equal(down.body.reasons.length, 1);
  assert.match(down.body.reasons[0]!, /^redis: /);
  assert.equal((await fetch(`${base}/ready`)).status, 503);

  await redis.restart();
  await eventually(async () => (await fetch(`${base}/health`)).status === 200, 15_000, '/health to report 200 again');
});

test('/health reports a Redis that hangs (SIGSTOP) within its PING timeout', async () => {
  const redis = await privateRedis();
  const { base } = await supervisor(redis.url, { queues: ['hang'] });
  redis.pause();
  try {
    const r = await getJson<{ reasons: string[] }>(`${base}/health`);
    assert.equal(r.status, 503);
    assert.match(r.body.reasons.join(), /redis: no answer to PING within 1000 ms/);
  } finally {
    redis.resume();
  }
  await eventually(async () => (await fetch(`${base}/health`)).status === 200, 10_000, '/health to recover');
});

test('a taken HTTP port is a warning: the supervisor runs its jobs without the endpoint', async () => {
  const redis = await privateRedis();
  const port = await freePort();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const { lines } = await supervisor(redis.url, { queues: ['taken'], httpPort: port });
  const warning = lines.find((l) => l.level === 40 && /HTTP endpoint not started: EADDRINUSE/.test(l.msg));
  assert.ok(warning, 'a warning names the cause');
  assert.match(warning.msg, /give this supervisor its own --http-port, or 0/);
  const queue = queueOn(redis.url, 'taken');
  await queue.enqueue('echo', 1);
  await eventually(async () => (await queue.counts()).completed === 1, 10_000, 'the job ran');
});

test('a metrics line every --metrics-interval; an alert warns once when crossed and once when cleared', async () => {
  const redis = await privateRedis();
  const { lines } = await supervisor(redis.url, { queues: ['alerts'], metricsInterval: 1, alertQueueDepth: 5, httpPort: 0 });
  const queue = queueOn(redis.url, 'alerts');
  await queue.pause();
  await queue.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ processor: 'echo', data: i })));
  const fired = await eventually(async () => lines.find((l) => l.alert === 'queueDepth'), 10_000, 'the depth alert');
  assert.deepEqual([fired.level, fired.queue, fired.value, fired.threshold], [40, 'alerts', 10, 5]);
  assert.match(fired.msg, /^alert: pending jobs is 10 on alerts, above 5$/);
  await queue.resume();
  const cleared = await eventually(async () => lines.find((l) => l.alert === 'queueDepth' && /cleared/.test(l.msg)), 10_000, 'the alert to clear');
  assert.deepEqual([cleared.level, cleared.value], [40, 0]);
  assert.equal(lines.filter((l) => l.alert === 'queueDepth').length, 2, 'one line each way, not one per heartbeat');

  const line = await eventually(async () => {
    const l = lines.filter((x) => x.msg === 'metrics').at(-1) as (LogLine & { metrics: { queues: Record<string, { depth: { completed: number }; processors: Record<string, { counts: { completed: number }; run: { p99: number } }> }> } }) | undefined;
    return l?.metrics.queues.alerts?.processors.echo?.counts.completed === 10 ? l : undefined;
  }, 10_000, 'a metrics line with the completed jobs');
  const q = line.metrics.queues.alerts!;
  assert.equal(q.depth.completed, 10);
  assert.ok(Object.keys(q.processors.echo!).includes('rates'));
  assert.ok(['count', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'].every((k) => k in q.processors.echo!.run), 'the log line has the mean and p95 with the percentiles');
  await eventually(async () => lines.filter((l) => l.msg === 'metrics').length >= 2, 5000, 'a second metrics line a second later');
});

test('--metrics-interval below the heartbeat is honoured: a line every second with a 10 s heartbeat', async () => {
  const redis = await privateRedis();
  const { lines } = await supervisor(redis.url, { queues: ['often'], metricsInterval: 1, heartbeatMs: 10_000, leaseMs: 30_000, httpPort: 0 });
  // Before: the line was only checked at each heartbeat, so the first came after 10 s.
  await eventually(async () => lines.filter((l) => l.msg === 'metrics').length >= 3, 8000, 'three metrics lines before the first heartbeat');
});
