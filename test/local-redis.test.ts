/**
 * The private redis-server `troupe supervise` starts when no Redis is given and none answers:
 * its folder is the user's alone whatever the umask, it asks for a generated password kept in
 * that folder, the supervisor that started it uses it, and another troupe process in the same
 * folder finds it. (The default port is the machine's shared Redis here, so these call
 * resolveRedis and runSupervisor with a free port standing in for it.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Queue } from '../src/index.js';
import { probeRedis } from '../src/queue/redis-probe.js';
import { runSupervisor } from '../src/cli/commands/supervise.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { redisAnswers, resolveRedis } from '../src/supervisor/local-redis.js';
import { createLogger } from '../src/supervisor/logger.js';
import { privateRedisSpec } from '../src/supervisor/private-redis.js';
import { freePort } from './helpers/redis-server.js';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `troupe-${label}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every path under dir with its permission bits. */
function modes(dir: string): Array<{ path: string; mode: number; dir: boolean }> {
  const out = [{ path: dir, mode: statSync(dir).mode & 0o777, dir: true }];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...modes(path));
    else out.push({ path, mode: statSync(path).mode & 0o777, dir: false });
  }
  return out;
}

const logger = createLogger('silent');

test('started under umask 000: a 0700 folder, nothing in it readable by others, a generated password, AOF', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dataDir = join(tempDir('private'), '.troupe', 'redis');
  // The loosest umask there is: nothing may come out readable by others anyway.
  const umask = process.umask(0);
  let target: Awaited<ReturnType<typeof resolveRedis>>;
  try {
    target = await resolveRedis(url, false, logger, dataDir);
  } finally {
    process.umask(umask);
  }
  try {
    assert.ok(target.stop, 'it owns the server it started');
    const password = readFileSync(join(dataDir, 'password'), 'utf8').trim();
    assert.match(password, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(target.url, `redis://:${password}@127.0.0.1:${port}`, 'the URL the supervisor uses carries the password');
    assert.equal((await redisAnswers(target.url)).ok, true);
    const plain = await probeRedis(url);
    assert.equal(plain.ok, false, 'without the password it is refused');
    assert.match(plain.ok ? '' : plain.cause, /NOAUTH/);
    // Let the AOF be written, so its files are among those checked.
    const queue = new Queue('private', { connection: target.url });
    await queue.enqueue('echo', 'job data');
    await queue.close();
    const found = modes(dataDir);
    assert.ok(found.some((f) => f.path.includes('appendonly')), `the AOF is there: ${found.map((f) => f.path).join(', ')}`);
    for (const f of found) {
      if (f.dir) assert.equal(f.mode, 0o700, `${f.path} is ${f.mode.toString(8)}`);
      else assert.equal(f.mode & 0o077, 0, `${f.path} is ${f.mode.toString(8)}: readable by others`);
    }
    // The password is not on redis-server's command line, which every user can read.
    const cmdlines = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    });
    assert.ok(cmdlines.some((c) => c.includes(String(port))), 'the server is seen');
    assert.ok(!cmdlines.some((c) => c.includes(password)), 'no command line shows the password');

    // Another troupe process in the same folder finds it (the default port asks for a password).
    const second = await resolveRedis(url, false, logger, dataDir);
    assert.equal(second.url, target.url);
    assert.equal(second.stop, undefined, 'and does not own it');
    assert.equal(privateRedisSpec({ url }, dataDir)?.url, target.url, 'as the admin commands do');
  } finally {
    await target.stop?.();
  }
  assert.equal((await redisAnswers(target.url)).ok, false, 'stopped with the supervisor');
  await assert.rejects(resolveRedis(url, true, logger), /cannot reach Redis/);
});

test('an existing world-readable folder from before is tightened, and the password is kept across starts', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dataDir = join(tempDir('private-again'), 'redis');
  const first = await resolveRedis(url, false, logger, dataDir);
  await first.stop?.();
  const { chmodSync } = await import('node:fs');
  chmodSync(dataDir, 0o777);
  chmodSync(join(dataDir, 'redis.log'), 0o644);
  const again = await resolveRedis(url, false, logger, dataDir);
  try {
    assert.equal(again.url, first.url, 'the same password');
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dataDir, 'redis.log')).mode & 0o077, 0);
  } finally {
    await again.stop?.();
  }
});

test('troupe supervise without a URL: the supervisor that started the private server uses it, password and all', async () => {
  const port = await freePort();
  const dir = tempDir('private-supervise');
  const config = { ...defaultConfig(), redisUrl: `redis://127.0.0.1:${port}`, queues: ['private-run'], threads: 1, minThreads: 1, httpPort: 0, scheduler: false };
  let result: unknown;
  let usedUrl = '';
  const code = await runSupervisor(
    config,
    false,
    logger,
    async (supervisor) => {
      usedUrl = supervisor.redisUrl;
      const queue = new Queue('private-run', { connection: supervisor.connection });
      try {
        const { id } = await queue.enqueue('echo', 'through the private server');
        result = await queue.waitForResult(id, { timeoutMs: 10_000 });
      } finally {
        await queue.close();
      }
    },
    join(dir, '.troupe', 'redis'),
  );
  assert.equal(code, 0);
  assert.equal(result, 'through the private server');
  const password = readFileSync(join(dir, '.troupe', 'redis', 'password'), 'utf8').trim();
  assert.equal(usedUrl, `redis://:${password}@127.0.0.1:${port}`);
  assert.equal((await redisAnswers(usedUrl)).ok, false, 'stopped with it');
});
