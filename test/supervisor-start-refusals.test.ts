/**
 * Issue 16 item 5, the Redis half: a Redis that refuses what the supervisor sends must stop the
 * start within a bounded time with one line naming the cause and the fix, never leave it running
 * with nothing done. Each case on real processes of the test's own: a redis-server whose ACL user
 * lacks commands (at start, and after a wait for a Redis not yet up, alone and under a director),
 * a Sentinel's port given as redis://, a wrong password given to the admin commands, and SIGTERM
 * while the start is stuck on a Redis that stopped answering after the probe.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { checkSupervisorPermissions, SUPERVISOR_ACL_COMMANDS, SUPERVISOR_COMMANDS } from '../src/queue/redis-permissions.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, runCli, SupervisorProcess, type CliRun } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const PASSWORD = 'refusal-secret';
/** The lines a run printed to stderr. */
const lines = (run: CliRun) => run.stderr.split('\n').filter((l) => l.trim());
/** Every run is bounded: a start that hangs fails the test here instead of hanging it. */
const BOUND_MS = 60_000;

function oneLine(run: CliRun): string {
  const printed = lines(run);
  assert.equal(printed.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.ok(!run.stderr.includes(PASSWORD), `no password in: ${run.stderr}`);
  return printed[0]!;
}

/** The `+` rules of the troupe-supervisor line of docs/operations.md's ACL section. */
function docSupervisorCommands(): string[] {
  const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const line = doc.split('\n').find((l) => l.startsWith('ACL SETUSER troupe-supervisor '));
  assert.ok(line, 'docs/operations.md has the troupe-supervisor ACL line');
  return line.split(/\s+/).filter((r) => r.startsWith('+')).map((r) => r.slice(1));
}

/** A user with every right but these (`-cmd` rules, or any other rule such as a key pattern). */
const userLacking = (name: string, ...rules: string[]) => [name, 'reset', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', ...rules];

describe('an ACL user that lacks commands the supervisor sends', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  before(async () => {
    redis = await startPrivateRedis();
    cleanup.push(() => redis.destroy());
    admin = new Redis(redis.port, '127.0.0.1');
    cleanup.push(() => admin.disconnect());
  });
  const urlOf = (user: string) => `redis://${user}:${PASSWORD}@127.0.0.1:${redis.port}`;

  const cases: Array<{ user: string; rules: string[]; says: RegExp }> = [
    // Before: exit 1 with a raw "EXECABORT Transaction discarded because of: NOPERM …" after the registry's first MULTI.
    { user: 'no-exec', rules: ['-exec'], says: /user "no-exec" may not run exec \(NOPERM\): grant it with ACL SETUSER no-exec \+exec, or give the user the supervisor's minimal ACL in docs\/operations\.md \("Access control \(ACL\)"\)/ },
    // Before: "supervisor started", then a warning per lease attempt for ever, nothing leased.
    { user: 'no-evalsha', rules: ['-evalsha'], says: /user "no-evalsha" may not run evalsha \(NOPERM\): grant it with ACL SETUSER no-evalsha \+evalsha,/ },
    {
      user: 'no-keys',
      rules: ['-evalsha', '-hset', '-info', 'resetkeys', '~other:*'],
      says: /user "no-keys" may not run info, evalsha, hset and may not touch keys under troupe: \(NOPERM\): grant them with ACL SETUSER no-keys \+info \+evalsha \+hset ~troupe:\*/,
    },
  ];
  for (const { user, rules, says } of cases) {
    test(`${rules.join(' ')}: supervise exits 2 with one line naming what is missing and the ACL`, async () => {
      assert.equal(await admin.call('ACL', 'SETUSER', ...userLacking(user, ...rules)), 'OK');
      const run = await runCli(['supervise', '--http-port', '0', '--threads', '1', '--redis-url', urlOf(user)], {}, BOUND_MS);
      assert.equal(run.code, 2, run.stderr);
      const line = oneLine(run);
      assert.match(line, new RegExp(`^troupe: Redis at redis://${user}:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port} refuses commands a supervisor needs: `));
      assert.match(line, says);
      assert.doesNotMatch(run.stdout, /supervisor started/);
    });
  }

  test('a Redis not up yet whose user then lacks evalsha: supervise waits, then exits 2; so does a --processes 2 director', async (t) => {
    for (const processes of ['1', '2']) {
      const port = await freePort();
      const s = new SupervisorProcess(['--http-port', '0', '--threads', '1', '--processes', processes], { TROUPE_REDIS_URL: `redis://late:${PASSWORD}@127.0.0.1:${port}` });
      t.after(() => s.kill());
      await s.waitForLog((l) => /^cannot reach Redis at .*; waiting for it/.test(l.msg));
      // The user exists from the server's first answer on: the config's `user` line.
      const late = spawnRedis(port, ['--user', 'late', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '-evalsha']);
      t.after(() => late.stop());
      // Before: exit 1 every few seconds under a director, restarted for ever; alone, running with nothing leased.
      const code = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('still running'), BOUND_MS))]);
      assert.equal(code, 2, `--processes ${processes}: ${s.stderr}`);
      assert.match(s.stderr, /refuses commands a supervisor needs: user "late" may not run evalsha \(NOPERM\)/);
      assert.ok(!s.stderr.includes(PASSWORD));
      if (processes === '2') {
        assert.ok(s.logs.some((l) => /refused its configuration \(exit 2\): stopping the others/.test(l.msg)), 'the director says why it stops');
        assert.ok(!s.logs.some((l) => /exited unexpectedly; restarting/.test(l.msg)), 'no restart of a child that refused its configuration');
      }
      await late.stop();
    }
  });

  test('the check covers the documented ACL: every command of the troupe-supervisor line, each one named when it alone is missing', async () => {
    const documented = docSupervisorCommands();
    assert.deepEqual([...SUPERVISOR_ACL_COMMANDS].sort(), [...documented].sort(), 'redis-permissions.ts asks about exactly the commands of docs/operations.md');
    const context = { cluster: true, durability: true, db: 0 };
    // Each form reaches the ACL check: Redis checks the argument count first, and a wrong count would hide a refusal.
    const raw = new Redis(redis.port, '127.0.0.1');
    try {
      assert.equal(await raw.call('MULTI'), 'OK');
      for (const { argv } of SUPERVISOR_COMMANDS) assert.equal(await raw.call(argv[0]!, ...argv.slice(1)), 'QUEUED', argv.join(' '));
    } finally {
      raw.disconnect();
    }
    const check = async (rules: string[]) => {
      assert.equal(await admin.call('ACL', 'SETUSER', ...userLacking('each', ...rules)), 'OK');
      const client = new Redis(urlOf('each'), { maxRetriesPerRequest: 0, enableReadyCheck: false });
      try {
        return await checkSupervisorPermissions(client, context);
      } finally {
        client.disconnect();
      }
    };
    assert.deepEqual(await check([]), { ok: true });
    for (const command of documented) {
      const answer = await check([`-${command}`]);
      assert.deepEqual(answer, { ok: false, commands: [command], keys: false, multiRefused: command === 'multi' }, `-${command}`);
    }
  });
});

