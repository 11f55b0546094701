/**
 * fetch, crawl and http against the network guard, with real requests to loopback servers only.
 * Loopback is refused unless allowed; a redirect from an allowed host to a refused one stops at
 * the refused hop; each allow-list form opens what it names. Public-looking and metadata
 * destinations are refused before any socket exists (counted on Node's net.client.socket
 * channel), so these tests send nothing anywhere but loopback.
 */
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { getLimited, type HttpLimits } from '../src/processors/fetch/http-client.js';
import { checkHop, DestinationRefusedError, parseAllowList, type NetGuard } from '../src/net-guard/index.js';
import type { CrawlResult } from '../src/processors/fetch/crawl.js';
import type { JobOutcome } from '../src/threads/protocol.js';
import { startExecutor, type Executor } from './fixtures/http/executor.js';
import { startServer, trickyRoutes, type TestServer } from './fixtures/http/server.js';
import { job, makePool, runJobs, type Pool } from './fixtures/threads/pool.js';

let target: TestServer;
/** The same routes on ::1, for the IPv6 forms. */
let target6: Server;
let redirector: TestServer;
let connections = 0;
before(async () => {
  target = await startServer(trickyRoutes());
  target.server.on('connection', () => (connections += 1));
  target6 = createServer(target.server.listeners('request')[0] as Parameters<typeof createServer>[0]);
  await new Promise<void>((r) => target6.listen(0, '::1', r));
  // GET /go?to=URL answers 302 to URL.
  redirector = await startServer((_req, res, url) => {
    if (url.pathname === '/go') res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('redirector');
  });
});
after(async () => {
  await target.close();
  await redirector.close();
  target6.closeAllConnections();
  await new Promise((r) => target6.close(r));
});

const LIMITS: HttpLimits = { timeoutMs: 5000, maxBytes: 1_000_000, maxRedirects: 5 };

/** Sockets created while `fn` runs (net.connect publishes each on this channel before any lookup or connect). */
async function socketsDuring<T>(fn: () => Promise<T>): Promise<{ value: T | undefined; error: unknown; sockets: number }> {
  let sockets = 0;
  const count = (): void => void (sockets += 1);
  dc.subscribe('net.client.socket', count);
  try {
    return { value: await fn(), error: undefined, sockets };
  } catch (error) {
    return { value: undefined, error, sockets };
  } finally {
    dc.unsubscribe('net.client.socket', count);
  }
}

/** A stand-in DNS: the names below resolve to loopback, as a rebinding name would. */
function fakeDns(allow: string[]): NetGuard & { asked: string[] } {
  const asked: string[] = [];
  const table: Record<string, LookupAddress[]> = {
    'rebind.test': [{ address: '127.0.0.1', family: 4 }],
    'api.svc.test': [{ address: '127.0.0.1', family: 4 }],
    localhost: [{ address: '127.0.0.1', family: 4 }],
  };
  return {
    policy: parseAllowList(allow),
    asked,
    resolve(host, _options, callback) {
      asked.push(host);
      const answer = table[host];
      if (answer) callback(null, answer);
      else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    },
  };
}

function refusal(error: unknown): DestinationRefusedError {
  assert.ok(error instanceof DestinationRefusedError, `expected a refusal, got ${String(error)}`);
  assert.deepEqual([error.code, error.unrecoverable], ['FETCH_DESTINATION_REFUSED', true]);
  return error;
}

describe('loopback is refused unless allowed', () => {
  test('fetch in a thread without an allow-list: refused, unrecoverable, naming the address, the range and the flag; the server saw nothing', async () => {
    const pool = makePool();
    try {
      const before = connections;
      const { outcomes } = await runJobs(pool, [job('fetch', { url: `${target.url}/ok` })]);
      const outcome = outcomes[0] as Extract<JobOutcome, { status: 'failed' }>;
      assert.equal(outcome.status, 'failed');
      assert.deepEqual([outcome.error.code, outcome.unrecoverable], ['FETCH_DESTINATION_REFUSED', true]);
      assert.match(outcome.error.message, /refused to connect to 127\.0\.0\.1 \(loopback range 127\.0\.0\.0\/8\).*--allow-hosts \(TROUPE_ALLOW_HOSTS, config "allowHosts"\), e\.g\. 127\.0\.0\.1, 127\.0\.0\.0\/8 or loopback/);
      assert.equal(connections, before);
    } finally {
      await pool.destroy();
    }
  });

  test('a name that resolves to loopback (localhost, or a rebinding name) is refused at connect, and nothing connects', async () => {
    const before = connections;
    const local = await socketsDuring(() => getLimited(`http://localhost:${target.port}/ok`, LIMITS, undefined, { policy: parseAllowList([]) }));
    assert.match(refusal(local.error).message, /\(localhost resolves to it\)/);
    const dns = fakeDns([]);
    const rebind = await socketsDuring(() => getLimited(`http://rebind.test:${target.port}/ok`, LIMITS, undefined, dns));
    assert.match(refusal(rebind.error).message, /refused to connect to 127\.0\.0\.1 \(loopback range 127\.0\.0\.0\/8\) \(rebind\.test resolves to it\)/);
    assert.deepEqual(dns.asked, ['rebind.test'], 'the check is on the lookup the socket made');
    assert.equal(connections, before, 'the server saw no connection');
  });

  test('crawl: the refused URL gets its own error, the allowed one is fetched', async () => {
    const pool = makePool({ init: { allowHosts: ['127.0.0.1'] } });
    try {
      const { outcomes } = await runJobs(pool, [job('crawl', { urls: [`${target.url}/ok`, `http://[::1]:${target.port}/ok`] })]);
      const { result } = outcomes[0] as { result: CrawlResult };
      assert.deepEqual(
        result.results.map((r) => [r.ok, r.error?.code]),
        [
          [true, undefined],
          [false, 'FETCH_DESTINATION_REFUSED'],
        ],
      );
      assert.match(result.results[1]!.error!.message, /::1 \(loopback range ::1\/128\)/);
    } finally {
      await pool.destroy();
    }
  });
});

