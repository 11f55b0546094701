/**
 * Redis over TLS, with servers of this test's own and a private CA: `troupe status` connecting,
 * the one-line message for each usual TLS mistake, and mutual TLS with a password end to end
 * (settings from the environment, then from a config file with relative paths).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from '../src/index.js';
import { makeTempDir, removeTempDir } from './helpers/redis-cluster.js';
import { startPrivateRedis, uniqueQueue, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, runCli, SupervisorProcess } from './helpers/supervisor-process.js';
import { makeTestCertificates, startTlsRedis, type TestCertificates, type TlsRedis } from './helpers/tls-certs.js';

const PASSWORD = 'tls-data-s3cret';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let dir: string;
let certs: TestCertificates;
/** Wants a trusted server certificate only. */
let tls: TlsRedis;
/** Wants a client certificate and a password too. */
let mtls: TlsRedis;
let plain: PrivateRedis;

before(async () => {
  dir = makeTempDir('redis-tls-test');
  cleanup.push(() => removeTempDir(dir));
  // Under the dir of the config file, so the file can name them by relative paths.
  certs = makeTestCertificates(join(dir, 'certs'));
  [tls, mtls, plain] = await Promise.all([startTlsRedis({ certs }), startTlsRedis({ certs, requireClientCert: true, password: PASSWORD }), startPrivateRedis()]);
  cleanup.push(() => tls.destroy(), () => mtls.destroy(), () => plain.destroy());
});

/** The host name "localhost" is in /etc/hosts but not in the certificate: a real name mismatch. */
const byAlias = (server: TlsRedis) => `rediss://localhost:${server.port}`;

test('status over TLS with the private CA exits 0, by IP and by a host alias checked against --redis-tls-server-name', async () => {
  const ca = ['--redis-tls-ca', certs.caFile];
  const runs = await Promise.all([
    runCli(['status', '--redis-url', tls.url, ...ca]),
    runCli(['status', '--redis-url', tls.url, ...ca, '--redis-tls-server-name', certs.serverName]),
    runCli(['status', '--redis-url', byAlias(tls), ...ca, '--redis-tls-server-name', certs.serverName]),
  ]);
  for (const run of runs) {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /no supervisors are running/);
  }
});

// Independent CLI runs: concurrently, or the file would take a tsx start-up per case in a row.
describe('TLS mistakes: exit 1 with one line that names the cause and the fix, never the password', { concurrency: true }, () => {
  const cases: Array<{ what: string; url: () => string; args: () => string[]; message: RegExp }> = [
    {
      what: 'no CA for a privately signed certificate',
      url: () => mtls.url,
      args: () => [],
      message: /self-signed certificate .*: give the CA's PEM file with --redis-tls-ca/,
    },
    {
      what: 'a host alias the certificate does not carry',
      url: () => byAlias(tls),
      args: () => ['--redis-tls-ca', certs.caFile],
      message: /Host: localhost\. is not in the cert's altnames.*: give that name with --redis-tls-server-name/,
    },
    {
      what: 'a server name the certificate does not carry',
      url: () => tls.url,
      args: () => ['--redis-tls-ca', certs.caFile, '--redis-tls-server-name', 'other.test'],
      message: /Host: other\.test\. is not in the cert's altnames.*: give that name with --redis-tls-server-name/,
    },
    {
      what: 'no client certificate for a server that requires one',
      url: () => mtls.url,
      args: () => ['--redis-tls-ca', certs.caFile],
      message: /certificate required.*the server requires a client certificate: give --redis-tls-cert and --redis-tls-key/,
    },
    {
      what: 'rediss:// to a plain port',
      url: () => plain.url.replace(/^redis:/, 'rediss:'),
      args: () => ['--redis-tls-ca', certs.caFile],
      message: /that port does not speak TLS \(use redis:\/\/ for a plain port/,
    },
    {
      what: 'redis:// to a TLS port',
      url: () => mtls.url.replace(/^rediss:/, 'redis:'),
      args: () => [],
      message: /the port completes a TLS handshake; that port speaks TLS: use rediss:\/\//,
    },
  ];
  for (const { what, url, args, message } of cases) {
    test(what, async () => {
      const run = await runCli(['status', '--redis-url', url(), ...args()]);
      // Exit codes are a contract (src/cli/exit.ts): 1 is an unreachable Redis, 2 a malformed flag.
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
      assert.match(run.stderr, /^troupe: cannot reach Redis at /);
      assert.match(run.stderr, message);
      assert.ok(!run.stderr.includes(PASSWORD), `no password in: ${run.stderr}`);
    });
  }
});

test('mTLS with a password end to end: a supervisor set up by env, then one by a config file with relative paths', { timeout: 120_000 }, async () => {
  const name = uniqueQueue('tls');
  const queue = new Queue(name, { connection: { url: mtls.url, tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile } } });
  cleanup.push(() => queue.close());
  const supervise = (args: string[], env: NodeJS.ProcessEnv): SupervisorProcess => {
    const s = new SupervisorProcess(['--queues', name, '--threads', '1', '--http-port', '0', ...args], env);
    cleanup.push(() => s.kill());
    return s;
  };

  const byEnv = supervise([], {
    TROUPE_REDIS_URL: mtls.url,
    TROUPE_REDIS_TLS_CA: certs.caFile,
    TROUPE_REDIS_TLS_CERT: certs.clientCertFile,
    TROUPE_REDIS_TLS_KEY: certs.clientKeyFile,
  });
  await byEnv.started();
  const job = await queue.enqueue('echo', { via: 'env' });
  assert.deepEqual(await queue.waitForResult(job.id, { timeoutMs: 30_000 }), { via: 'env' });
  byEnv.child.kill('SIGTERM');
  assert.equal(await byEnv.exited, 0, byEnv.stderr);
  assert.ok(!`${JSON.stringify(byEnv.logs)}${byEnv.stderr}`.includes(PASSWORD), 'no password in the supervisor output');

  // Relative to the file, not to the working directory (the project, where runCli starts).
  const config = join(dir, 'troupe.json');
  writeFileSync(config, JSON.stringify({ redisUrl: mtls.url, redisTlsCa: 'certs/ca.crt', redisTlsCert: 'certs/client.crt', redisTlsKey: 'certs/client.key' }));
  const byFile = supervise(['--config', config], {});
  await byFile.started();
  await eventually(
    async () => {
      const run = await runCli(['status', '--json', '--config', config]);
      assert.equal(run.code, 0, run.stderr);
      const { supervisors } = JSON.parse(run.stdout) as { supervisors: Array<{ pid: number }> };
      return supervisors.some((s) => s.pid === byFile.pid);
    },
    30_000,
    'troupe status --config to list the supervisor',
  );
  const enqueued = await runCli(['enqueue', name, 'echo', '--data', '{"via":"file"}', '--config', config]);
  assert.equal(enqueued.code, 0, enqueued.stderr);
  assert.deepEqual(await queue.waitForResult(enqueued.stdout.trim(), { timeoutMs: 30_000 }), { via: 'file' });
  byFile.child.kill('SIGTERM');
  assert.equal(await byFile.exited, 0, byFile.stderr);
});
