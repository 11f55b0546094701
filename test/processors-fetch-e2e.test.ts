/**
 * `fetch` behind a real supervisor, enqueued through the real CLI with nothing but a url: the
 * default result must be storable (before, every plain fetch went dead with RESULT_INVALID,
 * "holds bytes inside a JSON payload") and readable back with `troupe job` and Queue.getJob.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from '../src/index.js';
import type { FetchResult } from '../src/processors/fetch/fetch.js';
import { startServer, trickyRoutes, type TestServer } from './fixtures/http/server.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { runCli, SupervisorProcess } from './helpers/supervisor-process.js';

const QUEUE = 'fetch-e2e';
let redis: PrivateRedis;
let server: TestServer;
let supervisor: SupervisorProcess;
let queue: Queue;

before(async () => {
  redis = await startPrivateRedis();
  server = await startServer(trickyRoutes());
  supervisor = new SupervisorProcess(['--threads', '1', '--queues', QUEUE, '--http-port', '0', '--allow-hosts', 'loopback'], { TROUPE_REDIS_URL: redis.url });
  await supervisor.started();
  queue = new Queue(QUEUE, { connection: redis.url });
});
after(async () => {
  await queue?.close();
  await supervisor?.kill();
  await server?.close();
  await redis?.destroy();
});

const env = (): NodeJS.ProcessEnv => ({ TROUPE_REDIS_URL: redis.url });

/** Enqueues through `troupe enqueue` and returns the printed id. */
async function enqueue(data: unknown): Promise<string> {
  const run = await runCli(['enqueue', QUEUE, 'fetch', '--data', JSON.stringify(data)], env());
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.trim();
}

/** The job as `troupe job --json` prints it. */
async function shown(id: string): Promise<{ state: string; result: unknown }> {
  const run = await runCli(['job', id, '--queue', QUEUE, '--json'], env());
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as { state: string; result: unknown };
}

describe('fetch with only a url completes, and its result reads back', () => {
  test('a text answer: the body as text, with status and headers', async () => {
    const id = await enqueue({ url: `${server.url}/ok` });
    const result = (await queue.waitForResult(id, { timeoutMs: 20_000 })) as FetchResult;
    assert.equal(result.status, 200);
    assert.equal(result.contentType, 'text/plain; charset=utf-8');
    assert.equal(result.body, 'hello from /ok');
    assert.equal(result.bodyEncoding, 'text');
    const job = await queue.getJob(id);
    assert.equal(job?.state, 'completed');
    assert.deepEqual(job?.result, result);
    const printed = await shown(id);
    assert.equal(printed.state, 'completed');
    assert.deepEqual(printed.result, result);
  });

  test('a JSON answer is text too (as: "json" parses it)', async () => {
    const id = await enqueue({ url: `${server.url}/json` });
    const result = (await queue.waitForResult(id, { timeoutMs: 20_000 })) as FetchResult;
    assert.deepEqual([result.bodyEncoding, JSON.parse(result.body as string)], ['text', { ok: true, list: [1, 2, 3] }]);
  });

  test('a binary answer: the body as base64, marked so', async () => {
    const id = await enqueue({ url: `${server.url}/bytes/5` });
    const result = (await queue.waitForResult(id, { timeoutMs: 20_000 })) as FetchResult;
    assert.deepEqual([result.contentType, result.bytes, result.bodyEncoding, result.body], ['application/octet-stream', 5, 'base64', 'YWFhYWE=']);
    assert.deepEqual((await shown(id)).result, result);
  });

  test('as: "bytes" makes the body itself the result, stored raw', async () => {
    const id = await enqueue({ url: `${server.url}/bytes/5`, as: 'bytes' });
    const result = await queue.waitForResult(id, { timeoutMs: 20_000 });
    assert.ok(Buffer.isBuffer(result), `a Buffer, got ${JSON.stringify(result)}`);
    assert.equal(result.toString(), 'aaaaa');
    assert.deepEqual((await shown(id)).result, { type: 'bytes', length: 5 });
  });
});

describe("the job's data cannot raise what the supervisor stores", () => {
  test('a result over the store limit (16 MiB) fails the job, whatever maxBytes the job asked for', async () => {
    const id = await enqueue({ url: `${server.url}/bytes/17000000`, as: 'bytes', maxBytes: 20_000_000 });
    await assert.rejects(queue.waitForResult(id, { timeoutMs: 30_000 }), (err: Error & { jobError?: { code: string; message: string } }) => {
      assert.equal(err.jobError?.code, 'RESULT_INVALID');
      assert.match(err.jobError?.message ?? '', /is 17000000 bytes, over the limit of 16777216 bytes/);
      return true;
    });
    assert.equal((await queue.getJob(id))?.state, 'dead');
  });
});
