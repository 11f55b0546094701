/**
 * The rest of the dashboard in Chromium (test/dashboard-browser.test.ts has the dead-job path,
 * search, purge and the refusals): every other page and action a person uses, each checked in
 * Redis. Overview live update (the counts change in place, no reload); queue pause and resume;
 * the bulk actions retry all dead, promote all delayed and empty pending through their
 * confirmations; a job's promote, cancel and delete; the Supervisors page with a busy thread;
 * Schedules' pause, resume and run now; Metrics' charts; /docs; a job's bytes preview, lease,
 * parent and follow-ups; a resource pause with its reason and end, lifted by Resume. Debian's Chromium, headless,
 * driven by playwright-core; no page may log a script or CSP error.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { Queue } from '../src/index.js';
import { queueKeys } from '../src/queue/keys.js';
import { ScheduleStore } from '../src/scheduler/store.js';
import { validateSchedule } from '../src/scheduler/spec.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import type { Supervisor } from '../src/supervisor/supervisor.js';
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
let supervisor: Supervisor;
let work: Queue;
let hold: Queue;

before(async () => {
  if (skip) return;
  redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  client = new Redis(redis.url);
  cleanup.push(() => client.disconnect());
  const port = await freePort();
  // 'work' is served (runs and fails jobs, a long one keeps a thread busy); 'hold' is served too
  // but paused by the test, so what its actions move stays where the test can see it.
  const config = { ...defaultConfig(), redisUrl: redis.url, threads: 1, minThreads: 1, queues: ['work', 'hold', 'quota'], heartbeatMs: 200, leaseMs: 5_000, httpPort: port, dashboard: true, scheduler: false, shutdownTimeoutMs: 2_000 };
  supervisor = await buildSupervisor(config, { logger: capturingLogger('warn').logger });
  await supervisor.start();
  cleanup.push(() => supervisor.stop());
  base = `http://127.0.0.1:${port}`;
  work = new Queue('work', { connection: redis.url });
  hold = new Queue('hold', { connection: redis.url });
  cleanup.push(() => work.close(), () => hold.close());
  await hold.pause();
  await work.enqueueMany([
    ...Array.from({ length: 4 }, (_, i) => ({ processor: 'echo', data: { i }, options: { jobId: `done-${i}` } })),
    ...Array.from({ length: 2 }, (_, i) => ({ processor: 'fail', data: { mode: 'throw', message: `broken ${i}` }, options: { attempts: 1, jobId: `dead-${i}` } })),
  ]);
  await eventually(async () => {
    const c = await work.counts();
    return c.completed === 4 && c.dead === 2;
  }, 15_000, 'four completed and two dead jobs');
  browser = await launchChromium();
  cleanup.push(() => browser.close());
});

after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** A page that records script and CSP errors; the caller asserts there were none. */
async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${base}${path}`);
  return { page, errors };
}

/** Press a bulk action's link, read its question, say yes; returns the question. */
async function confirmBulk(page: Page, label: string): Promise<string> {
  await page.getByRole('link', { name: label }).click();
  await page.waitForURL(/\/confirm\//);
  const question = await page.locator('#question').innerText();
  await page.getByRole('button', { name: 'Yes, do it' }).click();
  await page.waitForURL((u) => !u.pathname.includes('/confirm/'));
  return question;
}

test('the overview updates its counts in place, without a reload', { skip, timeout: 60_000 }, async () => {
  const { page, errors } = await open('/');
  const pending = page.locator('tr[data-queue="hold"] td.n').first();
  assert.equal((await pending.innerText()).trim(), '0');
  await page.evaluate('window.marker = 42'); // gone if the page reloaded
  await hold.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ processor: 'echo', data: { i }, options: { jobId: `live-${i}` } })));
  await eventually(async () => (await pending.innerText()).trim().startsWith('3'), 20_000, 'the pending count to become 3 in place');
  assert.equal(await page.evaluate('window.marker'), 42, 'updated in place, not reloaded');
  assert.match(await page.locator('#updated').innerText(), /^updated \d\d:\d\d:\d\d UTC$/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('queue page: pause and resume; retry all dead, promote all delayed, empty pending through their confirmations', { skip, timeout: 60_000 }, async () => {
  // 'hold' is paused with the three jobs of the test before; two more, due in an hour.
  await hold.enqueueMany(Array.from({ length: 2 }, (_, i) => ({ processor: 'echo', data: { i }, options: { jobId: `soon-${i}`, delayMs: 3_600_000 } })));
  const { page, errors } = await open('/queues/hold?state=pending');
  assert.match(await page.locator('h1').innerText(), /Queue hold\s+paused/);

  await page.getByRole('button', { name: 'Resume' }).click();
  await page.waitForURL(/\/queues\/hold/);
  assert.match(await page.locator('.notice').innerText(), /resumed queue hold/);
  assert.equal(await client.hget(queueKeys('hold').meta, 'paused'), null);
  await eventually(async () => (await hold.counts()).pending === 0, 15_000, 'the resumed queue to run its three jobs');
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForURL(/\/queues\/hold/);
  assert.match(await page.locator('.notice').innerText(), /paused queue hold/);
  assert.equal(await client.hget(queueKeys('hold').meta, 'paused'), '1');

  // Two jobs that die, on 'work' (served, running): then retry them all from the dead tab.
  await work.enqueueMany(Array.from({ length: 2 }, (_, i) => ({ processor: 'fail', data: { mode: 'throw', message: `again ${i}` }, options: { attempts: 1, jobId: `die-${i}` } })));
  await eventually(async () => (await work.counts()).dead === 4, 15_000, 'four dead jobs on work');
  await work.pause(); // so the retried ones stay pending where the test can count them
  await page.goto(`${base}/queues/work?state=dead`);
  assert.equal(await confirmBulk(page, 'Retry all dead'), 'Move 4 dead jobs of queue work back to pending, with fresh attempts?');
  assert.match(await page.locator('.notice').innerText(), /moved 4 dead jobs back to pending/);
  assert.equal(await client.zcard(queueKeys('work').dead), 0);
  assert.equal((await work.counts()).pending, 4);

  // Empty pending of 'work' (the four retried), then promote the two delayed of 'hold'.
  await page.goto(`${base}/queues/work?state=pending`);
  assert.equal(await confirmBulk(page, 'Empty pending'), 'Delete 4 pending jobs from queue work? This cannot be undone.');
  assert.match(await page.locator('.notice').innerText(), /deleted 4 pending jobs/);
  assert.equal((await work.counts()).pending, 0);
  await work.resume();

  await page.goto(`${base}/queues/hold?state=delayed`);
  assert.equal(await confirmBulk(page, 'Promote all delayed'), 'Run 2 delayed jobs of queue hold now, without waiting for their time?');
  assert.equal(await client.zcard(queueKeys('hold').delayed), 0);
  assert.deepEqual((await client.lrange(queueKeys('hold').pending.normal, 0, -1)).sort(), ['soon-0', 'soon-1']);

  // Cancel on a confirmation page leaves things as they were.
  await page.goto(`${base}/queues/hold?state=pending`);
  await page.getByRole('link', { name: 'Empty pending' }).click();
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.waitForURL(/\/queues\/hold$/);
  assert.equal((await hold.counts()).pending, 2);
  assert.deepEqual(errors, []);
  await page.close();
});

test('job page: promote a delayed job, cancel a pending one, delete a completed one', { skip, timeout: 60_000 }, async () => {
  await hold.enqueue('echo', { later: true }, { jobId: 'later-one', delayMs: 3_600_000 });
  const { page, errors } = await open('/queues/hold/jobs/later-one');
  assert.match(await page.locator('h1').innerText(), /later-one\s+delayed/);
  await page.getByRole('button', { name: 'Promote (run now)' }).click();
  await page.waitForURL(/\/jobs\/later-one/);
  assert.match(await page.locator('h1').innerText(), /later-one\s+pending/);
  assert.equal(await client.hget(queueKeys('hold').job('later-one'), 'state'), 'pending');

  await page.getByRole('link', { name: 'Cancel' }).click();
  assert.equal(await page.locator('#question').innerText(), 'Cancel job later-one? It is removed before it runs; this cannot be undone.');
  await page.getByRole('button', { name: 'Yes, do it' }).click();
  await page.waitForURL(/\/queues\/hold(\?|$)/);
  assert.equal(await client.exists(queueKeys('hold').job('later-one')), 0, 'cancelled: gone');
  assert.ok(!(await client.lrange(queueKeys('hold').pending.normal, 0, -1)).includes('later-one'));

  await page.goto(`${base}/queues/work/jobs/done-0`);
  assert.match(await page.locator('h1').innerText(), /done-0\s+completed/);
  await page.getByRole('link', { name: 'Delete' }).click();
  assert.equal(await page.locator('#question').innerText(), 'Delete job done-0 and its record? This cannot be undone.');
  await page.getByRole('button', { name: 'Yes, do it' }).click();
  await page.waitForURL(/\/queues\/work(\?|$)/);
  assert.equal(await client.exists(queueKeys('work').job('done-0')), 0);
  assert.equal(await client.zscore(queueKeys('work').completed, 'done-0'), null);
  assert.deepEqual(errors, []);
  await page.close();
});

test('Supervisors page: a busy thread, the job in flight, RSS, heartbeat and the live flag', { skip, timeout: 60_000 }, async () => {
  await work.enqueue('sleep', { ms: 60_000 }, { jobId: 'long-one' });
  const { page, errors } = await open('/supervisors');
  const row = page.locator(`tr[data-supervisor="${supervisor.id}"]`);
  // The page refreshes itself; the heartbeat after the job starts carries it.
  const inFlight = row.locator('[data-field="in-flight"]');
  await eventually(async () => (await inFlight.innerText()).startsWith('1'), 20_000, 'the job in flight on the page');
  // The one job, running: not counted a second time as waiting (the registry's held includes it).
  assert.equal((await inFlight.innerText()).trim(), '1');
  assert.match(await row.locator('[data-field="threads"]').innerText(), /^1 \/ \d+/);
  assert.match(await row.locator('[data-field="rss"]').innerText(), /^\d+(\.\d)? MiB$/);
  assert.match(await row.innerText(), /work, hold/);
  assert.match(await row.innerText(), /live/);
  // Figures stay on one line, also in a narrower window (RSS and ages wrapped at 1280 px before).
  await page.setViewportSize({ width: 1024, height: 700 });
  for (const field of ['rss', 'threads', 'in-flight', 'heartbeat']) {
    const lines = await row.locator(`[data-field="${field}"]`).evaluate((td) => {
      // Runs in the page (this project's TypeScript has no DOM types).
      type Rects = { getClientRects(): ArrayLike<{ top: number }>; selectNodeContents(node: unknown): void };
      const range = (globalThis as unknown as { document: { createRange(): Rects } }).document.createRange();
      range.selectNodeContents(td);
      return new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top))).size;
    });
    assert.equal(lines, 1, `${field} on one line`);
  }
  assert.deepEqual(errors, []);
  await page.close();
  // The long job is cancelled by the supervisor's stop (2 s shutdown timeout).
});

test('Schedules page: pause, resume and run now', { skip, timeout: 60_000 }, async () => {
  const store = new ScheduleStore(client);
  await store.save(validateSchedule({ name: 'nightly', daily: '02:30', timezone: 'Europe/Paris', queue: 'hold', processor: 'echo', data: { nightly: true } }), 'cli');
  const { page, errors } = await open('/schedules');
  const row = page.locator('tr[data-schedule="nightly"]');
  assert.match(await row.innerText(), /Europe\/Paris/);
  assert.match(await row.innerText(), /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in \d+h/, 'next fires');
  assert.match(await row.innerText(), /never/, 'no fire yet');

  await row.getByRole('button', { name: 'Pause' }).click();
  await page.waitForURL(/\/schedules/);
  assert.equal((await store.get('nightly'))?.paused, true);
  assert.match(await page.locator('tr[data-schedule="nightly"]').innerText(), /paused/);
  await page.locator('tr[data-schedule="nightly"]').getByRole('button', { name: 'Resume' }).click();
  await page.waitForURL(/\/schedules/);
  assert.equal((await store.get('nightly'))?.paused, false);

  const before = (await hold.counts()).pending;
  await page.locator('tr[data-schedule="nightly"]').getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/schedules/);
  assert.match(await page.locator('.notice').innerText(), /^schedule nightly run now: job \S+ in queue hold$/);
  assert.equal((await hold.counts()).pending, before + 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test('Metrics page: charts per queue and the table by processor; /docs renders the API description', { skip, timeout: 60_000 }, async () => {
  const { page, errors } = await open('/charts');
  assert.equal(await page.locator('h1').innerText(), 'Metrics');
  await page.getByRole('link', { name: 'work', exact: true }).first().waitFor();
  const charts = await page.locator('.chart svg').count();
  assert.ok(charts >= 2, `runs and latency charts for work, got ${charts}`);
  const table = await page.locator('table').first().innerText();
  assert.match(table, /work\s+echo\s+\d/);
  assert.match(table, /work\s+fail\s+\d/);
  // Failed jobs have no end to end time (it is recorded for completed ones): '-', not 0.
  assert.equal((await page.locator('tr[data-processor="work/fail"] td').last().innerText()).trim(), '-');
  // The long job of the test before has waited and not finished: no run time to show, not "0".
  const sleeping = page.locator('tr[data-processor="work/sleep"]');
  await eventually(async () => {
    if ((await sleeping.count()) === 1) return true;
    await page.reload();
    return false;
  }, 15_000, 'the sleep processor in the table');
  const cells = await sleeping.locator('td').allInnerTexts();
  assert.deepEqual(cells.slice(2).map((c) => c.trim()).filter((_, i) => i !== 1 && i !== 2), ['0', '-', '-', '-'], cells.join(' | '));

  await page.goto(`${base}/docs`);
  const op = page.locator('details.op', { hasText: '/api/overview' }).first();
  await op.locator('summary').click();
  assert.match(await op.innerText(), /401/);
  assert.match(await op.innerText(), /Every queue with counts per state/);
  assert.ok((await page.locator('details.op').count()) >= 15, 'every endpoint listed');
  assert.deepEqual(errors, []);
  await page.close();
});

test('job page: bytes as size and hex preview, lease owner and deadline while active, parent and follow-ups', { skip, timeout: 60_000 }, async () => {
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
  bytes.write('%PDF-1.7', 0, 'latin1');
  await hold.enqueue('echo', bytes, { jobId: 'scan-1' });
  await hold.enqueue('echo', { step: 1 }, { jobId: 'scan-1.0' });
  const { page, errors } = await open('/queues/hold/jobs/scan-1');
  const dataSize = page.locator('h2:text-is("Data") + p');
  assert.equal(await dataSize.innerText(), '68.4 KiB of bytes, first 256 shown');
  const hex = await page.locator('pre.hex').innerText();
  assert.match(hex, /^000000  25 50 44 46 2d 31 2e 37 /, 'offset, hex');
  assert.match(hex.split('\n')[0]!, /%PDF-1\.7/, 'and text');
  assert.equal(hex.split('\n').length, 16, '256 bytes, 16 a row: never the whole 70 KB');
  assert.match(await page.locator('dl.fields').innerText(), /follow-ups\s+scan-1\.0\s+pending/);
  await page.getByRole('link', { name: 'scan-1.0' }).click();
  await page.waitForURL(/\/jobs\/scan-1\.0$/);
  assert.match(await page.locator('dl.fields').innerText(), /parent\s+scan-1\b/);

  // The long job of the Supervisors test is still running.
  await page.goto(`${base}/queues/work/jobs/long-one`);
  const fields = await page.locator('dl.fields').innerText();
  assert.match(fields, new RegExp(`lease held by\\s+${supervisor.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const deadline = Number(await client.zscore(queueKeys('work').active, 'long-one'));
  assert.ok(deadline > Date.now() - 60_000);
  assert.match(fields, /lease deadline\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in \d/);
  assert.match(await page.locator('.timeline').innerText(), /attempt 1 running/);
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count() + (await page.getByRole('link', { name: 'Delete' }).count()), 0, 'an active job is not deletable');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a resource pause: the overview and the queue page show it with its reason and end; Resume lifts it', { skip, timeout: 60_000 }, async () => {
  const quota = new Queue('quota', { connection: redis.url });
  cleanup.push(() => quota.close());
  await quota.enqueue('fail', { mode: 'resource', message: 'upstream quota exceeded' }, { jobId: 'q-1' });
  const pause = await eventually(async () => (await quota.counts()).resourcePause ?? undefined, 15_000, 'the processor to pause the queue');
  const { page, errors } = await open('/');
  const row = page.locator('tr[data-queue="quota"]');
  await eventually(async () => /resource-paused/.test(await row.innerText()), 15_000, 'the overview to show the pause');
  assert.match(await row.innerText(), new RegExp(`resource-paused\\s+until in [^:]+: ${pause.reason}`));
  assert.match(pause.reason, /quota exceeded/);
  await row.getByRole('link', { name: 'quota', exact: true }).click();
  assert.match(await page.locator('h1').innerText(), /resource-paused/);
  await quota.cancel('q-1'); // or it runs again on resume and pauses the queue once more
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.waitForURL(/\/queues\/quota/);
  assert.equal((await quota.counts()).resourcePause, null);
  assert.match(await page.locator('h1').innerText(), /running/);
  assert.deepEqual(errors, []);
  await page.close();
});
