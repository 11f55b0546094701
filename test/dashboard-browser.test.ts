/**
 * The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium; .ci/run installs it)
 * driven by playwright-core, headless. A person's path: overview → a dead job → its error →
 * retry (checked in Redis) → search → a bulk action through its confirmation; then the
 * refusals: read-only, no token, a POST from another site.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { Queue } from '../src/index.js';
import { Dashboard } from '../src/dashboard/dashboard.js';
import { queueKeys } from '../src/queue/keys.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { GuardedHttpServer } from '../src/supervisor/http-server.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import { capturingLogger } from './helpers/metrics.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { launchChromium, skipWithoutChromium } from './helpers/chromium.js';
import { eventually } from './helpers/supervisor-process.js';

const skip = skipWithoutChromium;

const cleanup: Array<() => Promise<unknown> | void> = [];
let redis: PrivateRedis;
let client: Redis;
let browser: Browser;
let base: string;

before(async () => {
  if (skip) return;
  redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  client = new Redis(redis.url);
  cleanup.push(() => client.disconnect());
  const port = await freePort();
  const config = { ...defaultConfig(), redisUrl: redis.url, threads: 1, minThreads: 1, queues: ['shop'], heartbeatMs: 200, leaseMs: 2000, httpPort: port, dashboard: true };
  const s = await buildSupervisor(config, { logger: capturingLogger().logger });
  await s.start();
  cleanup.push(() => s.stop());
  base = `http://127.0.0.1:${port}`;
  const shop = new Queue('shop', { connection: redis.url });
  cleanup.push(() => shop.close());
  await shop.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ processor: 'fail', data: { mode: 'throw', message: `card declined for order ${i}` }, options: { attempts: 1, jobId: `order-${i}`, metadata: { customer: i === 2 ? 'globex' : 'acme' } } })));
  await eventually(async () => (await shop.counts()).dead === 3, 15_000, 'three dead jobs');
  // Paused, so the retried job stays pending where the test can see it.
  await shop.pause();
  browser = await launchChromium();
  cleanup.push(() => browser.close());
});

after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

test('overview → a dead job → its error → retry leaves the dead-letter set; search; purge through its confirmation', { skip }, async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${base}/`);
  const row = page.locator('tr[data-queue="shop"]');
  await row.locator('.badge.bad').click(); // the dead count
  await page.waitForURL(/\/queues\/shop\?state=dead$/);
  assert.equal(await page.locator('#jobs tbody tr').count(), 3);

  await page.locator('tr[data-job="order-0"] a').click();
  await page.waitForURL(/\/queues\/shop\/jobs\/order-0$/);
  assert.match(await page.locator('#last-error').innerText(), /card declined for order 0/);
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.waitForURL(/\/queues\/shop\/jobs\/order-0/);
  assert.match(await page.locator('.notice').innerText(), /moved back to pending/);
  assert.equal(await client.zscore(queueKeys('shop').dead, 'order-0'), null, 'left the dead-letter set');
  assert.equal(await client.hget(queueKeys('shop').job('order-0'), 'state'), 'pending');

  // Search the dead jobs by a metadata field.
  await page.goto(`${base}/queues/shop?state=dead`);
  await page.getByLabel('search by').selectOption('metadata');
  await page.getByLabel('search term').fill('customer=acme');
  await page.getByRole('button', { name: 'Search dead' }).click();
  await page.waitForURL(/by=metadata/);
  const found = await page.locator('#jobs tbody tr').allInnerTexts();
  assert.deepEqual(found.map((t) => t.split('\t')[0]), ['order-1'], 'order-0 was retried, order-2 is globex');

  // A bulk action: its confirmation states the count; nothing happens before it.
  await page.goto(`${base}/queues/shop?state=dead`);
  await page.getByRole('link', { name: 'Purge dead' }).click();
  assert.equal(await page.locator('#question').innerText(), 'Delete 2 dead jobs from queue shop? This cannot be undone.');
  assert.equal(await client.zcard(queueKeys('shop').dead), 2);
  await page.getByRole('button', { name: 'Yes, do it' }).click();
  await page.waitForURL(/\/queues\/shop\?state=dead/);
  assert.match(await page.locator('.notice').innerText(), /deleted 2 dead jobs/);
  assert.equal(await client.zcard(queueKeys('shop').dead), 0);
  assert.deepEqual(errors, [], 'no script or CSP errors');
  await page.close();
});

test('a POST from another site is refused and changes nothing', { skip }, async () => {
  // Another origin (localhost, not 127.0.0.1) serving a form aimed at the dashboard.
  const evil: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<form method="post" action="${base}/queues/shop/actions/resume"><button type="submit">win a prize</button></form>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => evil.close(() => resolve())));
  const evilPort = (evil.address() as { port: number }).port;
  const page = await browser.newPage();
  await page.goto(`http://localhost:${evilPort}/`);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(base)), page.getByRole('button', { name: 'win a prize' }).click()]);
  assert.equal(response.status(), 403);
  assert.match(await response.text(), /cross-site request refused: Sec-Fetch-Site is \\"cross-site\\"/);
  assert.equal(await client.hget(queueKeys('shop').meta, 'paused'), '1', 'still paused');
  await page.close();
});

test('with a token and read-only: the sign-in form, no actions offered, an action refused', { skip }, async () => {
  const token = 'browser-test-token-0123456789';
  const { logger } = capturingLogger();
  const dashboard = new Dashboard({ client, queues: ['shop'], readOnly: true, logger });
  const http = new GuardedHttpServer({ what: 'the dashboard', host: '127.0.0.1', port: 0, token, logger, handlers: [dashboard.handler], isOpen: (p) => p.startsWith('/assets/'), loginPage: (n, p) => dashboard.loginPage(n, p) });
  await dashboard.start();
  await http.listen();
  cleanup.push(() => dashboard.stop(), () => http.close());
  const ro = http.url!;
  await client.hset(queueKeys('shop').job('x'), 'id', 'x'); // something to refuse deleting
  const context = await browser.newContext();
  const page = await context.newPage();

  // Without the token: refused, with the sign-in form.
  const refused = await page.goto(`${ro}/queues/shop?state=pending`);
  assert.equal(refused?.status(), 401);
  await page.getByLabel('token').fill('not the token at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.match(await page.locator('.error').innerText(), /not the token/);
  await page.getByLabel('token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/queues\/shop\?state=pending$/);
  assert.match(await page.locator('h1').innerText(), /Queue shop/);

  // Read-only: nothing to press, and a POST from its own page is refused.
  assert.equal(await page.locator('main form[method="post"]').count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Empty pending' }).count(), 0);
  assert.match(await page.locator('header').innerText(), /read-only/);
  const status = await page.evaluate(async () => (await fetch('/api/queues/shop/actions/resume', { method: 'POST', body: new URLSearchParams({ confirm: '1' }) })).status);
  assert.equal(status, 403);
  assert.equal(await client.hget(queueKeys('shop').meta, 'paused'), '1', 'still paused');
  await context.close();
});
