/**
 * The two ACL users of docs/operations.md ("Access control"), read from the doc and created on a
 * redis-server of this test's own: a real supervisor, a producer Queue and the admin CLI run as
 * those users, and Redis's ACL LOG (which names every denied command and key, inner commands of
 * scripts included) must stay empty.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { JobFailedError, NotReplicatedError, Queue } from '../src/index.js';
import { freePort, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, runCli, SupervisorProcess, type CliRun } from './helpers/supervisor-process.js';

const USERS = {
  'troupe-producer': { placeholder: 'PRODUCER_PASSWORD', password: 'producer-acl-secret' },
  'troupe-supervisor': { placeholder: 'SUPERVISOR_PASSWORD', password: 'supervisor-acl-secret' },
} as const;
type User = keyof typeof USERS;
const Q = 'acl';

/** The `ACL SETUSER` lines of the fenced block in the doc's ACL section, passwords filled in. */
function docAclLines(): Map<User, string[]> {
  const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Access control (ACL)\n'));
  assert.ok(section, 'docs/operations.md has a "## Access control (ACL)" section');
  const block = /^```\n([\s\S]*?)^```$/m.exec(section)?.[1];
  assert.ok(block, 'the ACL section has a fenced block');
  const lines = new Map<User, string[]>();
  for (const line of block.split('\n').filter((l) => l.startsWith('ACL SETUSER '))) {
    const [, , name, ...rules] = line.trim().split(/\s+/);
    assert.ok(name && name in USERS, `unexpected ACL user ${name}`);
    const { placeholder, password } = USERS[name as User];
    assert.ok(rules.includes(`>${placeholder}`), `${name}'s line sets >${placeholder}`);
    lines.set(name as User, [name!, ...rules.map((r) => (r === `>${placeholder}` ? `>${password}` : r))]);
  }
  assert.deepEqual([...lines.keys()].sort(), Object.keys(USERS).sort(), 'one line per role');
  return lines;
}

type LogEntry = Record<string, unknown>;
async function aclLog(admin: Redis): Promise<LogEntry[]> {
  const raw = (await admin.call('ACL', 'LOG')) as unknown[][];
  return raw.map((flat) => {
    const entry: LogEntry = {};
    for (let i = 0; i + 1 < flat.length; i += 2) entry[String(flat[i])] = flat[i + 1];
    return entry;
  });
}
const describeLog = (log: LogEntry[]) => log.map((e) => `${e.username}: ${e.reason} ${e.context} ${e.object} (x${e.count})`).join('\n');

let redis: PrivateRedis;
let admin: Redis;
const cleanup: Array<() => Promise<unknown> | void> = [];
const url = (user: User) => `redis://${user}:${USERS[user].password}@127.0.0.1:${redis.port}`;

before(async () => {
  redis = await startPrivateRedis();
  // The default user keeps every right: it sets the roles up and reads ACL LOG, nothing else.
  admin = new Redis(redis.port, '127.0.0.1');
  for (const args of docAclLines().values()) assert.equal(await admin.call('ACL', 'SETUSER', ...args), 'OK');
});
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
  admin?.disconnect();
  await redis?.destroy();
});

