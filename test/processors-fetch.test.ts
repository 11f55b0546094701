import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FETCH_DEFAULTS } from '../src/processors/fetch/options.js';
import type { FetchResult } from '../src/processors/fetch/fetch.js';
import type { JobOutcome } from '../src/threads/protocol.js';
import { startServer, trickyRoutes, type TestServer } from './fixtures/http/server.js';
import { job, makePool, runJobs, type Pool } from './fixtures/threads/pool.js';

let pool: Pool;
let server: TestServer;
before(async () => {
  // The test server is on loopback, which jobs may reach only when the supervisor allows it.
  pool = makePool({ init: { allowHosts: ['loopback'] } });
  server = await startServer(trickyRoutes());
});
after(async () => {
  await pool.destroy();
  await server.close();
});

async function run(data: unknown, overrides = {}): Promise<JobOutcome> {
  const { outcomes } = await runJobs(pool, [job('fetch', data, overrides)]);
  return outcomes[0]!;
}

async function fetched(data: Record<string, unknown>): Promise<{ result: FetchResult; followUps: unknown[] }> {
  const outcome = await run(data);
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome).slice(0, 400));
  const done = outcome as Extract<JobOutcome, { status: 'completed' }>;
  return { result: done.result as FetchResult, followUps: done.followUps };
}

