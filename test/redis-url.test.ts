import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { resolveRedisConnection, type RedisArgs } from '../src/cli/redis-option.js';
import { createRedis } from '../src/queue/connection.js';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../src/queue/redis-url.js';

describe('Redis URL forms', () => {
  const cases: Array<{ url: string; expect: Partial<ReturnType<typeof parseRedisUrl>> }> = [
    { url: 'redis://127.0.0.1:6379', expect: { topology: 'standalone', tls: false, nodes: [{ host: '127.0.0.1', port: 6379 }], db: 0 } },
    { url: 'redis://localhost', expect: { nodes: [{ host: 'localhost', port: 6379 }] } },
    { url: 'rediss://app:s3cret@redis.example:6380/2', expect: { topology: 'standalone', tls: true, username: 'app', password: 's3cret', db: 2 } },
    { url: 'redis://:only-pass@h:1', expect: { password: 'only-pass', username: undefined } },
    { url: 'redis://p%40ss@h:1', expect: { password: 'p@ss', username: undefined } },
    { url: 'redis://[::1]:7000', expect: { nodes: [{ host: '::1', port: 7000 }] } },
    {
      url: 'redis+cluster://u:p@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3',
      expect: { topology: 'cluster', tls: false, username: 'u', password: 'p', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '10.0.0.3', port: 6379 }] },
    },
    { url: 'rediss+cluster://a:1', expect: { topology: 'cluster', tls: true } },
    {
      url: 'redis+sentinel://:pw@s1:26379,s2/mymaster',
      expect: { topology: 'sentinel', masterName: 'mymaster', password: 'pw', nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], db: 0 },
    },
    { url: 'rediss+sentinel://s1:1/m/3', expect: { topology: 'sentinel', tls: true, masterName: 'm', db: 3 } },
  ];
  for (const { url, expect } of cases) {
    test(url, () => {
      const parsed = parseRedisUrl(url);
      for (const [key, value] of Object.entries(expect)) assert.deepEqual(parsed[key as keyof typeof parsed], value, key);
    });
  }

  const bad: Array<{ url: string; message: RegExp }> = [
    { url: 'http://h:1', message: /unknown scheme "http:\/\/"; the forms are redis:\/\// },
    { url: 'h:6379', message: /is not a Redis URL/ },
    { url: 'redis://a:1,b:2', message: /takes one host; for several, use redis\+cluster/ },
    { url: 'redis://h:99999', message: /port of "h:99999" must be 1 to 65535/ },
    { url: 'redis://h:1/x', message: /database "x" must be a number/ },
    { url: 'redis+cluster://h:1/3', message: /only database 0/ },
    { url: 'redis+sentinel://s:1', message: /ends with the master's name/ },
    { url: 'redis://h:1?tls=true', message: /options after "\?" are not read/ },
    { url: 'redis://', message: /no host/ },
  ];
  for (const { url, message } of bad) {
    test(`refuses ${url}`, () => {
      assert.throws(() => parseRedisUrl(url), (err: unknown) => err instanceof RedisUrlError && message.test(err.message));
    });
  }
});

describe('redactRedisUrl', () => {
  test('hides the password in every form, keeps the user', () => {
    assert.equal(redactRedisUrl('redis://app:s3cret@h:1'), 'redis://app:***@h:1');
    assert.equal(redactRedisUrl('redis+cluster://:s3cret@a:1,b:2'), 'redis+cluster://:***@a:1,b:2');
    assert.equal(redactRedisUrl('rediss+sentinel://u:s3cret@s1:1,s2:2/m'), 'rediss+sentinel://u:***@s1:1,s2:2/m');
    assert.equal(redactRedisUrl('redis://s3cret@h:1'), 'redis://***@h:1');
  });
  test('hides it even when the URL does not parse', () => {
    const shown = redactRedisUrl('redis+bogus://u:s3cret@a:b:c,,');
    assert.ok(!shown.includes('s3cret'), shown);
  });
  test('leaves a URL without a password alone', () => {
    assert.equal(redactRedisUrl('redis://h:1/2'), 'redis://h:1/2');
  });
});