describe('a Sentinel port given as redis://', () => {
  let master: PrivateRedis;
  let sentinelPort: number;
  before(async () => {
    master = await startPrivateRedis();
    cleanup.push(() => master.destroy());
    sentinelPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'troupe-refusal-sentinel-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor refusals-master 127.0.0.1 ${master.port} 1\n`);
    const sentinel = spawnRedis(sentinelPort, [conf, '--sentinel', '--logfile', join(dir, 'sentinel.log')], false);
    cleanup.push(() => sentinel.stop());
    await eventually(async () => {
      const c = new Redis(sentinelPort, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return ((await c.call('SENTINEL', 'masters')) as unknown[]).length === 1;
      } catch {
        return false;
      } finally {
        c.disconnect();
      }
    }, 20_000, 'the sentinel to monitor its master');
  });

  const said = () => new RegExp(`^troupe: redis://127\\.0\\.0\\.1:${sentinelPort} is a Redis Sentinel, not a data server: use redis\\+sentinel://127\\.0\\.0\\.1:${sentinelPort}/refusals-master \\(the master it monitors`);

  test('supervise: exit 1 at once, one line saying it is a Sentinel and the redis+sentinel:// URL with the master it monitors', async () => {
    const run = await runCli(['supervise', '--http-port', '0', '--threads', '1', '--redis-url', `redis://127.0.0.1:${sentinelPort}`], {}, BOUND_MS);
    assert.equal(run.code, 1, run.stderr);
    assert.match(oneLine(run), said());
  });

  test('an admin command: the same line, without the advice to start a Redis', async () => {
    const run = await runCli(['status', '--redis-url', `redis://127.0.0.1:${sentinelPort}`], {}, BOUND_MS);
    assert.equal(run.code, 1, run.stderr);
    const line = oneLine(run);
    assert.match(line, said());
    assert.doesNotMatch(line, /Admin commands never start a Redis/);
  });
});

