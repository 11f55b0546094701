import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import type { JobOutcome } from '../src/threads/protocol.js';
import { startExecutor, type Executor } from './fixtures/http/executor.js';
import { job, makePool, runJobs, type Pool } from './fixtures/threads/pool.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
after(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** One thread, so executor health learnt by one job is what the next job sees. */
function onePool(): Pool {
  // The executors are on loopback, which a job's own executors may use only when the supervisor allows it.
  const pool = makePool({ maxThreads: 1, init: { allowHosts: ['loopback'] } });
  cleanup.push(() => pool.destroy());
  return pool;
}

async function executors(n: number): Promise<Executor[]> {
  const list = await Promise.all(Array.from({ length: n }, (_, i) => startExecutor(`e${i}`)));
  for (const e of list) cleanup.push(() => e.close());
  return list;
}

async function run(pool: Pool, data: unknown, overrides = {}): Promise<JobOutcome> {
  const { outcomes } = await runJobs(pool, [job('http', data, overrides)]);
  return outcomes[0]!;
}

function answer(outcome: JobOutcome): { by: string; echoed: unknown; jobId: string } {
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome).slice(0, 400));
  return (outcome as { result: { by: string; echoed: unknown; jobId: string } }).result;
}

function failure(outcome: JobOutcome) {
  assert.equal(outcome.status, 'failed', `expected a failure, got ${JSON.stringify(outcome).slice(0, 300)}`);
  return outcome as Extract<JobOutcome, { status: 'failed' }>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('http executor routing', () => {
  test('the job is POSTed as JSON and the executor’s JSON answer is the result', async () => {
    const pool = onePool();
    const [e] = await executors(1);
    const j = job('http', { input: { size: 3 }, executors: [e!.url] }, { attempt: 2 });
    const { outcomes } = await runJobs(pool, [j]);
    assert.deepEqual(answer(outcomes[0]!), { by: 'e0', echoed: { size: 3 }, jobId: j.id });
    assert.deepEqual(e!.received[0], { jobId: j.id, queue: 'threads-test', attempt: 2, maxAttempts: 3, input: { size: 3 } });
    assert.ok(e!.healthChecks >= 1, 'checked /health before use');
  });

  test('jobs are balanced across healthy executors', async () => {
    const pool = onePool();
    const list = await executors(3);
    for (let i = 0; i < 30; i++) answer(await run(pool, { input: i, executors: list.map((e) => e.url) }));
    const counts = list.map((e) => e.received.length);
    assert.equal(counts.reduce((a, b) => a + b), 30);
    assert.ok(Math.min(...counts) >= 8, `each executor took a fair share: ${counts.join(', ')}`);
  });

  test('a dead executor is skipped; a hanging /health is given up after 2 s and skipped after that', async () => {
    const pool = onePool();
    const [dead, hanging, good] = await executors(3);
    await dead!.close();
    hanging!.health = 'hang';
    const urls = [dead!.url, hanging!.url, good!.url];
    const started = Date.now();
    assert.equal(answer(await run(pool, { input: 1, executors: urls })).by, 'e2');
    const first = Date.now() - started;
    assert.ok(first >= 1900 && first < 6000, `the first job waited for the 2 s health timeout (${first} ms)`);
    const again = Date.now();
    for (let i = 0; i < 5; i++) assert.equal(answer(await run(pool, { input: i, executors: urls })).by, 'e2');
    assert.ok(Date.now() - again < 1900 * 5, 'later jobs skip the hanging executor instead of waiting on it each time');
    assert.equal(hanging!.received.length, 0);
  });

  test('an executor that comes back is used again after its back-off', async () => {
    const pool = onePool();
    const [a, b] = await executors(2);
    const port = a!.port;
    await a!.close();
    const urls = [a!.url, b!.url];
    answer(await run(pool, { input: 0, executors: urls }));
    const back = await startExecutor('a-again', port);
    cleanup.push(() => back.close());
    const deadline = Date.now() + 15_000;
    while (back.received.length === 0 && Date.now() < deadline) {
      answer(await run(pool, { input: 1, executors: urls }));
      await sleep(100);
    }
    assert.ok(back.received.length > 0, 'the restarted executor got jobs again');
  });

  test('an executor that refuses the connection after a good health check: the job moves to another at once', async () => {
    const pool = onePool();
    const [a, b] = await executors(2);
    const urls = [a!.url, b!.url];
    // Both are checked and trusted for healthTtlMs (1 s); then a dies.
    answer(await run(pool, { input: 0, executors: urls }));
    await a!.close();
    for (let i = 0; i < 4; i++) assert.equal(answer(await run(pool, { input: i, executors: urls })).by, 'e1');
  });

  test('no healthy executor: a retryable error naming each executor and what was wrong', async () => {
    const pool = onePool();
    const [a, b] = await executors(2);
    await a!.close();
    b!.health = 'fail';
    const outcome = failure(await run(pool, { input: 0, executors: [a!.url, b!.url] }));
    assert.deepEqual([outcome.error.name, outcome.error.code, outcome.unrecoverable], ['HttpExecutorError', 'HTTP_NO_HEALTHY_EXECUTOR', false]);
    assert.match(outcome.error.message, /no healthy executor among 2/);
    assert.ok(outcome.error.message.includes(`${a!.url}: GET /health failed (ECONNREFUSED)`), outcome.error.message);
    assert.ok(outcome.error.message.includes(`${b!.url}: GET /health answered 503`), outcome.error.message);
    assert.match(outcome.error.message, /retried per its back-off policy/);
  });

  const faults: Array<[string, (e: Executor) => void, Record<string, unknown>, string, boolean, RegExp]> = [
    ['dies mid-job', (e) => (e.run = 'reset'), {}, 'HTTP_EXECUTOR_NETWORK', false, /may have died mid-job/],
    ['hangs past timeoutMs', (e) => (e.run = 'hang'), { timeoutMs: 300 }, 'HTTP_EXECUTOR_TIMEOUT', false, /did not answer POST \/run within 300 ms/],
    ['refuses the job (422)', (e) => (e.run = 'reject'), {}, 'HTTP_EXECUTOR_REJECTED', true, /answered 422 to POST \/run: \{"error":"input\.size must be positive"\}; the executor refused this job/],
    ['fails (500)', (e) => (e.run = 'fail'), {}, 'HTTP_EXECUTOR_FAILED', false, /answered 500 to POST \/run: executor exploded/],
    ['answers something that is not JSON', (e) => (e.run = 'not-json'), {}, 'HTTP_EXECUTOR_BAD_ANSWER', false, /not JSON/],
  ];
  for (const [name, arrange, extra, code, unrecoverable, message] of faults) {
    test(`an executor that ${name}`, async () => {
      const pool = onePool();
      const [e] = await executors(1);
      arrange(e!);
      const outcome = failure(await run(pool, { input: 1, executors: [e!.url], ...extra }));
      assert.deepEqual([outcome.error.code, outcome.unrecoverable], [code, unrecoverable]);
      assert.match(outcome.error.message, message);
    });
  }

  test('TROUPE_HTTP_EXECUTORS configures the executors; missing or bad configuration is named', async () => {
    const [e] = await executors(1);
    process.env.TROUPE_HTTP_EXECUTORS = ` ${e!.url}/ , `;
    const configured = onePool();
    delete process.env.TROUPE_HTTP_EXECUTORS;
    assert.equal(answer(await run(configured, { input: 'from env' })).echoed, 'from env');

    const none = onePool();
    const missing = failure(await run(none, { input: 1 }));
    assert.deepEqual([missing.error.code, missing.unrecoverable], ['HTTP_NO_EXECUTORS', true]);
    assert.match(missing.error.message, /set TROUPE_HTTP_EXECUTORS=http:\/\/host:port,\.\.\. for the supervisor, or give data\.executors/);

    process.env.TROUPE_HTTP_EXECUTORS = 'http://ok:1,ftp://bad';
    const bad = onePool();
    delete process.env.TROUPE_HTTP_EXECUTORS;
    const wrong = failure(await run(bad, { input: 1 }));
    assert.deepEqual([wrong.error.code, wrong.unrecoverable], ['HTTP_EXECUTOR_BAD_CONFIG', true]);
    assert.match(wrong.error.message, /TROUPE_HTTP_EXECUTORS entry 2 must use http or https/);
  });

  test('validation', async () => {
    const pool = onePool();
    const cases: Array<[unknown, RegExp]> = [
      [[1, 2], /data must be an object like/],
      [{ executors: [] }, /data\.executors must be a non-empty array/],
      [{ executors: ['nope'] }, /data\.executors\[0\] is not a valid URL/],
      [{ path: 'run' }, /data\.path must be a path starting with "\/"/],
      [{ timeoutMs: -1 }, /data\.timeoutMs must be a whole number/],
    ];
    for (const [data, message] of cases) {
      const outcome = failure(await run(pool, data));
      assert.equal(outcome.error.code, 'INVALID_INPUT');
      assert.match(outcome.error.message, message);
    }
  });
});