describe('createRedis picks the client for the topology', () => {
  test('standalone, cluster and sentinel', () => {
    const clients = [
      createRedis('redis://u:p@127.0.0.1:1/3', { lazyConnect: true }),
      createRedis('redis+cluster://127.0.0.1:1,127.0.0.1:2', { lazyConnect: true }),
      createRedis('redis+sentinel://127.0.0.1:1/m', { lazyConnect: true }),
    ];
    try {
      const [standalone, cluster, sentinel] = clients as [Redis, Cluster, Redis];
      assert.ok(standalone instanceof Redis);
      assert.equal(standalone.options.db, 3);
      assert.equal(standalone.options.username, 'u');
      assert.ok(cluster instanceof Cluster);
      assert.equal(cluster.options.scaleReads, 'master', 'leases must never read a lagging replica');
      assert.ok(sentinel instanceof Redis);
      assert.equal(sentinel.options.name, 'm');
      assert.deepEqual(sentinel.options.sentinels, [{ host: '127.0.0.1', port: 1 }]);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
  test('TLS files are read up front and a missing one is named with its flag', () => {
    assert.throws(() => createRedis({ url: 'rediss://h:1', tls: { caFile: '/nonexistent/ca.pem' } }, { lazyConnect: true }), /cannot read the CA certificate \/nonexistent\/ca.pem \(--redis-tls-ca\): no such file/);
    assert.throws(() => createRedis({ url: 'redis://h:1', tls: { caFile: '/x' } }, { lazyConnect: true }), /the URL is not TLS: use rediss:\/\//);
    assert.throws(() => createRedis({ url: 'rediss://h:1', tls: { certFile: '/x' } }, { lazyConnect: true }), /give --redis-tls-cert and --redis-tls-key together/);
  });
});

describe('connection settings from flags, env and a shared config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-connection-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const resolveArgs = (args: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => resolveRedisConnection(args as RedisArgs, env);

  test("admin commands read only the file's redis keys; TLS paths are relative to the file; flags win", () => {
    const file = join(dir, 'troupe.json');
    writeFileSync(file, JSON.stringify({ threads: 2, queues: ['a'], redisUrl: 'rediss+cluster://a:1,b:2', redisTlsCa: 'certs/ca.pem', redisWaitReplicas: 1 }));
    const fromFile = resolveArgs({ config: file });
    assert.deepEqual(fromFile.spec, { url: 'rediss+cluster://a:1,b:2', tls: { caFile: join(dir, 'certs', 'ca.pem') }, waitReplicas: 1, waitTimeoutMs: 1000 });
    assert.equal(fromFile.source, `"redisUrl" in ${file}`);
    const flagged = resolveArgs({ config: file, 'redis-url': 'redis://h:1' }, { TROUPE_REDIS_WAIT_REPLICAS: '0' });
    assert.equal(flagged.spec.url, 'redis://h:1');
    assert.equal(flagged.source, '--redis-url');
    assert.equal(flagged.spec.waitReplicas, undefined, 'the environment wins over the file');
  });

  test('a bad value names the key, the range and the flag; a secret is never echoed', () => {
    assert.throws(() => resolveArgs({ 'redis-wait-replicas': 'abc' }), /^ConfigError: redisWaitReplicas: must be a whole number from 0 to 16, got "abc" \(from --redis-wait-replicas\)$/);
    assert.throws(() => resolveArgs({ 'redis-sentinel-password': '' }), (err: Error) => /redisSentinelPassword: must be a non-empty string, got \(hidden\) \(from --redis-sentinel-password\)/.test(err.message));
    assert.throws(() => resolveArgs({ config: join(dir, 'missing.json') }), /config: cannot read .*missing\.json/);
  });

  test('a malformed URL is refused before connecting, with the password hidden', () => {
    assert.throws(
      () => resolveArgs({}, { TROUPE_REDIS_URL: 'redis://app:s3cret@a:1,b:2' }),
      (err: Error) =>
        err.message.includes('redisUrl: "redis://app:***@a:1,b:2" redis:// takes one host; for several, use redis+cluster://') &&
        err.message.includes('(from environment variable TROUPE_REDIS_URL)') &&
        !err.message.includes('s3cret'),
    );
  });
});