test('neither role may run FLUSHALL, CONFIG or KEYS, or touch a key outside troupe:', async () => {
  await admin.call('ACL', 'LOG', 'RESET');
  for (const user of Object.keys(USERS) as User[]) {
    const client = new Redis(url(user), { maxRetriesPerRequest: 0 });
    try {
      await assert.rejects(client.flushall(), /NOPERM/, `${user}: FLUSHALL`);
      await assert.rejects(client.config('GET', 'dir'), /NOPERM/, `${user}: CONFIG GET`);
      await assert.rejects(client.keys('*'), /NOPERM/, `${user}: KEYS`);
      await assert.rejects(client.hset('outside:key', 'f', 'v'), /NOPERM/, `${user}: a key outside troupe:`);
      await assert.rejects(client.eval("return redis.call('HSET', 'outside:key', 'f', 'v')", 0), /NOPERM|can't access at least one of the keys/, `${user}: the same from a script`);
      assert.equal(await client.hset(`troupe:{acl-probe}:${user}`, 'f', 'v'), 1, `${user}: a troupe: key is fine`);
    } finally {
      client.disconnect();
    }
  }
  assert.equal(await admin.exists('outside:key'), 0);
  // The log works: it named each refusal (so an empty log below means no refusal, not no logging).
  const log = await aclLog(admin);
  for (const object of ['flushall', 'config|get', 'keys', 'outside:key']) {
    assert.ok(log.some((e) => e.object === object), `ACL LOG names ${object}:\n${describeLog(log)}`);
  }
  await admin.del(...Object.keys(USERS).map((user) => `troupe:{acl-probe}:${user}`));
  await admin.call('ACL', 'LOG', 'RESET');
});

test('a supervisor, a producer and the admin CLI run as their ACL users with nothing denied', { timeout: 120_000 }, async () => {
  const asSupervisor = { TROUPE_REDIS_URL: url('troupe-supervisor') };
  const cli = async (args: string[], env: NodeJS.ProcessEnv = asSupervisor): Promise<CliRun> => {
    const run = await runCli(args, env);
    assert.equal(run.code, 0, `troupe ${args.join(' ')}: ${run.stderr}`);
    return run;
  };
  const cliJson = async <T>(args: string[]): Promise<T> => JSON.parse((await cli([...args, '--json'])).stdout) as T;

  const httpPort = await freePort();
  const s = new SupervisorProcess(['--queues', Q, '--threads', '2', '--lease-ms', '2000', '--heartbeat-ms', '200', '--http-port', String(httpPort), '--metrics-interval', '1'], asSupervisor);
  cleanup.push(() => s.kill());
  const queue = new Queue(Q, { connection: url('troupe-producer') });
  cleanup.push(() => queue.close());
  await s.started();

  // Producer: enqueue (new, existing id, dedupe with a cached result), batches, reads, results.
  const echo = await queue.enqueue('echo', { hello: 'acl' }, { jobId: 'echo-1' });
  assert.deepEqual(await queue.waitForResult(echo.id, { timeoutMs: 20_000 }), { hello: 'acl' });
  assert.equal((await queue.enqueue('echo', null, { jobId: 'echo-1' })).outcome, 'exists');
  const many = await queue.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ processor: 'noop', data: { i } })));
  const cached = await queue.enqueue('echo', 'once', { dedupeKey: 'd1', resultTtlMs: 60_000 });
  assert.equal(await queue.waitForResult(cached.id, { timeoutMs: 20_000 }), 'once');
  assert.equal((await queue.enqueue('echo', 'again', { dedupeKey: 'd1' })).outcome, 'cached');
  const delayed = await queue.enqueue('sleep', { ms: 600 }, { delayMs: 300 });
  assert.equal(delayed.state, 'delayed');
  assert.deepEqual(await queue.waitForResult(delayed.id, { timeoutMs: 20_000 }), { sleptMs: 600 });
  await eventually(async () => (await Promise.all(many.map((m) => queue.getJob(m.id)))).every((j) => j?.state === 'completed'), 20_000, 'the batch to complete');
  assert.equal((await queue.listJobs('completed', { limit: 100 })).length, (await queue.counts()).completed);
  const later = await queue.enqueue('noop', null, { delayMs: 600_000, dedupeKey: 'later' });
  await queue.cancel(later.id);
  assert.equal(await queue.getJob(later.id), null);

  // A failing job retries, then goes dead; the DLQ commands list it and bring it back.
  const failing = await queue.enqueue('fail', { mode: 'throw' }, { attempts: 2, backoff: { type: 'fixed', ms: 50 }, dedupeKey: 'failing' });
  await assert.rejects(queue.waitForResult(failing.id, { timeoutMs: 20_000 }), JobFailedError);
  assert.equal((await queue.getJob(failing.id))?.attempts, 2, 'it was retried once');
  const dead = await cliJson<{ jobs: Array<{ id: string }> }>(['dlq', 'list', '--queue', Q]);
  assert.deepEqual(dead.jobs.map((j) => j.id), [failing.id]);
  assert.equal((await cliJson<{ retried: boolean }>(['dlq', 'retry', failing.id, '--queue', Q])).retried, true);
  await eventually(async () => (await queue.counts()).dead === 1 && (await queue.getJob(failing.id))?.attempts === 2, 20_000, 'the retried job to die again');
  assert.equal((await cliJson<{ retried: number }>(['dlq', 'retry-all', '--queue', Q])).retried, 1);
  await eventually(async () => (await queue.getJob(failing.id))?.state === 'dead', 20_000, 'the job to die a third time');
  assert.equal((await cliJson<{ purged: number }>(['dlq', 'purge', '--queue', Q, '--yes'])).purged, 1);

  // A processor's resource pause, then the operator's pause and resume and empty.
  const resource = await queue.enqueue('fail', { mode: 'resource', ms: 60_000 }, { attempts: 1 });
  await eventually(async () => (await queue.counts()).resourcePause, 20_000, 'the resource pause');
  await queue.cancel(resource.id);
  await cli(['queue', 'pause', Q]);
  const status = await cliJson<{ pausedQueues: Array<{ queue: string }> }>(['status']);
  assert.deepEqual(status.pausedQueues.map((p) => p.queue), [Q]);
  const held = await queue.enqueue('echo', 'after resume');
  assert.deepEqual((await queue.listJobs('pending')).map((j) => j.id), [held.id]);
  const pending = await cliJson<{ jobs: Array<{ id: string }> }>(['jobs', '--queue', Q, '--state', 'pending']);
  assert.deepEqual(pending.jobs.map((j) => j.id), [held.id]);
  await cli(['queue', 'resume', Q]);
  assert.equal(await queue.waitForResult(held.id, { timeoutMs: 20_000 }), 'after resume');
  await queue.enqueue('noop', null, { delayMs: 600_000 });
  await cli(['queue', 'empty', Q, '--yes']);
  assert.equal((await queue.counts()).delayed, 0);

  // The CLI as the producer, and the admin reads as the supervisor.
  await cli(['enqueue', Q, 'noop', '--count', '3'], { TROUPE_REDIS_URL: url('troupe-producer') });
  await cli(['job', echo.id, '--queue', Q]);
  await cli(['jobs', '--queue', Q, '--state', 'completed']);

  // A schedule fires through the supervisor's scheduler.
  await cli(['schedule', 'add', 'tick', '--cron', '* * * * * *', '--queue', Q, '--processor', 'noop']);
  await eventually(async () => (await queue.listJobs('completed', { limit: 200 })).find((j) => j.id.startsWith('tick@')), 20_000, 'a fire of the schedule to complete');
  await cli(['schedule', 'list']);
  await cli(['schedule', 'pause', 'tick']);
  await cli(['schedule', 'remove', 'tick']);

  // The built-in maintenance job scans every queue from a thread's own connection.
  const sweep = await queue.enqueue('maintenance', { dryRun: true });
  assert.equal((await queue.waitForResult(sweep.id, { timeoutMs: 20_000 }) as { dryRun: boolean }).dryRun, true);

  // A count retention trims the completed set; WAIT runs (and, with no replica, reports so).
  const before = (await queue.counts()).completed;
  const trimmed = await queue.enqueue('noop', null, { keepCompleted: { count: 1 } });
  await queue.waitForResult(trimmed.id, { timeoutMs: 20_000 });
  assert.ok((await queue.counts()).completed < before, 'older completed jobs were trimmed');
  const durable = new Queue(Q, { connection: { url: url('troupe-producer'), waitReplicas: 1, waitTimeoutMs: 10 } });
  cleanup.push(() => durable.close());
  await assert.rejects(durable.enqueue('noop', null, { delayMs: 600_000 }), NotReplicatedError);

  // Heartbeats: the registry entry moves on, and the cluster metrics reach `troupe stats`.
  type Status = { supervisors: Array<{ heartbeatAt: number; completed: number }> };
  const first = (await cliJson<Status>(['status'])).supervisors[0]!.heartbeatAt;
  await eventually(async () => ((await cliJson<Status>(['status'])).supervisors[0]?.heartbeatAt ?? 0) > first, 20_000, 'a later heartbeat');
  await eventually(async () => (await cliJson<{ latency?: unknown }>(['stats', '--queue', Q])).latency, 20_000, 'latency in troupe stats');
  await cli(['stats']);
  assert.equal((await fetch(`http://127.0.0.1:${httpPort}/health`)).status, 200);

  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0, s.stderr);
  assert.equal((await cliJson<Status>(['status'])).supervisors.length, 0, 'a clean exit leaves the registry');

  const log = await aclLog(admin);
  assert.deepEqual(log, [], `ACL LOG has denials; add them to docs/operations.md:\n${describeLog(log)}`);
});
