import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { defaultConfig, resolveConfig, ConfigError, type SupervisorConfig } from '../src/supervisor/config.js';
import { isLoopbackHost, tokenId } from '../src/supervisor/http-guard.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import { capturingLogger } from './helpers/metrics.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { runCli } from './helpers/supervisor-process.js';

const TOKEN = 'test-token-0123456789abcdef';
const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let redis: PrivateRedis | undefined;
async function redisUrl(): Promise<string> {
  if (!redis) {
    redis = await startPrivateRedis();
    const r = redis;
    cleanup.push(() => r.destroy());
  }
  return redis.url;
}

const layer = (values: Record<string, unknown>) => ({ source: 'flag' as const, values, describe: (k: string) => `--${k}` });

test('loopback is told apart from addresses other machines reach', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'worker-1', '::ffff:10.0.0.1']) assert.ok(!isLoopbackHost(h), h);
});

test('binding beyond loopback without a token is refused with the fix; a short token is refused; loopback needs none', () => {
  assert.throws(() => resolveConfig([layer({ httpHost: '0.0.0.0' })]), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^httpHost: 0\.0\.0\.0 lets other machines reach the HTTP endpoint, which then needs a token: set --http-token \(env TROUPE_HTTP_TOKEN, config "httpToken"/);
    return true;
  });
  assert.throws(() => resolveConfig([layer({ httpHost: '0.0.0.0', httpToken: 'short' })]), /httpToken: must be at least 16 characters \(got 5\)/);
  assert.equal(resolveConfig([layer({ httpHost: '0.0.0.0', httpToken: TOKEN })]).config.httpToken, TOKEN);
  assert.equal(resolveConfig([layer({ httpHost: '0.0.0.0', httpPort: 0 })]).config.httpPort, 0, 'no endpoint, nothing exposed');
  assert.equal(resolveConfig([]).config.httpHost, '127.0.0.1');
  assert.throws(() => resolveConfig([layer({ dashboard: true, httpPort: 0 })]), /^ConfigError: dashboard: is served on the HTTP endpoint, which httpPort 0 turns off/);
});

test('troupe supervise refuses --http-host 0.0.0.0 without a token (exit 2, names --http-token); a config built by hand is refused at start', async () => {
  const run = await runCli(['supervise', '--http-host', '0.0.0.0', '--redis-url', await redisUrl()], { TROUPE_HTTP_TOKEN: '' });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /set --http-token \(env TROUPE_HTTP_TOKEN, config "httpToken"/);

  // Not through resolveConfig: the endpoint checks again before it listens.
  const config: SupervisorConfig = { ...defaultConfig(), redisUrl: await redisUrl(), threads: 1, minThreads: 1, queues: ['exposed'], httpHost: '0.0.0.0', httpPort: await freePort() };
  const s = await buildSupervisor(config, { logger: capturingLogger().logger });
  await assert.rejects(s.start(), /lets other machines reach the HTTP endpoint/);
  await s.stop().catch(() => undefined);
});

test('with a token: /status needs it (Bearer or the sign-in cookie); /metrics, /health, /ready stay open; cross-site POSTs are refused; logs name the token id only', async () => {
  const port = await freePort();
  const config = { ...defaultConfig(), redisUrl: await redisUrl(), threads: 1, minThreads: 1, queues: ['guarded'], heartbeatMs: 200, leaseMs: 2000, httpPort: port, httpToken: TOKEN };
  const { logger, lines } = capturingLogger();
  const s = await buildSupervisor(config, { logger });
  await s.start();
  cleanup.push(() => s.stop());
  const base = `http://127.0.0.1:${port}`;

  const status = await fetch(`${base}/status`);
  assert.equal(status.status, 401);
  assert.equal(status.headers.get('www-authenticate'), 'Bearer realm="troupe"');
  assert.match(((await status.json()) as { error: string }).error, /Authorization: Bearer <token>/);
  assert.equal((await fetch(`${base}/status`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
  assert.equal((await fetch(`${base}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  for (const open of ['/metrics', '/health', '/ready', '/openapi.json']) assert.equal((await fetch(`${base}${open}`)).status, 200, `${open} is open`);

  // A browser without the cookie gets the sign-in form, then a cookie that is not the token.
  const page = await fetch(`${base}/status`, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 401);
  assert.match(await page.text(), /<form method="post" action="\/login">/);
  const wrong = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'not-the-token-at-all', next: '/status' }), redirect: 'manual' });
  assert.equal(wrong.status, 401);
  const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '/status' }), redirect: 'manual' });
  assert.equal(login.status, 303);
  assert.equal(login.headers.get('location'), '/status');
  const cookie = login.headers.get('set-cookie')!;
  assert.match(cookie, /^troupe_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/$/);
  assert.ok(!cookie.includes(TOKEN));
  assert.equal((await fetch(`${base}/status`, { headers: { cookie: cookie.split(';')[0]! } })).status, 200);
  // An open redirect is not offered: "next" stays on this server.
  const away = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }), redirect: 'manual' });
  assert.equal(away.headers.get('location'), '/');

  // Cross-site: refused whatever the token, before any handler runs.
  const headers = { authorization: `Bearer ${TOKEN}` };
  const fromElsewhere = await fetch(`${base}/login`, { method: 'POST', headers: { ...headers, 'sec-fetch-site': 'cross-site' }, body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
  assert.equal(fromElsewhere.status, 403);
  assert.match(((await fromElsewhere.json()) as { error: string }).error, /cross-site request refused: Sec-Fetch-Site is "cross-site"/);
  const foreignOrigin = await fetch(`${base}/login`, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
  assert.equal(foreignOrigin.status, 403);
  const sameOrigin = await fetch(`${base}/login`, { method: 'POST', headers: { origin: base, 'sec-fetch-site': 'same-origin' }, body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
  assert.equal(sameOrigin.status, 303);

  // Reads take GET only; other methods are 405 with Allow.
  const post = await fetch(`${base}/status`, { method: 'POST', headers });
  assert.equal(post.status, 405);
  const put = await fetch(`${base}/status`, { method: 'PUT', headers });
  assert.deepEqual([put.status, put.headers.get('allow')], [405, 'GET, HEAD, POST']);

  // Every reply carries the strict policy.
  assert.match((await fetch(`${base}/health`)).headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);

  const signIn = lines.find((l) => /signed in/.test(l.msg));
  assert.equal(signIn?.who, tokenId(TOKEN));
  assert.match(tokenId(TOKEN), /^token:[0-9a-f]{8}$/);
  assert.ok(lines.some((l) => /cross-site POST refused/.test(l.msg)), 'refusals are logged');
  assert.ok(!JSON.stringify(lines).includes(TOKEN), 'no log line holds the token');
});