describe('admin commands given a password Redis refuses', () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis();
    cleanup.push(() => redis.destroy());
    const admin = new Redis(redis.port, '127.0.0.1');
    await admin.call('ACL', 'SETUSER', ...userLacking('reader', '-info'));
    await admin.config('SET', 'requirepass', PASSWORD);
    admin.disconnect();
  });

  const commands = [['status'], ['jobs', '--queue', 'q', '--state', 'pending'], ['stats'], ['dlq', 'list', '--queue', 'q']];
  test('a wrong password or none: exit 2, "refused the password" or "requires a password", no pointer to --help', async () => {
    for (const args of commands) {
      // Before: exit 1, "cannot reach Redis … Admin commands never start a Redis: start one …".
      const wrong = await runCli([...args, '--redis-url', `redis://:not-it@127.0.0.1:${redis.port}`], {}, BOUND_MS);
      assert.equal(wrong.code, 2, `${args.join(' ')}: ${wrong.stderr}`);
      assert.match(oneLine(wrong), /^troupe: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password \(WRONGPASS .*\): fix USER:PASSWORD@ in --redis-url/);
      assert.ok(!wrong.stderr.includes('not-it'));
    }
    const none = await runCli(['status', '--redis-url', redis.url], {}, BOUND_MS);
    assert.equal(none.code, 2, none.stderr);
    assert.match(oneLine(none), /^troupe: Redis at redis:\/\/127\.0\.0\.1:\d+ requires a password and none was given \(NOAUTH .*\): add :PASSWORD@/);
  });

  test('a user whose ACL refuses INFO: exit 2, naming the refused command and the ACL section', async () => {
    const run = await runCli(['status', '--redis-url', `redis://reader:${PASSWORD}@127.0.0.1:${redis.port}`], {}, BOUND_MS);
    assert.equal(run.code, 2, run.stderr);
    const line = oneLine(run);
    assert.match(line, /refused a command: NOPERM .*'info' command; the user lacks a permission: grant it \(ACL SETUSER USER \+COMMAND\), or use the minimal ACL in docs\/operations\.md \("Access control \(ACL\)"\)/);
    assert.doesNotMatch(line, /cannot reach Redis/);
  });
});

test('SIGTERM while the start is stuck on a Redis that stopped answering after the probe: the shutdown ends by its time-out, exit 3', async (t) => {
  const redis = await startPrivateRedis();
  t.after(() => redis.destroy());
  // Passes the start-up probes through (one from resolveRedis, one from the wait), then holds every further connection unanswered.
  const proxy = await stallingProxy(redis.port, 2);
  t.after(() => proxy.close());
  const s = new SupervisorProcess(['--http-port', '0', '--threads', '1', '--shutdown-timeout-ms', '2000'], { TROUPE_REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  t.after(() => s.kill());
  await eventually(async () => proxy.held() > 0, 30_000, 'the supervisor to open its connection');
  s.child.kill('SIGTERM');
  const code = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('still running'), BOUND_MS))]);
  // Before: exit 1 with "troupe: Connection is closed.", the start's own rejection once stop() closed its connection.
  assert.equal(code, 3, s.stderr);
  assert.equal(s.stderr, '');
  const gaveUp = s.logs.find((l) => l.level === 50 && /^shutdown gave up/.test(l.msg));
  assert.ok(gaveUp, 'one line saying the shutdown gave up');
  assert.deepEqual((gaveUp.cut as string[])[0], 'finish starting');
  assert.ok(!s.logs.some((l) => l.msg === 'supervisor started'));
});

/** A redis-server of the test's own on `port` with these arguments (a `--user` line, or a sentinel config). */
function spawnRedis(port: number, args: string[], plain = true): { stop(): Promise<void> } {
  const dir = plain ? mkdtempSync(join(tmpdir(), 'troupe-refusal-redis-')) : undefined;
  const argv = plain ? ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir!, '--save', '', '--appendonly', 'no', ...args] : args;
  const child: ChildProcess = spawn('redis-server', argv, { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(-child.pid!, 'SIGTERM');
        await exited;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy to Redis that passes the first `pass` connections and accepts the rest without a word. */
async function stallingProxy(redisPort: number, pass: number): Promise<{ port: number; held: () => number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  let seen = 0;
  let held = 0;
  const server: Server = createServer((client) => {
    sockets.push(client);
    client.on('error', () => undefined);
    seen += 1;
    if (seen > pass) {
      held += 1;
      return;
    }
    const upstream = netConnect(redisPort, '127.0.0.1');
    sockets.push(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    port: address.port,
    held: () => held,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
