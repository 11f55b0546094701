/**
 * Makes the screenshots in docs/dashboard/: a private redis-server, two supervisors with the
 * dashboard, a few minutes of light load (some jobs fail for good), schedules, then headless
 * Chromium (/usr/bin/chromium) saves each page. Also prints each page's weight.
 * The hour before the live load is written through the metric writer (ClusterStore, with its
 * clock argument) as a third, gone supervisor, so the charts show their full hour without an
 * hour's wait; two long jobs run while the Supervisors page is taken, so it shows busy threads.
 *   node --import tsx scripts/dashboard-screenshots.ts [minutes of load, default 4]
 */
import { mkdirSync } from 'node:fs';
import { Queue } from '../src/index.js';
import { Dashboard } from '../src/dashboard/dashboard.js';
import { ClusterStore } from '../src/metrics/cluster.js';
import { JobMetrics, SLOT_MS, slotOf } from '../src/metrics/job-metrics.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import { ScheduleStore } from '../src/scheduler/store.js';
import { validateSchedule } from '../src/scheduler/spec.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { GuardedHttpServer } from '../src/supervisor/http-server.js';
import { createLogger } from '../src/supervisor/logger.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { freePort, startPrivateRedis } from '../test/helpers/redis-server.js';

const minutes = Number(process.argv[2] ?? 4);
const OUT = new URL('../docs/dashboard/', import.meta.url);
mkdirSync(OUT, { recursive: true });
const logger = createLogger('warn');
const redis = await startPrivateRedis();
const stops: Array<() => Promise<unknown>> = [];
try {
  const port = await freePort();
  const common = { ...defaultConfig(), redisUrl: redis.url, threads: 1, minThreads: 1, heartbeatMs: 1000, leaseMs: 10_000, scheduler: false };
  const one = await buildSupervisor({ ...common, queues: ['orders', 'emails'], httpPort: port, dashboard: true }, { logger });
  const two = await buildSupervisor({ ...common, queues: ['orders', 'imports'], httpPort: await freePort() }, { logger });
  await one.start();
  await two.start();
  stops.push(() => two.stop(), () => one.stop());
  const base = `http://127.0.0.1:${port}`;
  const q = (name: string) => {
    const queue = new Queue(name, { connection: redis.url });
    stops.push(() => queue.close());
    return queue;
  };
  const orders = q('orders');
  const emails = q('emails');
  const imports = q('imports');
  const reports = q('reports');
  await imports.pause();
  await imports.enqueueMany(Array.from({ length: 120 }, (_, i) => ({ processor: 'echo', data: { file: `batch-${i}.csv` } })));
  await reports.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ processor: 'echo', data: { report: i }, options: { delayMs: 3_600_000 * (i + 1) } })));
  const store = new ScheduleStore(orders.redis);
  await store.save(validateSchedule({ name: 'nightly-invoices', daily: '02:30', timezone: 'Europe/Paris', queue: 'orders', processor: 'echo', data: { invoices: true } }), 'cli');
  await store.save(validateSchedule({ name: 'hourly-digest', hourly: 5, queue: 'emails', processor: 'echo', data: { digest: true } }), 'cli');
  await store.save(validateSchedule({ name: 'weekly-cleanup', weekly: 'sun 04:00', queue: 'reports', processor: 'noop' }), 'cli');
  await store.setPaused('weekly-cleanup', true);

  // The hour before: minutes of a supervisor that ran orders and emails and has since stopped.
  const history = new ClusterStore(orders.redis, 'earlier-host:4100:a1b2c3');
  // The live load below fills the minutes from startedAt on; these fill the rest of the hour the
  // charts show, up to startedAt: minute 0 (the one startedAt falls in) only for its elapsed part.
  const startedAt = Date.now();
  for (let k = 60 - minutes; k >= 0; k -= 1) {
    const at = slotOf(startedAt) - k * SLOT_MS;
    const part = k === 0 ? (startedAt - at) / SLOT_MS : 1;
    const m = new JobMetrics(at);
    const busy = Math.round(part * (180 + 120 * Math.sin(k / 9)));
    for (let i = 0; i < busy; i += 1) {
      const o = m.series('orders', 'sleep');
      // Slow waits in both queues (6% and 3%), so the merged p99 is one of them every minute
      // (with 2% in orders only it flipped between the two kinds).
      o.wait.record((1 + Math.random() * 6 + (Math.random() < 0.06 ? 40 : 0)) * 1000);
      o.run.record((6 + Math.random() * 40) * 1000);
    }
    for (let i = 0; i < Math.round(part * 180); i += 1) {
      const e = m.series('emails', 'echo');
      e.wait.record((0.5 + Math.random() * 3 + (Math.random() < 0.03 ? 30 : 0)) * 1000);
      e.run.record((0.2 + Math.random() * 0.6) * 1000);
    }
    history.add(at, m.encodeDirty());
    await history.flush(at + SLOT_MS - 1);
  }

  const end = Date.now() + minutes * 60_000;
  let n = 0;
  while (Date.now() < end) {
    const wave = 4 + Math.round(3 * Math.sin(n / 15));
    await orders.enqueueMany(Array.from({ length: wave }, () => ({ processor: 'sleep', data: { ms: 5 + Math.round(Math.random() * 40) }, options: { metadata: { customer: ['acme', 'globex', 'initech'][n % 3] } } })));
    await emails.enqueueMany(Array.from({ length: 3 }, () => ({ processor: 'echo', data: { to: 'ops@example.com' } })));
    if (n % 20 === 0) {
      await orders.enqueue('fail', { mode: 'throw', message: `payment gateway refused card ending ${1000 + n}` }, { attempts: 2, backoff: [200], metadata: { customer: 'acme', order: `A-${1000 + n}` } });
    }
    n += 1;
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Two long jobs, so the Supervisors page shows busy threads and jobs in flight.
  await emails.enqueue('sleep', { ms: 120_000 }, { metadata: { note: 'long job for the screenshot' } });
  await orders.enqueue('sleep', { ms: 120_000 }, { metadata: { note: 'long job for the screenshot' } });
  await new Promise((r) => setTimeout(r, 3000));
  // The first page starts the background scan for queues; the shots show its result, not the
  // note that it is still running.
  for (let i = 0; i < 100 && ((await (await fetch(`${base}/api/overview`)).json()) as { discovering: boolean }).discovering; i += 1) {
    await new Promise((r) => setTimeout(r, 200));
  }

  const browser = await launchChromium();
  stops.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const dead = (await orders.listJobs('dead', { limit: 1 }))[0]!;
  const shots: Array<[string, string]> = [
    ['overview', '/'],
    ['queue', '/queues/orders?state=dead'],
    ['job', `/queues/orders/jobs/${encodeURIComponent(dead.id)}`],
    ['confirm', '/queues/orders/confirm/purge-dead'],
    ['search', '/queues/orders?state=completed&by=metadata&q=customer%3Dglobex'],
    ['supervisors', '/supervisors'],
    ['schedules', '/schedules'],
    ['metrics', '/charts'],
    ['docs', '/docs'],
  ];
  for (const [name, path] of shots) {
    const res = await page.goto(`${base}${path}`);
    if (name === 'docs') {
      // The dashboard's own API, opened at its first operation.
      const op = page.locator('details.op', { hasText: '/api/overview' }).first();
      await op.evaluate((d) => d.setAttribute('open', ''));
      await op.evaluate((d) => d.scrollIntoView({ block: 'start' }));
      await page.evaluate('window.scrollBy(0, -90)'); // the end of the endpoint before, for context
    }
    await page.waitForTimeout(300);
    const bytes = (await res?.body())?.length ?? 0;
    await page.screenshot({ path: new URL(`${name}.png`, OUT).pathname, fullPage: !['docs', 'metrics', 'search'].includes(name), animations: 'disabled' });
    console.log(`${name}: ${path} HTML ${bytes} bytes`);
  }
  // The sign-in page of a dashboard with a token (read-only here).
  const dashboard = new Dashboard({ client: orders.redis, queues: [], readOnly: true, logger });
  const guarded = new GuardedHttpServer({ what: 'the dashboard', host: '127.0.0.1', port: 0, token: 'screenshot-token-0123456789', logger, handlers: [dashboard.handler], isOpen: (p) => p.startsWith('/assets/'), loginPage: (a, b) => dashboard.loginPage(a, b) });
  await guarded.listen();
  stops.push(() => guarded.close());
  await page.setViewportSize({ width: 1280, height: 420 });
  await page.goto(`${guarded.url}/`);
  await page.screenshot({ path: new URL('sign-in.png', OUT).pathname });
  const css = await (await fetch(`${base}/assets/dashboard.css`)).text();
  const js = await (await fetch(`${base}/assets/dashboard.js`)).text();
  console.log(`assets: dashboard.css ${Buffer.byteLength(css)} bytes, dashboard.js ${Buffer.byteLength(js)} bytes`);
} finally {
  for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(err));
  await redis.destroy();
}
