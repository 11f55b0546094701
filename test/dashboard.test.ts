import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { Dashboard } from '../src/dashboard/dashboard.js';
import { ScheduleStore } from '../src/scheduler/store.js';
import { validateSchedule } from '../src/scheduler/spec.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { GuardedHttpServer } from '../src/supervisor/http-server.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import { queueKeys } from '../src/queue/keys.js';
import { capturingLogger } from './helpers/metrics.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, PROJECT_DIR, runCli } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let server: PrivateRedis | undefined;
async function redis(): Promise<{ url: string; client: Redis }> {
  if (!server) {
    server = await startPrivateRedis();
    const s = server;
    cleanup.push(() => s.destroy());
  }
  const client = new Redis(server.url);
  cleanup.push(() => client.disconnect());
  return { url: server.url, client };
}

function queueOn(url: string, name: string): Queue {
  const q = new Queue(name, { connection: url });
  cleanup.push(() => q.close());
  return q;
}

async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

const post = (url: string, body: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body: new URLSearchParams(body), headers, redirect: 'manual' });

test('a supervisor with --dashboard: overview, queue pages, search, job page, every action, confirmations, the API description', async () => {
  const { url, client } = await redis();
  const port = await freePort();
  const { logger, lines } = capturingLogger();
  const config = { ...defaultConfig(), redisUrl: url, threads: 1, minThreads: 1, queues: ['shop'], heartbeatMs: 200, leaseMs: 2000, httpPort: port, dashboard: true };
  const s = await buildSupervisor(config, { logger });
  await s.start();
  cleanup.push(() => s.stop());
  const base = `http://127.0.0.1:${port}`;

  const shop = queueOn(url, 'shop');
  const later = queueOn(url, 'later');
  await shop.enqueueMany([
    ...Array.from({ length: 3 }, (_, i) => ({ processor: 'fail', data: { mode: 'throw', message: 'card declined' }, options: { attempts: 1, jobId: `order-${i}`, metadata: { customer: i < 2 ? 'acme' : 'globex' } } })),
    { processor: 'echo', data: { ok: true }, options: { jobId: 'fine' } },
  ]);
  await eventually(async () => (await shop.counts()).dead === 3 && (await shop.counts()).completed === 1, 15_000, 'three dead, one completed');
  await later.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ processor: 'echo', data: i, options: { delayMs: 3_600_000, jobId: `later-${i}` } })));
  await later.enqueue('echo', 'now', { jobId: 'later-pending' });

  // Overview: both queues (later, which no supervisor serves, is found by its keys once a URL names it,
  // or by the next background scan), counts, supervisors.
  assert.equal((await fetch(`${base}/api/queues/later/jobs`)).status, 200);
  type OverviewJson = { queues: Array<{ name: string; counts: Record<string, number>; supervisors: string[] }> };
  const overview = await eventually(async () => {
    const o = await json<OverviewJson>(await fetch(`${base}/api/overview`));
    return o.queues.some((q) => q.name === 'later') ? o : undefined;
  }, 15_000, 'the later queue discovered');
  const shopRow = overview.queues.find((q) => q.name === 'shop')!;
  assert.deepEqual([shopRow.counts.dead, shopRow.counts.completed, shopRow.supervisors.length], [3, 1, 1]);
  assert.deepEqual(overview.queues.find((q) => q.name === 'later')!.supervisors, []);
  const html = await (await fetch(`${base}/`)).text();
  assert.match(html, /<tr data-queue="later">.*no supervisor/s);
  assert.match(html, /No supervisor serves later/);

  // Queue page: the dead jobs with their error, newest first.
  const deadPage = await (await fetch(`${base}/queues/shop?state=dead`)).text();
  assert.equal((deadPage.match(/card declined/g) ?? []).length, 3);
  assert.match(deadPage, /1–3 of 3 dead, newest first/);
  // Paging is capped whatever the URL asks.
  const capped = await json<{ limit: number; jobs: unknown[] }>(await fetch(`${base}/api/queues/later/jobs?state=delayed&limit=100000`));
  assert.deepEqual([capped.limit, capped.jobs.length], [100, 4]);
  const second = await json<{ jobs: Array<{ id: string }> }>(await fetch(`${base}/api/queues/later/jobs?state=delayed&limit=2&offset=2`));
  assert.deepEqual(second.jobs.map((j) => j.id), ['later-2', 'later-3']);

  // Search: by metadata, by processor, by id (a page redirects straight to the job).
  const byMeta = await json<{ jobs: Array<{ id: string }>; scanned: number }>(await fetch(`${base}/api/queues/shop/jobs?state=dead&by=metadata&q=customer%3Dacme`));
  assert.deepEqual(byMeta.jobs.map((j) => j.id).sort(), ['order-0', 'order-1']);
  assert.equal(byMeta.scanned, 3);
  const byProcessor = await json<{ jobs: unknown[] }>(await fetch(`${base}/api/queues/shop/jobs?state=completed&by=processor&q=echo`));
  assert.equal(byProcessor.jobs.length, 1);
  const byId = await fetch(`${base}/queues/shop?state=dead&by=id&q=order-2`, { redirect: 'manual' });
  assert.deepEqual([byId.status, byId.headers.get('location')], [303, '/queues/shop/jobs/order-2']);

  // Job page: state, attempts, the error of the attempt.
  const jobHtml = await (await fetch(`${base}/queues/shop/jobs/order-2`)).text();
  assert.match(jobHtml, /<div class="error" id="last-error"><strong>Last error<\/strong> \(attempt 1\): <code>Error<\/code>: card declined/);
  assert.match(jobHtml, /globex/);
  const detail = await json<{ job: { state: string; attempts: number } }>(await fetch(`${base}/api/queues/shop/jobs/order-2`));
  assert.deepEqual([detail.job.state, detail.job.attempts], ['dead', 1]);
  assert.equal((await fetch(`${base}/api/queues/shop/jobs/nope`)).status, 404);
  assert.equal((await fetch(`${base}/api/queues/unknown-queue/jobs`)).status, 404);

  // Actions: pause first so a retried job stays pending for the check.
  assert.equal((await post(`${base}/api/queues/shop/actions/pause`)).status, 200);
  assert.equal(await client.hget(queueKeys('shop').meta, 'paused'), '1');
  const retried = await post(`${base}/api/queues/shop/jobs/order-2/actions/retry`);
  assert.equal(retried.status, 200);
  assert.equal(await client.zscore(queueKeys('shop').dead, 'order-2'), null, 'left the dead-letter set');
  assert.equal(await client.hget(queueKeys('shop').job('order-2'), 'state'), 'pending');
  const again = await post(`${base}/api/queues/shop/jobs/order-2/actions/retry`);
  assert.equal(again.status, 409, 'a pending job cannot be retried');

  // A bulk action states its count and needs the confirmation.
  const unconfirmed = await post(`${base}/api/queues/shop/actions/purge-dead`);
  assert.equal(unconfirmed.status, 409);
  const ask = await json<{ error: string; count: number }>(unconfirmed);
  assert.equal(ask.count, 2);
  assert.match(ask.error, /^Delete 2 dead jobs from queue shop\? This cannot be undone\. Send confirm=2/);
  assert.equal(await client.zcard(queueKeys('shop').dead), 2, 'nothing deleted without the confirmation');
  const purged = await json<{ count: number }>(await post(`${base}/api/queues/shop/actions/purge-dead`, { confirm: '2' }));
  assert.equal(purged.count, 2);
  assert.equal(await client.zcard(queueKeys('shop').dead), 0);

  // The same through the pages: a form without the confirmation goes to the page that asks.
  const form = await post(`${base}/queues/later/actions/promote-delayed`);
  assert.deepEqual([form.status, form.headers.get('location')], [303, '/queues/later/confirm/promote-delayed']);
  const confirmHtml = await (await fetch(`${base}/queues/later/confirm/promote-delayed`)).text();
  assert.match(confirmHtml, /Run 4 delayed jobs of queue later now, without waiting for their time\?/);

  // One job: promote (delayed → pending), cancel (needs confirm), delete.
  assert.equal((await post(`${base}/api/queues/later/jobs/later-0/actions/promote`)).status, 200);
  assert.equal(await client.hget(queueKeys('later').job('later-0'), 'state'), 'pending');
  assert.ok((await client.lrange(queueKeys('later').pending.normal, 0, -1)).includes('later-0'));
  assert.equal((await post(`${base}/api/queues/later/jobs/later-1/actions/cancel`)).status, 409);
  assert.equal((await post(`${base}/api/queues/later/jobs/later-1/actions/cancel`, { confirm: '1' })).status, 200);
  assert.equal(await client.exists(queueKeys('later').job('later-1')), 0);
  assert.equal((await post(`${base}/api/queues/shop/jobs/fine/actions/delete`, { confirm: '1' })).status, 200);
  assert.equal(await client.zscore(queueKeys('shop').completed, 'fine'), null);
  const promoted = await json<{ count: number }>(await post(`${base}/api/queues/later/actions/promote-delayed`, { confirm: '2' }));
  assert.equal(promoted.count, 2);
  assert.equal(await client.zcard(queueKeys('later').delayed), 0);
  const emptied = await post(`${base}/queues/later/actions/empty-pending`, { confirm: '4' });
  assert.equal(emptied.status, 303);
  assert.match(decodeURIComponent(emptied.headers.get('location')!), /notice=deleted 4 pending jobs/);
  assert.equal((await later.counts()).pending, 0);
  assert.equal((await post(`${base}/api/queues/shop/actions/resume`)).status, 200);
  assert.equal(await client.hget(queueKeys('shop').meta, 'paused'), null);

  // Reads take GET, actions POST.
  const getAction = await fetch(`${base}/api/queues/shop/actions/pause`);
  assert.deepEqual([getAction.status, getAction.headers.get('allow')], [405, 'POST']);
  assert.equal((await post(`${base}/api/overview`)).status, 405);

  // Schedules: listed with next fires; run now enqueues one job; pause.
  const store = new ScheduleStore(client);
  await store.save(validateSchedule({ name: 'nightly-report', cron: '0 2 * * *', queue: 'later', processor: 'echo', data: { report: true } }), 'cli');
  assert.match(await (await fetch(`${base}/schedules`)).text(), /nightly-report.*in \d+h/s);
  const run = await json<{ message: string }>(await post(`${base}/api/schedules/nightly-report/actions/run`));
  assert.match(run.message, /^schedule nightly-report run now: job \S+ in queue later$/);
  assert.equal((await later.counts()).pending, 1);
  assert.equal((await post(`${base}/api/schedules/nightly-report/actions/pause`)).status, 200);
  assert.equal((await store.get('nightly-report'))?.paused, true);

  // Supervisors and metrics pages render.
  assert.match(await (await fetch(`${base}/supervisors`)).text(), new RegExp(s.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal((await fetch(`${base}/charts`)).status, 200);

  // Every action is logged with who and what.
  const logged = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('dashboard action:'));
  assert.ok(logged.some((l) => l.action === 'purge-dead' && l.target === 'shop' && l.count === 2 && l.who === 'anonymous'));
  assert.ok(logged.some((l) => l.action === 'retry' && l.target === 'shop/order-2'));

  // The description covers the dashboard's API with 401, 404 and 405.
  const doc = await json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(await fetch(`${base}/openapi.json`));
  for (const p of ['/api/overview', '/api/queues/{queue}/jobs', '/api/queues/{queue}/jobs/{id}', '/api/queues/{queue}/actions/{action}', '/api/queues/{queue}/jobs/{id}/actions/{action}', '/api/schedules', '/api/supervisors', '/metrics', '/status', '/openapi.yaml', '/docs']) {
    assert.ok(doc.paths[p], `${p} is described`);
  }
  for (const [p, item] of Object.entries(doc.paths)) for (const op of Object.values(item)) for (const code of ['404', '405']) assert.ok(op.responses[code], `${p} documents ${code}`);
  for (const [p, item] of Object.entries(doc.paths)) if (p.startsWith('/api/')) for (const op of Object.values(item)) assert.ok(op.responses['401'], `${p} documents 401`);
  // The HTML pages and their form actions are endpoints too (guarded by the token: 401).
  const pages = ['/', '/queues/{queue}', '/queues/{queue}/jobs/{id}', '/queues/{queue}/confirm/{action}', '/queues/{queue}/jobs/{id}/confirm/{action}', '/queues/{queue}/actions/{action}', '/queues/{queue}/jobs/{id}/actions/{action}', '/supervisors', '/schedules', '/schedules/{name}/actions/{action}', '/charts'];
  for (const p of pages) {
    assert.ok(doc.paths[p], `${p} is described`);
    for (const op of Object.values(doc.paths[p]!)) assert.ok(op.responses['401'], `${p} documents 401`);
  }
  for (const p of ['/login', '/assets/dashboard.css', '/assets/dashboard.js']) assert.ok(doc.paths[p], `${p} is described`);
  assert.ok(doc.paths['/queues/{queue}/actions/{action}']!.post!.responses['303'], 'a form action answers with a redirect');
  const yaml = await (await fetch(`${base}/openapi.yaml`)).text();
  assert.match(yaml, /^openapi: "3\.0\.3"\n/);
  assert.match(yaml, /\n {2}"\/api\/overview":\n/);
  assert.match(await (await fetch(`${base}/docs`)).text(), /<script src="\/docs\/app.js" defer><\/script>/);
});