function failure(outcome: JobOutcome) {
  assert.equal(outcome.status, 'failed', `expected a failure, got ${JSON.stringify(outcome).slice(0, 300)}`);
  return outcome as Extract<JobOutcome, { status: 'failed' }>;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

describe('fetch: answers', () => {
  test('a 200 gives status, headers, size and the body as auto, text, JSON, base64 or bytes', async () => {
    const { result } = await fetched({ url: `${server.url}/ok` });
    assert.equal(result.status, 200);
    assert.equal(result.finalUrl, `${server.url}/ok`);
    assert.equal(result.contentType, 'text/plain; charset=utf-8');
    assert.equal(result.bytes, 'hello from /ok'.length);
    assert.deepEqual([result.body, result.bodyEncoding], ['hello from /ok', 'text'], 'auto: a text type is text');
    assert.deepEqual(result.redirects, []);
    const binary = (await fetched({ url: `${server.url}/bytes/3` })).result;
    assert.deepEqual([binary.body, binary.bodyEncoding], ['YWFh', 'base64'], 'auto: anything else is base64');
    assert.equal((await fetched({ url: `${server.url}/ok`, as: 'text' })).result.body, 'hello from /ok');
    assert.deepEqual((await fetched({ url: `${server.url}/ok`, as: 'base64' })).result.body, Buffer.from('hello from /ok').toString('base64'));
    const json = (await fetched({ url: `${server.url}/json`, as: 'json' })).result;
    assert.deepEqual([json.body, json.bodyEncoding], [{ ok: true, list: [1, 2, 3] }, 'json']);
    const bytes = (await fetched({ url: `${server.url}/ok`, as: 'bytes' })).result as unknown;
    assert.ok(bytes instanceof Uint8Array, 'as bytes: the body is the whole result');
    assert.equal(Buffer.from(bytes).toString(), 'hello from /ok');
    const notJson = failure(await run({ url: `${server.url}/ok`, as: 'json' }));
    assert.deepEqual([notJson.error.code, notJson.unrecoverable], ['FETCH_BAD_BODY', true]);
  });

  test('redirects are followed up to maxRedirects and listed', async () => {
    const { result } = await fetched({ url: `${server.url}/chain/3`, as: 'text' });
    assert.equal(result.finalUrl, `${server.url}/chain/0`);
    assert.deepEqual(result.redirects, [`${server.url}/chain/2`, `${server.url}/chain/1`, `${server.url}/chain/0`]);
    assert.equal(result.body, 'end of chain');
  });

  test('a follow-up job takes the body on (crawl then extract), and the body is not stored twice', async () => {
    const { result, followUps } = await fetched({ url: `${server.url}/bytes/5`, followUp: { processor: 'wasm', queue: 'extract', options: { priority: 'high' } } });
    assert.equal(result.body, undefined, 'the follow-up holds the body');
    assert.deepEqual(result.followUp, { processor: 'wasm', queue: 'extract' });
    assert.equal(followUps.length, 1);
    const next = followUps[0] as { processor: string; queue: string; data: Uint8Array; options: unknown };
    assert.equal(next.processor, 'wasm');
    assert.equal(next.queue, 'extract');
    assert.deepEqual(next.options, { priority: 'high' });
    assert.ok(next.data instanceof Uint8Array);
    assert.equal(Buffer.from(next.data).toString(), 'aaaaa');
    const withData = await fetched({ url: `${server.url}/ok`, includeBody: true, followUp: { processor: 'pdf', data: { url: `${server.url}/ok` } } });
    assert.deepEqual(withData.followUps, [{ processor: 'pdf', data: { url: `${server.url}/ok` } }]);
    assert.deepEqual([withData.result.body, withData.result.bodyEncoding], ['hello from /ok', 'text'], 'includeBody keeps it');
  });
});

describe('fetch: every fault is a typed error', () => {
  const cases: Array<[string, () => Record<string, unknown>, string, boolean, RegExp]> = [
    ['redirect loop', () => ({ url: `${server.url}/loop/a` }), 'FETCH_REDIRECT_LOOP', true, /redirects in a loop: .*\/loop\/a -> .*\/loop\/b -> .*\/loop\/a/],
    ['too many redirects', () => ({ url: `${server.url}/chain/6` }), 'FETCH_TOO_MANY_REDIRECTS', true, /redirected more than maxRedirects \(5\) times/],
    ['maxRedirects 0', () => ({ url: `${server.url}/chain/1`, maxRedirects: 0 }), 'FETCH_TOO_MANY_REDIRECTS', true, /maxRedirects \(0\)/],
    ['redirect to ftp', () => ({ url: `${server.url}/redirect-ftp` }), 'FETCH_BAD_REDIRECT', true, /only http and https redirects are followed/],
    ['redirect without Location', () => ({ url: `${server.url}/redirect-nowhere` }), 'FETCH_BAD_REDIRECT', true, /without a Location header/],
    ['too large, declared', () => ({ url: `${server.url}/too-much-declared`, maxBytes: 1_000_000 }), 'FETCH_TOO_LARGE', true, /over the limit of 1000000 bytes \(it declares 50000000 bytes\)/],
    ['too large, streamed', () => ({ url: `${server.url}/too-much-streamed`, maxBytes: 1_000_000 }), 'FETCH_TOO_LARGE', true, /it sent more than that/],
    ['slow to answer', () => ({ url: `${server.url}/slow?ms=3000`, timeoutMs: 200 }), 'FETCH_TIMEOUT', false, /took longer than 200 ms/],
    ['slow body', () => ({ url: `${server.url}/trickle?ms=100&n=50`, timeoutMs: 300 }), 'FETCH_TIMEOUT', false, /took longer than 300 ms/],
    ['404', () => ({ url: `${server.url}/status/404` }), 'FETCH_HTTP_STATUS', true, /answered 404 Not Found; asking again will not help/],
    ['500', () => ({ url: `${server.url}/status/500` }), 'FETCH_HTTP_STATUS', false, /answered 500 .*retried per its back-off policy/],
    ['connection dropped', () => ({ url: `${server.url}/reset` }), 'FETCH_NETWORK', false, /failed before an answer arrived/],
  ];
  for (const [name, data, code, unrecoverable, message] of cases) {
    test(name, async () => {
      const started = Date.now();
      const outcome = failure(await run(data()));
      assert.deepEqual([outcome.error.name, outcome.error.code, outcome.unrecoverable], ['FetchError', code, unrecoverable]);
      assert.match(outcome.error.message, message);
      assert.ok(Date.now() - started < 5000, 'limits end a request promptly');
    });
  }

  test('connection refused is retryable network trouble', async () => {
    const outcome = failure(await run({ url: `http://127.0.0.1:${await closedPort()}/` }));
    assert.deepEqual([outcome.error.code, outcome.unrecoverable], ['FETCH_NETWORK', false]);
    assert.match(outcome.error.message, /ECONNREFUSED/);
  });

  test('429 and 503 honour Retry-After', async () => {
    const busy = failure(await run({ url: `${server.url}/status/503?retryAfter=3` }));
    assert.deepEqual([busy.unrecoverable, busy.retryAfterMs], [false, 3000]);
    const limited = failure(await run({ url: `${server.url}/status/429?retryAfter=120` }));
    assert.deepEqual([limited.unrecoverable, limited.retryAfterMs], [false, 120_000]);
  });

  test("the job's own time limit wins over a longer request limit", async () => {
    const outcome = failure(await run({ url: `${server.url}/slow?ms=3000`, timeoutMs: 60_000 }, { timeoutMs: 200 }));
    assert.equal(outcome.error.code, 'JOB_TIMEOUT');
  });

  test('a too-large stream is cut off, not read to the end', async () => {
    const before = server.hits.get('/too-much-streamed') ?? 0;
    const started = Date.now();
    failure(await run({ url: `${server.url}/too-much-streamed?n=500000000`, maxBytes: 100_000 }));
    assert.equal(server.hits.get('/too-much-streamed'), before + 1);
    assert.ok(Date.now() - started < 5000, '500 MB were not read');
  });
});

describe('fetch: validation', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /data\.url must be an http\(s\) URL string, got undefined/],
    [{ url: 'not a url' }, /data\.url is not a valid URL: "not a url"/],
    [{ url: 'file:///etc/passwd' }, /must use http or https, got "file"/],
    [{ url: 'http://x/', timeoutMs: 0 }, /data\.timeoutMs must be a whole number from 1 to 3600000, got 0/],
    [{ url: 'http://x/', maxRedirects: 21 }, /data\.maxRedirects must be a whole number from 0 to 20/],
    [{ url: 'http://x/', headers: { 'bad header': 'x' } }, /invalid header name "bad header"/],
    [{ url: 'http://x/', headers: { accept: 1 } }, /data\.headers\.accept must be a string/],
    [{ url: 'http://x/', as: 'xml' }, /data\.as must be one of auto, text, json, base64, bytes/],
    [{ url: 'http://x/', followUp: { queue: 'q' } }, /data\.followUp\.processor must name a processor/],
    [{ url: 'http://x/', followUp: 'wasm' }, /data\.followUp must be an object like/],
  ];
  for (const [data, message] of cases) {
    test(`${JSON.stringify(data)} is refused`, async () => {
      const outcome = failure(await run(data));
      assert.deepEqual([outcome.error.code, outcome.unrecoverable], ['INVALID_INPUT', true]);
      assert.match(outcome.error.message, message);
    });
  }

  test('defaults', () => {
    assert.deepEqual(FETCH_DEFAULTS, { timeoutMs: 30_000, maxBytes: 10 * 1024 * 1024, maxRedirects: 5, concurrency: 4, maxBatch: 100 });
  });
});