describe('refused before any connection', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 \(a cloud metadata service address range 169\.254\.169\.254\/32\)/],
    ['the AWS IPv6 metadata address', 'http://[fd00:ec2::254]/latest/meta-data/', /fd00:ec2::254 \(a cloud metadata service address/],
    ['the GCP metadata name', 'http://metadata.google.internal/computeMetadata/v1/', /metadata\.google\.internal \(a cloud metadata service address\)/],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/', /metadata service address range 169\.254\.169\.254\/32/],
    ['a private address', 'http://10.11.12.13/', /private \(RFC 1918\) range 10\.0\.0\.0\/8/],
    ['192.168/16', 'http://192.168.0.1/', /range 192\.168\.0\.0\/16/],
    ['172.16/12', 'http://172.20.0.1/', /range 172\.16\.0\.0\/12/],
    ['CGNAT', 'http://100.64.0.1/', /carrier-grade NAT .*range 100\.64\.0\.0\/10/],
    ['link-local IPv6', 'http://[fe80::1]/', /link-local range fe80::\/10/],
    ['unique-local IPv6', 'http://[fc00::1]/', /unique-local IPv6 range fc00::\/7/],
    ['0.0.0.0', 'http://0.0.0.0:PORT/ok', /"this host" \(unspecified\) range 0\.0\.0\.0\/8/],
    ['loopback written as a number', 'http://2130706433:PORT/ok', /127\.0\.0\.1 \(loopback/],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]:PORT/ok', /loopback range 127\.0\.0\.0\/8/],
  ];
  for (const [name, url, message] of cases) {
    test(name, async () => {
      const dns = fakeDns([]);
      const before = connections;
      const href = url.replace('PORT', String(target.port));
      // The pure check first: should the guard ever stop refusing, the test fails here rather than sending a packet off this host.
      assert.throws(() => checkHop(dns, new URL(href), 'GET'), DestinationRefusedError);
      const { error, sockets } = await socketsDuring(() => getLimited(href, LIMITS, undefined, dns));
      assert.match(refusal(error).message, message);
      assert.equal(sockets, 0, 'no socket was created');
      assert.deepEqual(dns.asked, [], 'no name was looked up');
      assert.equal(connections, before);
    });
  }
});

test('opening link-local does not open the metadata address', async () => {
  assert.throws(() => checkHop(fakeDns(['link-local', '169.254.0.0/16']), new URL('http://169.254.169.254/'), 'GET'), DestinationRefusedError);
  const { error, sockets } = await socketsDuring(() => getLimited('http://169.254.169.254/latest/meta-data/', LIMITS, undefined, fakeDns(['link-local', '169.254.0.0/16'])));
  assert.equal(refusal(error).range, 'metadata');
  assert.equal(sockets, 0);
});

