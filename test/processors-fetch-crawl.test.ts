import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CrawlResult } from '../src/processors/fetch/crawl.js';
import { isThreadEvent, type JobOutcome, type ThreadEvent } from '../src/threads/protocol.js';
import { startServer, trickyRoutes, type TestServer } from './fixtures/http/server.js';
import { job, makePool, runJobs, type Pool } from './fixtures/threads/pool.js';

let pool: Pool;
let server: TestServer;
const events: ThreadEvent[] = [];
before(async () => {
  // The test server is on loopback, which jobs may reach only when the supervisor allows it.
  pool = makePool({ init: { allowHosts: ['loopback'] } });
  pool.on('message', (m: unknown) => {
    if (isThreadEvent(m)) events.push(m);
  });
  server = await startServer(trickyRoutes());
});
after(async () => {
  await pool.destroy();
  await server.close();
});

async function crawl(data: unknown, overrides = {}): Promise<Extract<JobOutcome, { status: 'completed' }> & { result: CrawlResult }> {
  const { outcomes } = await runJobs(pool, [job('crawl', data, overrides)]);
  const outcome = outcomes[0]!;
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome).slice(0, 400));
  return outcome as Extract<JobOutcome, { status: 'completed' }> & { result: CrawlResult };
}

function failure(outcome: JobOutcome) {
  assert.equal(outcome.status, 'failed', `expected a failure, got ${JSON.stringify(outcome).slice(0, 300)}`);
  return outcome as Extract<JobOutcome, { status: 'failed' }>;
}