describe('fetch: which bodies "auto" shows as text', () => {
  test('text/*, JSON and XML (also +json, +xml), known textual types; UTF-8 without a type', async () => {
    const { isTextual } = await import('../src/processors/fetch/body.js');
    const utf8 = Buffer.from('héllo');
    for (const type of ['text/html; charset=iso-8859-1', 'TEXT/CSV', 'application/json', 'application/ld+json', 'application/x-ndjson', 'application/xml', 'image/svg+xml', 'application/javascript', 'application/x-www-form-urlencoded']) {
      assert.equal(isTextual(type, utf8), true, type);
    }
    for (const type of ['application/octet-stream', 'application/pdf', 'image/png', 'application/zip', 'font/woff2']) {
      assert.equal(isTextual(type, utf8), false, type);
    }
    assert.equal(isTextual(undefined, utf8), true, 'no type, valid UTF-8');
    assert.equal(isTextual(undefined, Buffer.from([0xff, 0xfe, 0x00, 0x80])), false, 'no type, not UTF-8');
  });
});

describe("the deployment's caps win over the job's data", () => {
  /** A one-thread pool whose thread starts with these variables (threads copy the environment when they start). */
  function poolWith(env: Record<string, string>): Pool {
    Object.assign(process.env, env);
    try {
      return makePool({ maxThreads: 1, init: { allowHosts: ['loopback'] } });
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
    }
  }

  test('a job asking for more than TROUPE_FETCH_MAX_BYTES_CAP fails before any request; the default is lowered to the cap', async () => {
    const capped = poolWith({ TROUPE_FETCH_MAX_BYTES_CAP: '1000', TROUPE_FETCH_TIMEOUT_MS_CAP: '2000' });
    try {
      const before = server.hits.get('/bytes/500') ?? 0;
      const [over, slow, fits, byDefault] = (
        await runJobs(capped, [
          job('fetch', { url: `${server.url}/bytes/500`, maxBytes: 5000 }),
          job('fetch', { url: `${server.url}/bytes/500`, timeoutMs: 60_000 }),
          job('fetch', { url: `${server.url}/bytes/500`, maxBytes: 1000 }),
          job('fetch', { url: `${server.url}/bytes/2000` }),
        ])
      ).outcomes;
      const refused = failure(over!);
      assert.deepEqual([refused.error.code, refused.unrecoverable], ['FETCH_OVER_CAP', true]);
      assert.match(refused.error.message, /fetch: data\.maxBytes 5000 is over this deployment's cap of 1000 \(TROUPE_FETCH_MAX_BYTES_CAP\)/);
      assert.match(failure(slow!).error.message, /data\.timeoutMs 60000 is over this deployment's cap of 2000 \(TROUPE_FETCH_TIMEOUT_MS_CAP\)/);
      assert.equal(fits!.status, 'completed');
      assert.equal(server.hits.get('/bytes/500'), before + 1, 'only the job within the cap made a request');
      const big = failure(byDefault!);
      assert.equal(big.error.code, 'FETCH_TOO_LARGE');
      assert.match(big.error.message, /over the limit of 1000 bytes/, 'the 10 MiB default is lowered to the cap');
    } finally {
      await capped.destroy();
    }
  });

  test('crawl: concurrency and maxBytes over their caps are refused', async () => {
    const capped = poolWith({ TROUPE_CRAWL_CONCURRENCY_CAP: '2', TROUPE_FETCH_MAX_BYTES_CAP: '1000' });
    try {
      const [wide, large] = (
        await runJobs(capped, [job('crawl', { urls: [`${server.url}/ok`], concurrency: 8 }), job('crawl', { urls: [`${server.url}/ok`], maxBytes: 2000 })])
      ).outcomes;
      assert.match(failure(wide!).error.message, /crawl: data\.concurrency 8 is over this deployment's cap of 2 \(TROUPE_CRAWL_CONCURRENCY_CAP\)/);
      assert.equal(failure(large!).error.code, 'FETCH_OVER_CAP');
    } finally {
      await capped.destroy();
    }
  });

  test('a bad cap variable fails the job as retryable, naming the variable', async () => {
    const bad = poolWith({ TROUPE_FETCH_MAX_BYTES_CAP: 'lots' });
    try {
      const outcome = failure((await runJobs(bad, [job('fetch', { url: `${server.url}/ok` })])).outcomes[0]!);
      assert.equal(outcome.unrecoverable, false);
      assert.match(outcome.error.message, /TROUPE_FETCH_MAX_BYTES_CAP="lots" must be a whole number from 0 to 1073741824; fix the environment of the supervisor/);
    } finally {
      await bad.destroy();
    }
  });
});

describe('compressed bodies are decoded, and maxBytes bounds the decoded size', () => {
  test('gzip, deflate and br are decoded; a gzip bomb stops at maxBytes', async () => {
    const { brotliCompressSync, deflateSync, gzipSync } = await import('node:zlib');
    const { getLimited } = await import('../src/processors/fetch/http-client.js');
    const { parseAllowList } = await import('../src/net-guard/index.js');
    const text = Buffer.from('compressed '.repeat(100));
    const bomb = gzipSync(Buffer.alloc(20_000_000));
    const encoded = await startServer((_req, res, url) => {
      const coding = url.pathname.slice(1);
      const body = coding === 'bomb' ? bomb : coding === 'gzip' ? gzipSync(text) : coding === 'deflate' ? deflateSync(text) : brotliCompressSync(text);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': coding === 'bomb' ? 'gzip' : coding }).end(body);
    });
    const guard = { policy: parseAllowList(['loopback']) };
    try {
      for (const coding of ['gzip', 'deflate', 'br']) {
        const response = await getLimited(`${encoded.url}/${coding}`, { timeoutMs: 5000, maxBytes: 10_000, maxRedirects: 0 }, undefined, guard);
        assert.equal(response.body.toString(), text.toString(), coding);
      }
      assert.ok(bomb.byteLength < 100_000, `the bomb is small on the wire (${bomb.byteLength} bytes)`);
      await assert.rejects(getLimited(`${encoded.url}/bomb`, { timeoutMs: 5000, maxBytes: 1_000_000, maxRedirects: 0 }, undefined, guard), /over the limit of 1000000 bytes \(it sent more than that\)/);
    } finally {
      await encoded.close();
    }
  });
});