describe('redirects are checked at every hop', () => {
  test('from an allowed host (by name) to a refused address: stops at that hop, whose server sees nothing', async () => {
    const guard: NetGuard = { policy: parseAllowList(['localhost']) };
    const before = target.hits.get('/ok') ?? 0;
    const to = `http://127.0.0.1:${target.port}/ok`;
    const { error, sockets } = await socketsDuring(() => getLimited(`http://localhost:${redirector.port}/go?to=${encodeURIComponent(to)}`, LIMITS, undefined, guard));
    assert.match(refusal(error).message, new RegExp(`GET ${to.replace(/\./g, '\\.')}: refused to connect to 127\\.0\\.0\\.1 \\(loopback`));
    assert.equal(sockets, 1, 'only the first hop connected');
    assert.equal(target.hits.get('/ok') ?? 0, before);
  });

  test('to the metadata address: refused before connecting', async () => {
    const guard: NetGuard = { policy: parseAllowList(['loopback']) };
    const { error, sockets } = await socketsDuring(() => getLimited(`${redirector.url}/go?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/iam/')}`, LIMITS, undefined, guard));
    assert.equal(refusal(error).range, 'metadata');
    assert.equal(sockets, 1);
  });

  test('a redirect within the allowed hosts is followed', async () => {
    const guard: NetGuard = { policy: parseAllowList(['loopback']) };
    const response = await getLimited(`${redirector.url}/go?to=${encodeURIComponent(`${target.url}/ok`)}`, LIMITS, undefined, guard);
    assert.deepEqual([response.status, response.body.toString(), response.redirects], [200, 'hello from /ok', [`${target.url}/ok`]]);
  });
});

describe('each allow-list form opens what it names', () => {
  const forms: Array<[string, string[], string]> = [
    ['a range name', ['loopback'], 'TARGET/ok'],
    ['an IP address', ['127.0.0.1'], 'TARGET/ok'],
    ['a CIDR range', ['127.0.0.0/8'], 'TARGET/ok'],
    ['an IPv6 address', ['::1'], 'http://[::1]:PORT6/ok'],
    ['a host name', ['localhost'], 'http://localhost:PORT/ok'],
    ['*.domain', ['*.svc.test'], 'http://api.svc.test:PORT/ok'],
    ['*', ['*'], 'TARGET/ok'],
  ];
  for (const [name, allow, url] of forms) {
    test(name, async () => {
      const guard = fakeDns(allow);
      const response = await getLimited(url.replace('TARGET', target.url).replace('PORT6', String((target6.address() as AddressInfo).port)).replace('PORT', String(target.port)), LIMITS, undefined, guard);
      assert.deepEqual([response.status, response.body.toString()], [200, 'hello from /ok']);
    });
  }

  test('a form that names something else does not open loopback', async () => {
    for (const allow of [['private'], ['10.0.0.0/8'], ['other.test'], ['*.svc.test']]) {
      const { error } = await socketsDuring(() => getLimited(`${target.url}/ok`, LIMITS, undefined, fakeDns(allow)));
      refusal(error);
    }
    const { error } = await socketsDuring(() => getLimited(`http://rebind.test:${target.port}/ok`, LIMITS, undefined, fakeDns(['*.svc.test'])));
    refusal(error);
  });

  test('through a thread: the pool init carries the allow-list', async () => {
    const pool = makePool({ init: { allowHosts: ['127.0.0.0/8'] } });
    try {
      const { outcomes } = await runJobs(pool, [job('fetch', { url: `${target.url}/ok`, as: 'text' })]);
      assert.equal(outcomes[0]!.status, 'completed', JSON.stringify(outcomes[0]));
    } finally {
      await pool.destroy();
    }
  });
});

describe('http executor', () => {
  let executor: Executor;
  before(async () => {
    executor = await startExecutor('guarded');
  });
  after(async () => {
    await executor.close();
  });

  test("an executor the job names on loopback is refused without a health check or a POST", async () => {
    const pool = makePool({ maxThreads: 1 });
    try {
      const { outcomes } = await runJobs(pool, [job('http', { input: 1, executors: [executor.url] })]);
      const outcome = outcomes[0] as Extract<JobOutcome, { status: 'failed' }>;
      assert.equal(outcome.status, 'failed');
      assert.deepEqual([outcome.error.code, outcome.unrecoverable], ['FETCH_DESTINATION_REFUSED', true]);
      assert.match(outcome.error.message, /http: GET http:\/\/127\.0\.0\.1:\d+\/health: refused to connect to 127\.0\.0\.1 \(loopback/);
      assert.deepEqual([executor.healthChecks, executor.received.length], [0, 0]);
    } finally {
      await pool.destroy();
    }
  });

  test('the executors of TROUPE_HTTP_EXECUTORS are the operator’s own: reached without an allow-list, but only that origin', async () => {
    process.env.TROUPE_HTTP_EXECUTORS = executor.url;
    const pool = makePool({ maxThreads: 1 });
    delete process.env.TROUPE_HTTP_EXECUTORS;
    const other = await startExecutor('other');
    try {
      const { outcomes } = await runJobs(pool, [job('http', { input: 'configured' }), job('http', { input: 'own', executors: [other.url] })]);
      assert.equal(outcomes[0]!.status, 'completed', JSON.stringify(outcomes[0]));
      assert.equal((outcomes[1] as { error: { code: string } }).error.code, 'FETCH_DESTINATION_REFUSED', 'another port on the same host is not the configured origin');
      assert.equal(other.healthChecks, 0);
    } finally {
      await pool.destroy();
      await other.close();
    }
  });
});
