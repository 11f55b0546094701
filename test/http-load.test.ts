/**
 * Issue 16.9: 1,000 concurrent GET /metrics against a real supervisor with leases in flight.
 * Before, each request built the ~200 KB text itself, so the burst held the event loop that
 * renews leases for seconds: /health answered 503 and leases ran late. Asserted on counts only:
 * how often the text was built, which answers came back (200, or 503 with Retry-After past
 * --http-max-concurrent), what /health said meanwhile, and that no lease was lost.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { Queue } from '../src/index.js';
import { defaultConfig, type SupervisorConfig } from '../src/supervisor/config.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import { PROMETHEUS_MAX_AGE_MS } from '../src/supervisor/metrics-service.js';
import { capturingLogger } from './helpers/metrics.js';
import { freePort, startPrivateRedis } from './helpers/redis-server.js';
import { eventually } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const REQUESTS = 1000;
const CAP = 16;
const LONG_JOBS_PER_QUEUE = 4;

interface Answer {
  status: number | string;
  retryAfter?: string;
  body: string;
}

function get(url: string, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    // Counted as an answer that is neither 200 nor 503, so the assertions below name it.
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: `error ${err.code ?? err.message}`, body: '' }));
  });
}

/** `n` connected sockets to the endpoint, opened 100 at a time (node's accept backlog is 511). */
async function openSockets(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => connect(port, '127.0.0.1'));
    await Promise.all(batch.map((socket) => new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))));
    sockets.push(...batch);
  }
  return sockets;
}

/** Writes one GET on every socket in the same tick, and reads each answer's status and Retry-After. */
function fire(sockets: readonly Socket[], path: string): Promise<Answer[]> {
  const answers = sockets.map(
    (socket) =>
      new Promise<Answer>((resolve) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', () => undefined); // A reset shows as a missing status line below.
        socket.once('close', () => {
          const text = Buffer.concat(chunks).toString('latin1');
          const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')));
          const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
          resolve({ status: status ? Number(status) : `no status line (${chunks.length} chunks)`, retryAfter: /^retry-after: *(.*)$/im.exec(head)?.[1]?.trim(), body: '' });
        });
      }),
  );
  for (const socket of sockets) socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  return Promise.all(answers);
}

