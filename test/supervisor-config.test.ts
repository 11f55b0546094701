import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { configFromArgs, flagName } from '../src/cli/config-args.js';
import { CONFIG_KEYS, defaultConfig, type ConfigKey } from '../src/supervisor/config.js';
import { childHttpPort } from '../src/supervisor/director.js';

const dir = mkdtempSync(join(tmpdir(), 'troupe-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('precedence: flags > env > file > defaults', () => {
  test('each layer overrides the one below, key by key, and says where each value came from', () => {
    const path = file('layers.json', { threads: 3, leaseMs: 20_000, prefetch: 7, queues: ['from-file'] });
    const { config, sources } = configFromArgs({ config: path, threads: '5' }, { TROUPE_THREADS: '4', TROUPE_LEASE_MS: '40000' });
    assert.equal(config.threads, 5);
    assert.equal(config.leaseMs, 40_000);
    assert.equal(config.prefetch, 7);
    assert.deepEqual(config.queues, ['from-file']);
    assert.equal(config.heartbeatMs, defaultConfig().heartbeatMs);
    assert.deepEqual([sources.threads, sources.leaseMs, sources.prefetch, sources.heartbeatMs], ['flag', 'env', 'file', 'default']);
  });

  test('REDIS_URL is used when TROUPE_REDIS_URL is absent, and loses to it when both are set', () => {
    assert.equal(configFromArgs({}, { REDIS_URL: 'redis://a:1' }).config.redisUrl, 'redis://a:1');
    assert.equal(configFromArgs({}, { REDIS_URL: 'redis://a:1', TROUPE_REDIS_URL: 'redis://b:2' }).config.redisUrl, 'redis://b:2');
    assert.equal(configFromArgs({}, {}).sources.redisUrl, 'default');
  });

  test('defaults: threads follow the cores, minThreads follows threads', () => {
    const { config } = configFromArgs({}, {});
    assert.equal(config.threads, Math.max(1, availableParallelism()));
    assert.equal(configFromArgs({ threads: '6' }, {}).config.minThreads, 6);
    assert.equal(configFromArgs({ threads: '6', 'min-threads': '2' }, {}).config.minThreads, 2);
  });

  test('every setting has a flag, an environment variable and a config key', () => {
    for (const key of Object.keys(defaultConfig()) as ConfigKey[]) {
      assert.ok(CONFIG_KEYS[key], `${key} is described`);
      assert.ok(CONFIG_KEYS[key].env.length > 0, `${key} has an env var`);
      assert.match(flagName(key), /^[a-z][a-z-]*$/);
    }
  });
});

const RULES: Array<{ rule: string; argv?: Record<string, unknown>; env?: Record<string, string>; file?: unknown; message: RegExp }> = [
  { rule: 'threads must be at least 1', argv: { threads: '0' }, message: /^threads: must be a whole number from 1 to 1024, got "0" \(from --threads\)$/ },
  { rule: 'numbers must be whole', argv: { 'lease-ms': '1.5' }, message: /^leaseMs: must be a whole number/ },
  { rule: 'env values name their variable', env: { TROUPE_PREFETCH: '-1' }, message: /prefetch: .*environment variable TROUPE_PREFETCH/ },
  { rule: 'queues need a valid name', argv: { queues: ['ok', 'not ok'] }, message: /queue "not ok" is not a valid name/ },
  { rule: 'log level from a fixed list', argv: { 'log-level': 'loud' }, message: /^logLevel: must be one of fatal, error, warn, info, debug, trace, silent/ },
  { rule: 'minThreads not above threads', argv: { threads: '2', 'min-threads': '3' }, message: /^minThreads: 3 is more than threads \(2\)/ },
  { rule: 'heartbeat at most half the lease', argv: { 'lease-ms': '4000', 'heartbeat-ms': '2500' }, message: /^heartbeatMs: 2500 must be at most half of leaseMs \(4000\)/ },
  { rule: 'unknown config-file keys are refused', file: { threads: 2, treads: 3 }, message: /^treads: unknown setting \(from "treads" in .*\.json\); known settings are redisUrl, redisTlsCa, .*, queues, threads/ },
  { rule: 'config-file types are checked', file: { tasksPerThread: '2x' }, message: /^tasksPerThread: must be a whole number .*got "2x" \(from "tasksPerThread" in / },
  { rule: 'plugins must be strings', file: { plugins: ['./a.mjs', 3] }, message: /^plugins: must contain only strings/ },
  { rule: 'the config file must be JSON', file: '{ threads: 2 }', message: /^config: .* is not valid JSON/ },
  { rule: 'the config file must be an object', file: [1, 2], message: /^config: .* must hold a JSON object of settings/ },
];

describe('validation names the key, the accepted range and where the value came from', () => {
  for (const r of RULES) {
    test(r.rule, () => {
      const argv = { ...r.argv, ...(r.file !== undefined ? { config: file(`${r.rule.replace(/\W+/g, '-')}.json`, r.file) } : {}) };
      assert.throws(() => configFromArgs(argv, r.env ?? {}), (err: Error) => {
        assert.equal(err.name, 'ConfigError');
        assert.match(err.message, r.message);
        return true;
      });
    });
  }

  test('a missing config file is named', () => {
    assert.throws(() => configFromArgs({ config: join(dir, 'nope.json') }, {}), /config: cannot read .*nope\.json/);
  });
});

test('a director child serves HTTP on the configured port shifted by its slot; 0 stays off', () => {
  assert.equal(childHttpPort(9464, '1'), 9464);
  assert.equal(childHttpPort(9464, '3'), 9466);
  assert.equal(childHttpPort(0, '3'), 0);
  assert.equal(childHttpPort(9464, undefined), 9464);
});