test('read-only and token: pages without actions, actions refused (403), no token 401, cross-site 403; counts computed once for many viewers', async () => {
  const { url, client } = await redis();
  const q = queueOn(url, 'ro');
  await q.enqueue('fail', { mode: 'throw' }, { jobId: 'stuck' });
  const { logger, lines } = capturingLogger();
  const dashboard = new Dashboard({ client, queues: ['ro'], readOnly: true, logger });
  const token = 'a-read-only-token-1234567890';
  const http = new GuardedHttpServer({ what: 'the dashboard', host: '127.0.0.1', port: 0, token, logger, handlers: [dashboard.handler], isOpen: () => false });
  await dashboard.start();
  await http.listen();
  cleanup.push(() => dashboard.stop(), () => http.close());
  const base = http.url!;
  const auth = { authorization: `Bearer ${token}` };

  assert.equal((await fetch(`${base}/api/overview`)).status, 401);
  assert.equal((await fetch(`${base}/queues/ro`, { headers: { accept: 'text/html' } })).status, 401);
  const page = await (await fetch(`${base}/queues/ro?state=pending`, { headers: auth })).text();
  assert.match(page, /stuck/);
  assert.doesNotMatch(page, /method="post"/, 'no action is offered');
  assert.match(page, /read-only/);
  const refused = await post(`${base}/api/queues/ro/actions/empty-pending`, { confirm: '1' }, auth);
  assert.equal(refused.status, 403);
  assert.match((await json<{ error: string }>(refused)).error, /read-only/);
  assert.equal((await post(`${base}/api/queues/ro/jobs/stuck/actions/delete`, { confirm: '1' }, auth)).status, 403);
  assert.equal((await fetch(`${base}/queues/ro/confirm/empty-pending`, { headers: auth })).status, 403);
  assert.equal(await client.exists(queueKeys('ro').job('stuck')), 1, 'nothing changed');
  assert.ok(lines.some((l) => l.msg === 'dashboard action refused: read-only' && l.who !== undefined));
  assert.equal((await post(`${base}/api/queues/ro/actions/pause`, {}, { ...auth, 'sec-fetch-site': 'cross-site' })).status, 403);
  assert.equal((await post(`${base}/api/queues/ro/actions/pause`, {}, { ...auth, origin: 'http://elsewhere.example' })).status, 403);

  // Twenty viewers at once: one computation of the overview.
  const before = dashboard.data.overview.computed;
  const replies = await Promise.all(Array.from({ length: 20 }, () => fetch(`${base}/api/overview`, { headers: auth })));
  assert.ok(replies.every((r) => r.status === 200));
  assert.ok(dashboard.data.overview.computed - before <= 1, `computed ${dashboard.data.overview.computed - before} times`);
});

