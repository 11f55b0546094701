import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue, QueueConsumer } from '../src/queue/index.js';
import { REGISTRY_KEY, supervisorKey } from '../src/supervisor/registry.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'troupe-cli-'));
const redis = new Redis(SHARED_REDIS_URL);
const opened: Array<Queue | QueueConsumer> = [];
after(async () => {
  await Promise.all(opened.map((c) => c.close()));
  redis.disconnect();
  rmSync(TMP, { recursive: true, force: true });
});

type Run = { code: number | null; stdout: string; stderr: string };

/** The real CLI in a child process; stdin is a closed pipe, so it is never a terminal. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, TROUPE_REDIS_URL: SHARED_REDIS_URL },
    });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const run = await cli(...args, '--json');
  assert.equal(run.code, 0, `troupe ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

function open(label: string) {
  const name = uniqueQueue(`cli-${label}`);
  const q = new Queue(name, { connection: SHARED_REDIS_URL });
  const c = new QueueConsumer(name, { connection: SHARED_REDIS_URL });
  opened.push(q, c);
  return { name, q, c };
}
type Harness = ReturnType<typeof open>;

async function leaseOne(h: Harness) {
  const batch = await h.c.lease('cli-test', 1, 60_000);
  assert.equal(batch.jobs.length, 1);
  return batch.jobs[0]!;
}

/** One job in every state: pending (high p2, normal p1), delayed d1, active a1, completed c1, dead x1. */
async function seed(h: Harness): Promise<void> {
  await h.q.enqueue('echo', { n: 'c' }, { jobId: 'c1', priority: 'critical' });
  await h.c.complete([{ lease: (await leaseOne(h)).lease, result: { ok: 1 } }]);
  await h.q.enqueue('echo', { n: 'x' }, { jobId: 'x1', priority: 'critical', attempts: 1 });
  assert.deepEqual((await h.c.fail([{ job: await leaseOne(h), error: new Error('disk full\nsecond line') }])).dead, ['x1']);
  await h.q.enqueue('echo', { n: 'a' }, { jobId: 'a1', priority: 'critical' });
  await leaseOne(h);
  await h.q.enqueue('echo', { n: 1 }, { jobId: 'p1' });
  await h.q.enqueue('echo', { n: 2 }, { jobId: 'p2', priority: 'high' });
  await h.q.enqueue('echo', null, { jobId: 'd1', delayMs: 600_000 });
}

function assertUsage(run: Run, mentions: string | RegExp): void {
  assert.equal(run.code, 2, `expected exit 2, got ${run.code}: ${run.stderr}`);
  assert.match(run.stderr, typeof mentions === 'string' ? new RegExp(mentions.replace(/[-[\]/]/g, '\\$&')) : mentions);
  assert.equal(run.stdout, '');
}