/** One sample's value in a Prometheus text, or undefined when the text lacks it. */
function value(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test('1,000 concurrent /metrics: the text is built about once a second, past the cap 503 + Retry-After, /health stays 200, no lease lost', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const port = await freePort();
  const queues = ['web', 'mail'];
  // Leases of 2 s renewed every 200 ms: a loop held for a couple of seconds loses them.
  const config: SupervisorConfig = { ...defaultConfig(), redisUrl: redis.url, queues, threads: 2, heartbeatMs: 200, leaseMs: 2000, httpPort: port, httpMaxConcurrent: CAP, shutdownTimeoutMs: 2000 };
  const { logger } = capturingLogger('error');
  const s = await buildSupervisor(config, { logger });
  await s.start();
  cleanup.push(() => s.stop());
  let renewalRounds = 0;
  let lost = 0;
  s.events.on('renewed', (e) => {
    renewalRounds += 1;
    lost += e.lost;
  });
  s.events.on('settled', ({ disposition }) => {
    if (disposition === 'lost') lost += 1;
  });
  const qs = queues.map((name) => {
    const q = new Queue(name, { connection: redis.url });
    cleanup.push(() => q.close());
    return q;
  });
  // History in every series (three processors per queue), so the text is the size of a real one.
  for (const q of qs) {
    await q.enqueueMany([
      ...Array.from({ length: 200 }, (_, i) => ({ processor: 'echo', data: { i } })),
      ...Array.from({ length: 40 }, (_, i) => ({ processor: 'sleep', data: { ms: 1 + (i % 7) } })),
      ...Array.from({ length: 5 }, () => ({ processor: 'fail', data: { mode: 'throw' }, options: { attempts: 1 } })),
    ]);
  }
  await eventually(async () => (await Promise.all(qs.map((q) => q.counts()))).every((c) => c.pending === 0 && c.active === 0), 30_000, 'the history jobs finished');
  for (const q of qs) await q.enqueueMany(Array.from({ length: LONG_JOBS_PER_QUEUE }, () => ({ processor: 'sleep', data: { ms: 600_000 } })));
  const held = queues.length * LONG_JOBS_PER_QUEUE;
  await eventually(async () => s.status().inFlight.filter((j) => j.state === 'running').length === held, 20_000, 'the long jobs running');
  await eventually(async () => renewalRounds >= 2, 10_000, 'leases renewed');

  const base = `http://127.0.0.1:${port}`;
  const probeAgent = new http.Agent({ keepAlive: false, maxSockets: 2 });
  const before = await get(`${base}/metrics`, probeAgent);
  assert.equal(before.status, 200);
  assert.ok(before.body.length > 50_000, `the text is big enough to cost something (${before.body.length} bytes)`);
  const rendersBefore = value(before.body, 'troupe_metrics_renders_total');
  const refusedBefore = value(before.body, 'troupe_http_requests_refused_total');
  const lostBefore = lost;

  // The flood: every connection open first, then all the requests written at once, so they reach
  // the supervisor together (as a burst from many clients does), not paced by connection set-up.
  // /health is asked over and over on its own sockets while it lasts.
  const sockets = await openSockets(port, REQUESTS);
  await new Promise((r) => setTimeout(r, 200)); // Accepted by the server, all of them.
  const began = performance.now();
  let flooding = true;
  const health: Answer[] = [];
  const polling = (async () => {
    while (flooding) {
      health.push(await get(`${base}/health`, probeAgent));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const answers = await fire(sockets, '/metrics');
  const floodMs = performance.now() - began;
  flooding = false;
  await polling;
  // A few renewal rounds after the flood, to see that every lease survived it.
  const roundsAfter = renewalRounds;
  await eventually(async () => renewalRounds >= roundsAfter + 3, 10_000, 'renewal rounds after the flood');

  // Past the age of the text the flood was served, so this one is built afresh with the counts.
  await new Promise((r) => setTimeout(r, PROMETHEUS_MAX_AGE_MS + 100));
  const after = await get(`${base}/metrics`, probeAgent);
  const finalHealth = await get(`${base}/health`, probeAgent);
  probeAgent.destroy();

  const byStatus = new Map<number | string, number>();
  for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
  const ok = byStatus.get(200) ?? 0;
  const refused = answers.filter((a) => a.status === 503);
  const problems: string[] = [];
  if (ok + refused.length !== REQUESTS) problems.push(`answers other than 200 and 503: ${JSON.stringify([...byStatus])}`);
  if (refused.length === 0) problems.push(`no request was refused with ${REQUESTS} sent at once and --http-max-concurrent ${CAP}: ${JSON.stringify([...byStatus])}`);
  const noRetryAfter = refused.filter((a) => a.retryAfter !== '1').length;
  if (noRetryAfter > 0) problems.push(`${noRetryAfter} of ${refused.length} 503s without Retry-After: 1`);
  // Built at most once per second of flood (plus the second it started in), not once per
  // request; and once more for the text read after it.
  const renders = (value(after.body, 'troupe_metrics_renders_total') ?? Number.NaN) - (rendersBefore ?? Number.NaN);
  const maxRenders = Math.ceil(floodMs / PROMETHEUS_MAX_AGE_MS) + 2;
  if (!(renders <= maxRenders)) problems.push(`the text was built ${renders} times for ${ok} answers in ${Math.round(floodMs)} ms (at most ${maxRenders}); troupe_metrics_renders_total ${rendersBefore} → ${value(after.body, 'troupe_metrics_renders_total')}`);
  const counted = (value(after.body, 'troupe_http_requests_refused_total') ?? Number.NaN) - (refusedBefore ?? Number.NaN);
  if (counted !== refused.length) problems.push(`troupe_http_requests_refused_total rose by ${counted}, ${refused.length} refused`);
  const unhealthy = health.filter((h) => h.status !== 200);
  if (health.length === 0) problems.push('/health never answered during the flood');
  if (unhealthy.length > 0) problems.push(`/health answered ${unhealthy.length} of ${health.length} times with other than 200: ${unhealthy.map((h) => `${h.status} ${h.body.replace(/\s+/g, ' ').slice(0, 300)}`).join(' | ')}`);
  if (finalHealth.status !== 200) problems.push(`/health after the flood: ${finalHealth.status} ${finalHealth.body}`);
  if (lost !== lostBefore) problems.push(`${lost - lostBefore} lease(s) lost during the flood`);
  const running = s.status().inFlight.filter((j) => j.state === 'running').length;
  if (running !== held) problems.push(`${running} of the ${held} long jobs still held after the flood`);
  assert.deepEqual(problems, []);
});