test('troupe dashboard serves the pages on its own; an exposed host without a token is refused', async () => {
  const { url } = await redis();
  const refused = await runCli(['dashboard', '--http-host', '0.0.0.0', '--redis-url', url], { TROUPE_HTTP_TOKEN: '' });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /needs a token: set --http-token/);

  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'dashboard', '--redis-url', url, '--http-port', String(port), '--queues', 'shop'], {
    cwd: PROJECT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  cleanup.push(async () => {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    await exited;
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(async () => out.includes('dashboard on http://127.0.0.1:'), 20_000, 'the dashboard to start');
  const home = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(home.status, 200);
  assert.match(await home.text(), /<tr data-queue="shop">/);
  const doc = await json<{ info: { title: string }; paths: Record<string, unknown> }>(await fetch(`http://127.0.0.1:${port}/openapi.json`));
  assert.equal(doc.info.title, 'Troupe dashboard');
  assert.ok(doc.paths['/api/overview'] && !doc.paths['/status'], 'its own API, not a supervisor\'s');
  process.kill(-child.pid!, 'SIGTERM');
  assert.equal(await exited, 0);
});

test('a supervisor waiting for Redis serves 503 from the dashboard without opening the connection early, then the pages once it is up', { timeout: 30_000 }, async () => {
  const own = await startPrivateRedis();
  cleanup.push(() => own.destroy());
  await own.stop();
  const port = await freePort();
  const config = { ...defaultConfig(), redisUrl: own.url, threads: 1, minThreads: 1, queues: ['late'], heartbeatMs: 200, leaseMs: 2000, httpPort: port, dashboard: true };
  const s = await buildSupervisor(config, { logger: capturingLogger().logger });
  const starting = s.start();
  cleanup.push(async () => {
    await s.stop();
    await starting.catch(() => undefined);
  });
  const base = `http://127.0.0.1:${port}`;
  const waiting = await eventually(async () => {
    const r = await fetch(`${base}/`, { headers: { accept: 'text/html' } }).catch(() => undefined);
    return r?.status === 503 ? r : undefined;
  }, 10_000, 'the endpoint to answer while Redis is down');
  assert.match(await waiting.text(), /Redis is not connected yet/);
  assert.equal((await fetch(`${base}/api/overview`)).status, 503);
  await own.restart();
  await starting;
  await eventually(async () => (await fetch(`${base}/`)).status === 200, 10_000, 'the overview once Redis is up');
});

test('no KEYS and no SCAN in a request: after the background scan, every page and API read costs bounded commands only', async () => {
  // A Redis of its own: the supervisors of the tests before run their own dashboards' scans.
  const own = await startPrivateRedis();
  cleanup.push(() => own.destroy());
  const client = new Redis(own.url);
  cleanup.push(() => client.disconnect());
  const q = queueOn(own.url, 'scanless');
  await q.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ processor: 'fail', data: { i }, options: { jobId: `s-${i}`, metadata: { customer: i % 2 ? 'acme' : 'globex' } } })));
  const { logger } = capturingLogger();
  const dashboard = new Dashboard({ client, queues: [], readOnly: false, logger });
  const http = new GuardedHttpServer({ what: 'the dashboard', host: '127.0.0.1', port: 0, token: '', logger, handlers: [dashboard.handler], isOpen: () => true });
  await dashboard.start();
  await http.listen();
  cleanup.push(() => dashboard.stop(), () => http.close());
  await dashboard.data.firstScan(); // the one scan, in the background; the next is 10 s away
  await client.config('RESETSTAT');
  const base = http.url!;
  const paths = ['/', '/queues/scanless', '/queues/scanless?state=pending&offset=10', '/queues/scanless/jobs/s-3', '/queues/scanless?state=pending&by=metadata&q=customer%3Dacme', '/queues/scanless?state=pending&by=processor&q=fail', '/supervisors', '/schedules', '/charts', '/api/overview', '/api/metrics', '/api/queues/scanless/jobs', '/api/supervisors', '/api/schedules'];
  for (let round = 0; round < 3; round += 1) {
    dashboard.data.overview.invalidate(); // the overview recomputed: its reads are counted too
    for (const p of paths) assert.equal((await fetch(`${base}${p}`)).status, 200, p);
  }
  const stats = await client.info('commandstats');
  const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  assert.ok(calls('llen') + calls('zcard') > 0, 'the stats were read (the counter works)');
  assert.deepEqual([calls('keys'), calls('scan'), calls('hscan'), calls('zscan'), calls('sscan')], [0, 0, 0, 0, 0], stats.split('\r\n').filter((l) => l.startsWith('cmdstat_')).join(' '));
});