describe('crawl', () => {
  test('fetches concurrently, never more than `concurrency` at once, results in URL order', async () => {
    const urls = Array.from({ length: 12 }, (_, i) => `${server.url}/slow?ms=150&i=${i}`);
    const before = server.maxInFlight;
    assert.equal(before, 0, 'fresh server');
    const started = Date.now();
    const { result } = await crawl({ urls, concurrency: 3 });
    const took = Date.now() - started;
    assert.equal(result.ok, 12);
    assert.equal(result.failed, 0);
    assert.deepEqual(result.results.map((r) => r.url), urls);
    assert.ok(result.results.every((r) => r.status === 200 && r.bytes === 'finally'.length && r.body === undefined));
    assert.ok(server.maxInFlight <= 3, `at most 3 at once, saw ${server.maxInFlight}`);
    assert.ok(server.maxInFlight >= 2, `requests overlapped (saw ${server.maxInFlight} at once)`);
    // 12 requests of 150 ms each: one at a time would take 1.8 s. Only a loose bound, for the record.
    console.log(`# crawl: 12 x 150 ms URLs at concurrency 3 took ${took} ms`);
  });

  test('each URL gets its own result: ok, 404, loop, too large, dropped, slow; the batch still completes', async () => {
    const urls = [
      `${server.url}/ok`,
      `${server.url}/status/404`,
      `${server.url}/loop/a`,
      `${server.url}/too-much-streamed`,
      `${server.url}/reset`,
      `${server.url}/slow?ms=3000`,
      `${server.url}/chain/2`,
    ];
    const { result } = await crawl({ urls, concurrency: 4, maxBytes: 100_000, timeoutMs: 300, includeBody: true, as: 'text' });
    const summary = result.results.map((r) => [r.ok, r.status ?? null, r.error?.code ?? null]);
    assert.deepEqual(summary, [
      [true, 200, null],
      [false, 404, 'FETCH_HTTP_STATUS'],
      [false, null, 'FETCH_REDIRECT_LOOP'],
      [false, null, 'FETCH_TOO_LARGE'],
      [false, null, 'FETCH_NETWORK'],
      [false, null, 'FETCH_TIMEOUT'],
      [true, 200, null],
    ]);
    assert.equal(result.results[0]!.body, 'hello from /ok');
    assert.equal(result.results[6]!.finalUrl, `${server.url}/chain/0`);
    assert.deepEqual([result.ok, result.failed], [2, 5]);
    assert.match(result.results[2]!.error!.message, /redirects in a loop/);
  });

  test('each 2xx answer names a follow-up job; its index gives the follow-up id', async () => {
    const urls = [`${server.url}/bytes/3`, `${server.url}/status/500`, `${server.url}/bytes/4`];
    const outcome = await crawl({ urls, concurrency: 1, followUp: { processor: 'wasm' } });
    assert.equal(outcome.result.followUps, 2);
    assert.deepEqual(outcome.result.results.map((r) => r.followUp), [0, undefined, 1]);
    assert.deepEqual(outcome.followUps.map((f) => [f.processor, Buffer.from(f.data as Uint8Array).toString()]), [['wasm', 'aaa'], ['wasm', 'aaaa']]);
  });

  test('progress is reported per URL', async () => {
    const j = job('crawl', { urls: [`${server.url}/ok`, `${server.url}/ok?2`, `${server.url}/ok?3`], concurrency: 1 });
    await runJobs(pool, [j]);
    const deadline = Date.now() + 2000;
    const mine = () => events.filter((e) => e.kind === 'progress' && e.jobId === j.id).map((e) => (e as { value: unknown }).value);
    while (mine().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(mine(), [{ done: 1, total: 3 }, { done: 2, total: 3 }, { done: 3, total: 3 }]);
  });

  test("the job's time limit ends the whole batch", async () => {
    const { outcomes } = await runJobs(pool, [job('crawl', { urls: [`${server.url}/slow?ms=5000`, `${server.url}/slow?ms=5000`] }, { timeoutMs: 200 })]);
    assert.equal(failure(outcomes[0]!).error.code, 'JOB_TIMEOUT');
  });

  test('a batch over the limit is refused: over the cap by validation, over the deployment limit at run time', async () => {
    const tooMany = failure((await runJobs(pool, [job('crawl', { urls: Array.from({ length: 10_001 }, () => `${server.url}/ok`) })])).outcomes[0]!);
    assert.deepEqual([tooMany.error.code, tooMany.unrecoverable], ['INVALID_INPUT', true]);
    assert.match(tooMany.error.message, /has 10001 URLs, more than the most a batch may hold \(10000\); split it/);
    process.env.TROUPE_CRAWL_MAX_BATCH = '3';
    const strict = makePool();
    try {
      const { outcomes } = await runJobs(strict, [job('crawl', { urls: Array.from({ length: 4 }, () => `${server.url}/ok`) })]);
      const outcome = failure(outcomes[0]!);
      assert.deepEqual([outcome.error.code, outcome.unrecoverable], ['CRAWL_BATCH_TOO_LARGE', true]);
      assert.match(outcome.error.message, /4 URLs, more than the batch limit of 3 \(TROUPE_CRAWL_MAX_BATCH\)/);
    } finally {
      delete process.env.TROUPE_CRAWL_MAX_BATCH;
      await strict.destroy();
    }
  });

  test('validation names the bad URL and field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ urls: [] }, /data\.urls must be a non-empty array/],
      [{ urls: ['http://ok/', 'gopher://x'] }, /data\.urls\[1\] must use http or https/],
      [{ urls: ['http://ok/'], concurrency: 0 }, /data\.concurrency must be a whole number from 1 to 64/],
      [{ urls: ['http://ok/'], includeBody: 'yes' }, /data\.includeBody must be true or false/],
      [{ urls: ['http://ok/'], includeBody: true, as: 'bytes' }, /data\.as "bytes" is for fetch.*use "base64", "text" or "auto"/],
    ];
    for (const [data, message] of cases) {
      const outcome = failure((await runJobs(pool, [job('crawl', data)])).outcomes[0]!);
      assert.equal(outcome.error.code, 'INVALID_INPUT');
      assert.match(outcome.error.message, message);
    }
  });
});

describe('crawl: bodies', () => {
  test('includeBody without "as" shows text types as text and anything else as base64, each marked', async () => {
    const { result } = await crawl({ urls: [`${server.url}/ok`, `${server.url}/bytes/3`], includeBody: true });
    assert.deepEqual(
      result.results.map((r) => [r.body, r.bodyEncoding]),
      [
        ['hello from /ok', 'text'],
        ['YWFh', 'base64'],
      ],
    );
  });
});