describe('troupe admin commands', { concurrency: 8 }, () => {
  test('enqueue: one job with every option, printed id and JSON contract', async () => {
    const h = open('enq');
    const plain = await cli('enqueue', h.name, 'echo', '--data', '{"n":7}', '--priority', 'high', '--attempts', '5', '--timeout-ms', '2500', '--id', 'job-a');
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'job-a\n');
    const job = await h.q.getJob('job-a');
    assert.deepEqual([job?.processor, job?.data, job?.priority, job?.maxAttempts, job?.timeoutMs, job?.state], ['echo', { n: 7 }, 'high', 5, 2500, 'pending']);

    const delayed = await json<Array<{ id: string; outcome: string; state: string }>>('enqueue', h.name, 'echo', '--delay-ms', '60000');
    assert.equal(delayed.length, 1);
    assert.deepEqual({ ...delayed[0], id: 'x' }, { id: 'x', outcome: 'created', state: 'delayed' });
    assert.equal((await h.q.getJob(delayed[0]!.id))?.state, 'delayed');
    assert.deepEqual(await json('enqueue', h.name, 'echo', '--id', 'job-a'), [{ id: 'job-a', outcome: 'exists', state: 'pending' }]);
  });

  test('enqueue --count makes N jobs with unique ids, in batches, idempotent with --id', async () => {
    const h = open('count');
    const run = await cli('enqueue', h.name, 'echo', '--count', '2500', '--id', 'bulk');
    assert.equal(run.code, 0, run.stderr);
    const ids = run.stdout.trim().split('\n');
    assert.equal(ids.length, 2500);
    assert.equal(new Set(ids).size, 2500);
    assert.deepEqual([ids[0], ids[2499]], ['bulk-1', 'bulk-2500']);
    assert.match(run.stderr, /enqueued 2500\/2500/);
    assert.equal((await h.q.counts()).pending, 2500);
    const again = await json<Array<{ outcome: string }>>('enqueue', h.name, 'echo', '--count', '2500', '--id', 'bulk');
    assert.equal(again.filter((r) => r.outcome === 'exists').length, 2500);

    const random = await cli('enqueue', h.name, 'echo', '--count', '5');
    const uuids = random.stdout.trim().split('\n');
    assert.equal(new Set(uuids).size, 5);
    assert.equal((await h.q.counts()).pending, 2505);
  });

  test('enqueue --data-file: raw bytes for a binary file, parsed JSON for .json', async () => {
    const h = open('file');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
    writeFileSync(join(TMP, 'doc.pdf'), bytes);
    writeFileSync(join(TMP, 'payload.json'), '{"to":"a@b.c","n":[1,2]}');
    const run = await cli('enqueue', h.name, 'render', '--data-file', join(TMP, 'doc.pdf'), '--id', 'pdf-1');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await redis.hstrlen(`troupe:{${h.name}}:job:pdf-1`, 'data'), 70_000);
    assert.ok(bytes.equals((await h.q.getJob('pdf-1'))?.data as Buffer));
    assert.equal((await cli('enqueue', h.name, 'mail', '--data-file', join(TMP, 'payload.json'), '--id', 'm-1')).code, 0);
    assert.deepEqual((await h.q.getJob('m-1'))?.data, { to: 'a@b.c', n: [1, 2] });

    const shown = await json<{ data: unknown; state: string }>('job', 'pdf-1', '--queue', h.name);
    assert.deepEqual(shown.data, { type: 'bytes', length: 70_000 });
    assert.match((await cli('job', 'pdf-1', '--queue', h.name)).stdout, /^data\s+68\.4 KiB of bytes$/m);
  });

  test('enqueue: every bad input exits 2, names the flag and writes nothing', async () => {
    const h = open('bad');
    writeFileSync(join(TMP, 'broken.json'), '{"a":');
    const cases: Array<[string[], string | RegExp]> = [
      [['--data', '{bad'], '--data is not valid JSON'],
      [['--data', '1', '--data-file', join(TMP, 'broken.json')], 'give --data or --data-file, not both'],
      [['--priority', 'urgent'], /priority.*urgent.*critical/s],
      [['--delay-ms', '-5'], '--delay-ms must be a whole number from 0'],
      [['--count', '0'], '--count must be a whole number from 1'],
      [['--count', 'many'], '--count must be a whole number'],
      [['--attempts', '0'], '--attempts must be a whole number from 1'],
      [['--data-file', join(TMP, 'missing.bin')], '--data-file: cannot read'],
      [['--data-file', join(TMP, 'broken.json')], '--data-file: .*broken.json ends in .json but is not valid JSON'],
      [['--id', 'has space'], '--id: must be 1-256 characters'],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli('enqueue', h.name, 'echo', ...args)));
    runs.forEach((run, i) => assertUsage(run, cases[i]![1]));
    assertUsage(await cli('enqueue', 'bad{name}', 'echo'), 'QUEUE: "bad{name}" is not a valid queue name');
    assertUsage(await cli('enqueue', h.name, 'bad processor'), 'PROCESSOR:');
    assert.deepEqual(await redis.keys(`troupe:{${h.name}}:*`), []);
  });

  test('job: JSON contract for completed and dead jobs, a readable table, exit 1 when unknown', async () => {
    const h = open('job');
    await seed(h);
    const done = await json<Record<string, unknown>>('job', 'c1', '--queue', h.name);
    assert.deepEqual([done.id, done.state, done.attempts, done.result, done.error, done.processor], ['c1', 'completed', 1, { ok: 1 }, null, 'echo']);
    const dead = await json<{ state: string; attempts: number; result: unknown; error: { name: string; message: string } }>('job', 'x1', '--queue', h.name);
    assert.deepEqual([dead.state, dead.attempts, dead.result, dead.error.name, dead.error.message], ['dead', 1, null, 'Error', 'disk full\nsecond line']);
    const table = await cli('job', 'x1', '--queue', h.name);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^state\s+dead$/m);
    assert.match(table.stdout, /^attempts\s+1 of 1$/m);
    assert.match(table.stdout, /^error\s+Error: disk full$/m);
    const missing = await cli('job', 'nope', '--queue', h.name);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /job nope not found in queue/);
    assertUsage(await cli('job', 'c1'), /queue/);
  });

  test('jobs: table rows, JSON pages, and bad paging flags', async () => {
    const h = open('jobs');
    await seed(h);
    const pending = await cli('jobs', '--queue', h.name, '--state', 'pending');
    assert.equal(pending.code, 0, pending.stderr);
    const lines = pending.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+PROCESSOR\s+STATE\s+ATTEMPTS\s+PRIORITY\s+AGE\s+LAST ERROR$/);
    assert.match(lines[1]!, /^p2\s+echo\s+pending\s+0\/3\s+high\s+\S+ ago$/);
    assert.match(lines[2]!, /^p1\s+echo\s+pending\s+0\/3\s+normal\s+/);
    assert.match(lines[3]!, /showing 1-2 of 2 pending jobs/);
    const dead = await cli('jobs', '--queue', h.name, '--state', 'dead');
    assert.match(dead.stdout, /^x1\s+echo\s+dead\s+1\/1\s+critical\s+.* ago\s+disk full$/m);

    const page = await json<{ total: number; offset: number; limit: number; jobs: Array<{ id: string }> }>(
      'jobs', '--queue', h.name, '--state', 'pending', '--limit', '1', '--offset', '1',
    );
    assert.deepEqual([page.total, page.offset, page.limit, page.jobs.map((j) => j.id)], [2, 1, 1, ['p1']]);
    assertUsage(await cli('jobs', '--queue', h.name, '--state', 'pending', '--limit', '0'), '--limit must be a whole number from 1');
    assertUsage(await cli('jobs', '--queue', h.name), /state/);
    assertUsage(await cli('jobs', '--queue', h.name, '--state', 'finished'), /finished/);
  });

  test('stats: one queue and every queue, JSON and table', async () => {
    const h = open('stats');
    const other = open('stats2');
    await seed(h);
    await other.q.enqueue('echo', null);
    await other.q.pause();
    const one = await json('stats', '--queue', h.name);
    assert.deepEqual(one, {
      queue: h.name,
      counts: { pending: 2, delayed: 1, active: 1, completed: 1, dead: 1 },
      byPriority: { critical: 0, high: 1, normal: 1, low: 0 },
      paused: false,
      resourcePause: null,
    });
    const all = await json<{ queues: Record<string, { counts: Record<string, number>; paused: boolean }> }>('stats');
    assert.deepEqual(all.queues[h.name]?.counts, { pending: 2, delayed: 1, active: 1, completed: 1, dead: 1 });
    assert.deepEqual([all.queues[other.name]?.counts.pending, all.queues[other.name]?.paused], [1, true]);
    assert.equal(all.queues.registry, undefined);
    const table = await cli('stats');
    assert.match(table.stdout, new RegExp(`^${h.name}\\s+2\\s+1\\s+1\\s+1\\s+1$`, 'm'));
    assert.match(table.stdout, new RegExp(`^${other.name}\\s+1\\s+0\\s+0\\s+0\\s+0\\s+paused by operator$`, 'm'));
  });

  test('dlq: list, retry one back to pending, retry-all, purge only with --yes', async () => {
    const h = open('dlq');
    await seed(h);
    const listed = await json<{ total: number; jobs: Array<{ id: string; error: { message: string } }> }>('dlq', 'list', '--queue', h.name);
    assert.deepEqual([listed.total, listed.jobs[0]?.id, listed.jobs[0]?.error.message], [1, 'x1', 'disk full\nsecond line']);
    assert.match((await cli('dlq', 'list', '--queue', h.name)).stdout, /^x1\s+echo\s+dead\s+1\/1/m);

    assert.deepEqual(await json('dlq', 'retry', 'x1', '--queue', h.name), { queue: h.name, id: 'x1', retried: true, state: 'pending' });
    const back = await h.q.getJob('x1');
    assert.deepEqual([back?.state, back?.attempts], ['pending', 0]);
    const notDead = await cli('dlq', 'retry', 'p1', '--queue', h.name);
    assert.equal(notDead.code, 1);
    assert.match(notDead.stderr, /job p1 is pending, not dead/);
    assert.equal((await cli('dlq', 'retry', 'ghost', '--queue', h.name)).code, 1);

    // On a queue of their own, so the leases below can only pick up these jobs.
    const h2 = open('dlq2');
    const killAll = async () => {
      const batch = await h2.c.lease('cli-test', 10, 60_000);
      await h2.c.fail(batch.jobs.map((job) => ({ job, error: new Error('again') })));
    };
    await h2.q.enqueueMany(['y1', 'y2'].map((id) => ({ processor: 'echo', options: { jobId: id, attempts: 1 } })));
    await killAll();
    assert.equal((await h2.q.counts()).dead, 2);
    assert.deepEqual(await json('dlq', 'retry-all', '--queue', h2.name), { queue: h2.name, retried: 2 });
    assert.deepEqual([(await h2.q.counts()).pending, (await h2.q.counts()).dead], [2, 0]);
    await killAll();
    assertUsage(await cli('dlq', 'purge', '--queue', h2.name), 'pass --yes');
    assert.equal((await h2.q.counts()).dead, 2);
    assert.deepEqual(await json('dlq', 'purge', '--queue', h2.name, '--yes'), { queue: h2.name, purged: 2 });
    assert.deepEqual([(await h2.q.counts()).dead, await h2.q.getJob('y1')], [0, null]);
  });

  test('queue pause, resume and empty (refused without --yes off a terminal; never active)', async () => {
    const h = open('qadmin');
    await seed(h);
    assert.equal((await cli('queue', 'pause', h.name)).code, 0);
    assert.equal(await h.q.isPaused(), true);
    assert.deepEqual(await json('queue', 'resume', h.name), { queue: h.name, paused: false });
    assert.equal(await h.q.isPaused(), false);

    assertUsage(await cli('queue', 'empty', h.name), 'pass --yes');
    assert.deepEqual([(await h.q.counts()).pending, (await h.q.counts()).delayed], [2, 1]);
    assertUsage(await cli('queue', 'empty', h.name, '--state', 'active', '--yes'), /active/);
    assert.deepEqual(await json('queue', 'empty', h.name, '--yes'), { queue: h.name, deleted: { pending: 2, delayed: 1 } });
    const left = await h.q.counts();
    assert.deepEqual([left.pending, left.delayed, left.active, left.completed, left.dead], [0, 0, 1, 1, 1]);
    assert.equal((await cli('queue', 'empty', h.name, '--state', 'completed', '--yes')).code, 0);
    assert.deepEqual([(await h.q.counts()).completed, (await h.q.counts()).active], [0, 1]);
  });

  test('status: live and stale supervisors, resource and operator pauses', async (t) => {
    const h = open('status');
    const ids = [`cli-test-live-${process.pid}`, `cli-test-stale-${process.pid}`];
    const now = Date.now();
    for (const [i, id] of ids.entries()) {
      // A 60 s heartbeat keeps the live one fresh however slowly a loaded machine runs the CLI.
      const heartbeatAt = i === 0 ? now : now - 600_000;
      await redis.hset(supervisorKey(id), {
        id, host: 'test-host', pid: 4242 + i, startedAt: now - 3_600_000, heartbeatAt, heartbeatMs: 60_000,
        threads: 4, queues: `${h.name},other`, inFlight: 3, held: 1, completed: 120 + i, failed: 2, dead: 1, timedOut: 0, leaseLost: 0, threadRestarts: 0,
      });
      await redis.pexpire(supervisorKey(id), 120_000);
      await redis.zadd(REGISTRY_KEY, heartbeatAt, id);
    }
    t.after(() => redis.multi().del(...ids.map(supervisorKey)).zrem(REGISTRY_KEY, ...ids).exec());
    await h.q.enqueue('echo', null, { jobId: 'r1' });
    const { pausedUntil } = await h.c.pauseForResource(await leaseOne(h), { firstPauseMs: 600_000, maxPauseMs: 600_000, reason: 'quota exceeded' });
    const paused = open('status-op');
    await paused.q.pause();

    type Status = { supervisors: Array<{ id: string; stale: boolean; inFlight: number; queues: string[] }>; pausedQueues: Array<Record<string, unknown>> };
    const status = await json<Status>('status');
    const mine = status.supervisors.filter((s) => ids.includes(s.id)).map((s) => [s.id, s.stale, s.inFlight, s.queues]);
    assert.deepEqual(mine, [[ids[0], false, 3, [h.name, 'other']], [ids[1], true, 3, [h.name, 'other']]]);
    assert.deepEqual(status.pausedQueues.find((p) => p.queue === h.name), { queue: h.name, paused: false, resourcePause: { until: pausedUntil, reason: 'quota exceeded', level: 0 } });
    assert.deepEqual(status.pausedQueues.find((p) => p.queue === paused.name), { queue: paused.name, paused: true, resourcePause: null });

    const table = (await cli('status')).stdout;
    // Entries without busyThreads, liveThreads, rssBytes (written by an older supervisor) show '-' there.
    assert.match(table, new RegExp(`^${ids[0]}\\s+test-host\\s+4242\\s+4\\s+-\\s+${h.name},other\\s+3\\s+-\\s+120\\s+2\\s+\\S+ ago\\s+1h 00m ago$`, 'm'));
    assert.match(table, new RegExp(`^${ids[1]}\\s+test-host\\s+4243\\s.*\\s10m \\d\\ds ago\\s+1h 00m ago\\s+STALE$`, 'm'));
    assert.match(table, new RegExp(`^${h.name}\\s+resource pause until in (9|10)m \\d\\ds \\(quota exceeded\\)$`, 'm'));
    assert.match(table, new RegExp(`^${paused.name}\\s+paused by operator$`, 'm'));
  });

  test('unreachable Redis: exit 1 with how to fix it, for every kind of command', async () => {
    const runs = await Promise.all([
      cli('stats', '--redis-url', 'redis://127.0.0.1:1'),
      cli('enqueue', 'q', 'echo', '--redis-url', 'redis://127.0.0.1:1'),
      cli('status', '--redis-url', 'redis://127.0.0.1:1'),
    ]);
    for (const run of runs) {
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(from --redis-url\)/);
      assert.match(run.stderr, /never start a Redis.*--redis-url, TROUPE_REDIS_URL or REDIS_URL/);
    }
    assertUsage(await cli('stats', '--redis-url', 'localhost:6379'), /redisUrl: "localhost:6379" is not a Redis URL; the forms are redis:\/\/.* \(from --redis-url\)/);
  });

  test('every command has help with examples', async () => {
    const commands = [['enqueue'], ['job'], ['jobs'], ['stats'], ['status'], ['dlq'], ['dlq', 'list'], ['dlq', 'retry'], ['dlq', 'purge'], ['queue'], ['queue', 'empty']];
    const runs = await Promise.all(commands.map((c) => cli(...c, '--help')));
    runs.forEach((run, i) => {
      assert.equal(run.code, 0, `${commands[i]!.join(' ')} --help: ${run.stderr}`);
      assert.match(run.stdout, /Examples:/);
      assert.match(run.stdout, commands[i]!.length > 1 || ['dlq', 'queue'].includes(commands[i]![0]!) ? /troupe/ : /--redis-url/);
    });
  });
});
