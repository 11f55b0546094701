import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  JobFailedError, JobNotFoundError, NotCancellableError, Queue, QueueConsumer, ValidationError, WaitTimeoutError,
  type JobOptions, type JobState, type LeasedJob, type QueueEvent,
} from '../src/queue/index.js';
import { manualClock, SHARED_REDIS_URL, startPrivateRedis, uniqueQueue } from './helpers/redis-server.js';

const opened: Array<Queue | QueueConsumer> = [];
after(() => Promise.all(opened.map((c) => c.close())));

function open(label: string, connection = SHARED_REDIS_URL, registry = opened) {
  const name = uniqueQueue(label);
  const clock = manualClock();
  const q = new Queue(name, { connection, clock });
  const c = new QueueConsumer(name, { connection, clock });
  registry.push(q, c);
  return { name, clock, q, c, jobKey: (id: string) => `troupe:{${name}}:job:${id}` };
}
type Harness = ReturnType<typeof open>;

async function leaseOne(h: Harness, owner = 'sup-1', leaseMs = 30_000): Promise<LeasedJob> {
  const batch = await h.c.lease(owner, 1, leaseMs);
  assert.equal(batch.jobs.length, 1, 'expected exactly one leasable job');
  return batch.jobs[0]!;
}

/** Enqueues one job and drives it to completed or dead; returns its id. */
async function finish(h: Harness, to: 'completed' | 'dead', options: JobOptions = {}, jobId?: string): Promise<string> {
  const { id } = await h.q.enqueue('echo', { to }, { ...options, ...(jobId ? { jobId } : {}), ...(to === 'dead' ? { attempts: 1 } : {}) });
  const job = await leaseOne(h);
  assert.equal(job.id, id);
  if (to === 'completed') assert.deepEqual(await h.c.complete([{ lease: job.lease, result: `r-${id}` }]), []);
  else assert.deepEqual((await h.c.fail([{ job, error: new Error(`e-${id}`) }])).dead, [id]);
  return id;
}

test('getJob reports every field through enqueue, lease, complete, retry and death', async () => {
  const h = open('getjob');
  const t0 = h.clock();
  const { id } = await h.q.enqueue('echo', { n: 1 }, { priority: 'high', metadata: { tenant: 'acme' } });
  const base = {
    id, queue: h.name, processor: 'echo', priority: 'high', data: { n: 1 }, maxAttempts: 3, timeoutMs: 0,
    backoff: { type: 'exponential', initialMs: 1000, maxMs: 3_600_000, multiplier: 2, jitter: 0.2 },
    enqueuedAt: t0, errors: [], leaseExpiries: 0, metadata: { tenant: 'acme' },
  };
  assert.deepEqual(await h.q.getJob(id), { ...base, state: 'pending', attempts: 0 });

  h.clock.advance(100);
  const leased = await leaseOne(h, 'sup-1');
  const active = { ...base, state: 'active', attempts: 1, startedAt: t0 + 100, owner: 'sup-1' };
  assert.deepEqual(await h.q.getJob(id), active);

  h.clock.advance(50);
  await h.c.complete([{ lease: leased.lease, result: { ok: true } }]);
  assert.deepEqual(await h.q.getJob(id), { ...active, state: 'completed', result: { ok: true }, finishedAt: t0 + 150 });

  const failing = await h.q.enqueue('echo', null, { attempts: 2, backoff: { type: 'fixed', ms: 5000 } });
  const first = await leaseOne(h, 'sup-1');
  h.clock.advance(10);
  await h.c.fail([{ job: first, error: new TypeError('boom') }]);
  const retrying = await h.q.getJob(failing.id);
  assert.deepEqual([retrying?.state, retrying?.attempts, retrying?.runAt], ['delayed', 1, t0 + 160 + 5000]);
  assert.deepEqual({ ...retrying?.error, stack: undefined }, { name: 'TypeError', message: 'boom', at: t0 + 160, attempt: 1, stack: undefined });
  assert.match(retrying?.error?.stack ?? '', /^TypeError: boom\n\s+at /);
  assert.deepEqual(retrying?.errors, [retrying?.error]);

  h.clock.advance(5000);
  const second = await leaseOne(h, 'sup-2');
  assert.equal(second.attempt, 2);
  await h.c.fail([{ job: second, error: new Error('boom again') }]);
  const dead = await h.q.getJob(failing.id);
  assert.deepEqual([dead?.state, dead?.finishedAt, dead?.owner, dead?.error?.message], ['dead', t0 + 5160, 'sup-2', 'boom again']);
  assert.deepEqual(dead?.errors.map((e) => [e.message, e.attempt]), [['boom', 1], ['boom again', 2]]);
  assert.equal(await h.q.getJob('no-such-job'), null);
});

test('error history keeps the 10 most recent failures, oldest first', async () => {
  const h = open('errcap');
  const { id } = await h.q.enqueue('echo', 1, { attempts: 12 });
  for (let attempt = 1; attempt <= 12; attempt++) {
    const job = await leaseOne(h);
    await h.c.fail([{ job, error: new Error(`fail ${attempt}`), retryAfterMs: 0 }]);
  }
  const job = await h.q.getJob(id);
  assert.equal(job?.state, 'dead');
  assert.deepEqual(job?.errors.map((e) => e.message), Array.from({ length: 10 }, (_, i) => `fail ${i + 3}`));
  assert.equal(job?.error?.message, 'fail 12');
});

test('bytes payloads are stored raw and round-trip byte-exact', async (t) => {
  const h = open('bytes');
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const backing = new Uint8Array(1000).fill(0xee);
  backing.set(all, 300);
  const cases: Array<[string, Uint8Array]> = [
    ['Buffer (pooled slice)', Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80, 0x7b])],
    ['Buffer, every byte value', all],
    ['Uint8Array', new Uint8Array(all)],
    ['Uint8Array view at an offset', new Uint8Array(backing.buffer, 300, 256)],
  ];
  for (const [label, payload] of cases) {
    await t.test(label, async () => {
      const expected = Buffer.from(payload);
      const { id } = await h.q.enqueue('echo', payload);
      // Base64 would make the stored string 4/3 as long.
      assert.equal(await h.q.redis.hstrlen(h.jobKey(id), 'data'), payload.byteLength);
      assert.deepEqual((await h.q.getJob(id))?.data, expected);
      const job = await leaseOne(h);
      assert.equal(job.dataType, 'bytes');
      assert.deepEqual(job.data, expected);
      await h.c.complete([{ lease: job.lease, result: payload }]);
      assert.equal(await h.q.redis.hstrlen(h.jobKey(id), 'result'), payload.byteLength);
      assert.deepEqual((await h.q.getJob(id))?.result, expected);
    });
  }
});

test('listJobs orders and windows each state; counts() tallies states and priorities', async (t) => {
  const h = open('list');
  for (const [id, to] of [['x1', 'completed'], ['x2', 'dead'], ['x3', 'completed'], ['z1', 'dead'], ['z2', 'dead']] as const) {
    h.clock.advance(10);
    await finish(h, to, {}, id);
  }
  await h.q.enqueueMany([{ processor: 'echo', options: { jobId: 'a1' } }, { processor: 'echo', options: { jobId: 'a2' } }]);
  await leaseOne(h, 'sup', 5000);
  await leaseOne(h, 'sup', 2000);
  await h.q.enqueueMany([3000, 1000, 2000].map((delayMs, i) => ({ processor: 'echo', options: { jobId: `d${i + 1}`, delayMs } })));
  const pending: Array<[string, JobOptions['priority']]> = [
    ['l1', 'low'], ['n1', 'normal'], ['h1', 'high'], ['c1', 'critical'], ['n2', 'normal'], ['h2', 'high'], ['n3', 'normal'],
  ];
  await h.q.enqueueMany(pending.map(([jobId, priority]) => ({ processor: 'echo', options: { jobId, priority } })));

  const cases: Array<[JobState, number | undefined, number | undefined, string[]]> = [
    ['pending', undefined, undefined, ['c1', 'h1', 'h2', 'n1', 'n2', 'n3', 'l1']],
    ['pending', 2, 3, ['h2', 'n1', 'n2']],
    ['pending', 6, 5, ['l1']],
    ['pending', 7, 5, []],
    ['delayed', 0, 50, ['d2', 'd3', 'd1']],
    ['delayed', 1, 1, ['d3']],
    ['active', 0, 50, ['a2', 'a1']],
    ['completed', 0, 50, ['x3', 'x1']],
    ['completed', 1, 1, ['x1']],
    ['dead', 0, 2, ['z2', 'z1']],
    ['dead', 2, 10, ['x2']],
  ];
  for (const [state, offset, limit, ids] of cases) {
    await t.test(`${state} offset=${offset} limit=${limit}`, async () => {
      const jobs = await h.q.listJobs(state, { ...(offset !== undefined ? { offset } : {}), ...(limit !== undefined ? { limit } : {}) });
      assert.deepEqual(jobs.map((j) => j.id), ids);
      assert.ok(jobs.every((j) => j.state === state));
    });
  }
  assert.deepEqual(await h.q.counts(), {
    pending: 7, delayed: 3, active: 2, completed: 2, dead: 3,
    byPriority: { critical: 1, high: 2, normal: 3, low: 1 }, paused: false, resourcePause: null,
  });
});

test('pause stops leasing until resume', async () => {
  const h = open('pause');
  const { id } = await h.q.enqueue('echo', 1);
  await h.q.pause();
  assert.deepEqual([await h.q.isPaused(), (await h.q.counts()).paused], [true, true]);
  assert.deepEqual(await h.c.lease('sup', 10, 1000), { jobs: [], paused: true, resourcePausedUntil: null, nextDueAt: null });
  assert.equal((await h.q.getJob(id))?.state, 'pending');
  await h.q.resume();
  assert.equal(await h.q.isPaused(), false);
  const batch = await h.c.lease('sup', 10, 1000);
  assert.deepEqual([batch.paused, batch.jobs.map((j) => j.id)], [false, [id]]);
});

test('cancel removes pending and delayed jobs and refuses the rest', async (t) => {
  const h = open('cancel');
  const activeJob = await h.q.enqueue('echo', 1);
  await leaseOne(h);
  const completedId = await finish(h, 'completed');
  const pendingJob = await h.q.enqueue('echo', 1);
  const delayedJob = await h.q.enqueue('echo', 1, { delayMs: 60_000 });

  for (const [state, id] of [['pending', pendingJob.id], ['delayed', delayedJob.id]] as const) {
    await t.test(`${state} job is removed`, async () => {
      await h.q.cancel(id);
      assert.equal(await h.q.getJob(id), null);
      assert.equal(await h.q.redis.exists(h.jobKey(id)), 0);
      assert.equal((await h.q.counts())[state], 0);
    });
  }
  const refused: Array<[string, string, new (...args: never[]) => Error, string, RegExp]> = [
    ['active', activeJob.id, NotCancellableError, 'NOT_CANCELLABLE', /is active; only pending or delayed/],
    ['completed', completedId, NotCancellableError, 'NOT_CANCELLABLE', /is completed/],
    ['missing', 'no-such-job', JobNotFoundError, 'JOB_NOT_FOUND', /job no-such-job not found/],
  ];
  for (const [label, id, type, code, message] of refused) {
    await t.test(`${label} job is refused`, async () => {
      await assert.rejects(h.q.cancel(id), (err: Error & { code?: string }) => {
        assert.ok(err instanceof type, `${err.name} is not ${type.name}`);
        assert.equal(err.code, code);
        assert.match(err.message, message);
        return true;
      });
    });
  }
  assert.equal((await h.q.getJob(activeJob.id))?.state, 'active');
  assert.deepEqual(await h.c.lease('sup', 10, 1000).then((b) => b.jobs.length), 0, 'cancelled ids must leave the pending list');
});

test('clear empties one state at a time, in batches, and refuses active', async (t) => {
  const h = open('clear');
  await h.q.enqueueMany(Array.from({ length: 1001 }, () => ({ processor: 'echo' })));
  const leased = [...(await h.c.lease('sup', 1000, 30_000)).jobs, await leaseOne(h)];
  await h.c.complete(leased.map((j) => ({ lease: j.lease, result: 1 })));
  for (let i = 0; i < 2; i++) await finish(h, 'dead');
  await h.q.enqueue('echo', 1);
  await leaseOne(h);
  await h.q.enqueueMany(Array.from({ length: 3 }, () => ({ processor: 'echo', options: { delayMs: 5000 } })));
  await h.q.enqueueMany(Array.from({ length: 2500 }, (_, i) => ({ processor: 'echo', options: { priority: i % 2 ? 'low' : 'high' } })));

  const expected = { pending: 2500, delayed: 3, completed: 1001, dead: 2 };
  const remaining: Record<string, number> = { ...expected, active: 1 };
  for (const state of ['pending', 'delayed', 'completed', 'dead'] as const) {
    await t.test(state, async () => {
      assert.equal(await h.q.clear(state), expected[state]);
      remaining[state] = 0;
      const counts = await h.q.counts();
      for (const s of ['pending', 'delayed', 'active', 'completed', 'dead'] as const) assert.equal(counts[s], remaining[s], s);
    });
  }
  await assert.rejects(h.q.clear('active'), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.deepEqual([err.code, err.field], ['INVALID_OPTION', 'state']);
    return /active jobs are held by running supervisors/.test(err.message);
  });
  let [cursor, jobKeys] = ['0', [] as string[]];
  do {
    const [next, keys] = await h.q.redis.scan(cursor, 'MATCH', h.jobKey('*'), 'COUNT', 10_000);
    [cursor, jobKeys] = [next, [...jobKeys, ...keys]];
  } while (cursor !== '0');
  assert.equal(jobKeys.length, 1, 'only the active job hash should remain');
});

test('dead letters: list, retry one, retry all, purge', async () => {
  const h = open('dlq');
  const ids: string[] = [];
  for (const id of ['k1', 'k2', 'k3']) {
    h.clock.advance(10);
    ids.push(await finish(h, 'dead', {}, id));
  }
  assert.deepEqual((await h.q.listDead()).map((j) => j.id), ['k3', 'k2', 'k1']);

  assert.equal(await h.q.retryDead('k2'), true);
  const retried = await h.q.getJob('k2');
  assert.deepEqual([retried?.state, retried?.attempts, retried?.finishedAt], ['pending', 0, undefined]);
  assert.deepEqual(retried?.errors.map((e) => e.message), ['e-k2']);
  assert.equal(await h.q.retryDead('k2'), false, 'k2 is pending now, not dead');
  assert.equal(await h.q.retryDead('no-such-job'), false);
  assert.deepEqual(await h.q.counts().then((c) => [c.pending, c.dead]), [1, 2]);

  const again = await leaseOne(h);
  assert.deepEqual([again.id, again.attempt], ['k2', 1]);
  await h.c.fail([{ job: again, error: new Error('second death') }]);
  assert.deepEqual((await h.q.getJob('k2'))?.errors.map((e) => e.message), ['e-k2', 'second death']);

  assert.equal(await h.q.retryAllDead(), 3);
  assert.deepEqual(await h.q.counts().then((c) => [c.pending, c.dead]), [3, 0]);
  const batch = await h.c.lease('sup', 10, 1000);
  await h.c.fail(batch.jobs.map((job) => ({ job, error: new Error('third') })));
  assert.equal(await h.q.purgeDead(), 3);
  assert.equal((await h.q.counts()).dead, 0);
  for (const id of ids) assert.equal(await h.q.redis.exists(h.jobKey(id)), 0, id);
});

test('retryAllDead moves each job dead when it began once, though jobs die again between its batches', async () => {
  const h = open('retry-all-race');
  const total = 1001; // one more than a batch, so there is a second call for a death to come before
  await h.q.enqueueMany(Array.from({ length: total }, (_, i) => ({ processor: 'echo', data: i, options: { attempts: 1 } })));
  const failAll = async (message: string): Promise<number> => {
    let n = 0;
    for (let batch = await h.c.lease('sup', 1000, 30_000); batch.jobs.length > 0; batch = await h.c.lease('sup', 1000, 30_000)) {
      await h.c.fail(batch.jobs.map((job) => ({ job, error: new Error(message) })));
      n += batch.jobs.length;
    }
    return n;
  };
  assert.equal(await failAll('first death'), total);
  // Between the first and the second batch, a fast supervisor runs the moved jobs and they die again.
  // The hook reaches the queue's script runner, which Queue keeps private.
  const scripts = (h.q as unknown as { context: { scripts: { run: (name: string, args: unknown[]) => Promise<unknown> } } }).context.scripts;
  const run = scripts.run.bind(scripts);
  let calls = 0;
  scripts.run = async (name, args) => {
    const reply = await run(name, args);
    if (name === 'retry-dead' && ++calls === 1) {
      assert.equal(await failAll('second death'), 1000, 'the first batch moved 1000 jobs');
    }
    return reply;
  };
  assert.equal(await h.q.retryAllDead(), total);
  assert.deepEqual(await h.q.counts().then((c) => [c.pending, c.dead]), [1, 1000]);
  const dead = await h.q.listDead({ limit: total });
  assert.ok(dead.every((j) => j.errors.length === 2), 'every job that died again is still dead, with both deaths');
  assert.deepEqual(await h.q.redis.keys(`troupe:{${h.name}}:retry-all:*`), [], 'the copy is gone');
});

test('retention trims finished jobs by count and age', async (t) => {
  const cases: Array<{ label: string; keep: { count?: number; ageMs?: number }; gaps: number[]; kept: number[] }> = [
    { label: 'count 2 keeps the newest two', keep: { count: 2 }, gaps: [10, 10, 10, 10], kept: [2, 3] },
    { label: 'ageMs drops jobs finished longer ago', keep: { ageMs: 5000 }, gaps: [10, 3000, 3000], kept: [1, 2] },
  ];
  for (const to of ['completed', 'dead'] as const) {
    const option = to === 'completed' ? 'keepCompleted' : 'keepDead';
    for (const { label, keep, gaps, kept } of cases) {
      await t.test(`${option} ${label}`, async () => {
        const h = open('keep');
        const ids: string[] = [];
        for (const gap of gaps) {
          h.clock.advance(gap);
          ids.push(await finish(h, to, { [option]: keep }));
        }
        assert.deepEqual((await h.q.listJobs(to)).map((j) => j.id), kept.map((i) => ids[i]!).reverse());
        for (const [i, id] of ids.entries()) assert.equal(await h.q.redis.exists(h.jobKey(id)), kept.includes(i) ? 1 : 0, `job ${i}`);
      });
    }
    // count 0 means "drop this job when it finishes", not "empty the whole set".
    await t.test(`${option} count 0 deletes only the finishing job`, async () => {
      const h = open('keep0');
      const bystander = await finish(h, to);
      h.clock.advance(10);
      const dropped = await finish(h, to, { [option]: { count: 0 } });
      assert.equal(await h.q.getJob(dropped), null);
      assert.equal(await h.q.redis.exists(h.jobKey(dropped)), 0);
      assert.deepEqual((await h.q.listJobs(to)).map((j) => j.id), [bystander]);
    });
  }
});

test('waitForResult settles on completion and death, not on a retry', async (t) => {
  const h = open('wait');
  const pendingFor = async (promise: Promise<unknown>, ms: number) => {
    const marker = Symbol('pending');
    return (await Promise.race([promise.catch((e: unknown) => e), sleep(ms, marker)])) === marker;
  };

  await t.test('resolves when the job completes after the wait started, through a retry', async () => {
    const { id } = await h.q.enqueue('echo', 1, { attempts: 2 });
    const result = h.q.waitForResult(id, { timeoutMs: 10_000 });
    assert.ok(await pendingFor(result, 150));
    const first = await leaseOne(h);
    assert.deepEqual((await h.c.fail([{ job: first, error: new Error('flaky'), retryAfterMs: 0 }])).retried, [id]);
    assert.ok(await pendingFor(result, 300), 'a retry must not settle the wait');
    const second = await leaseOne(h);
    await h.c.complete([{ lease: second.lease, result: { answer: 42 } }]);
    assert.deepEqual(await result, { answer: 42 });
  });

  await t.test('resolves at once for a job already completed', async () => {
    const id = await finish(h, 'completed');
    assert.equal(await h.q.waitForResult(id, { timeoutMs: 1000 }), `r-${id}`);
  });

  await t.test('rejects with JobFailedError when the job dies', async () => {
    const { id } = await h.q.enqueue('echo', 1, { attempts: 1 });
    const result = h.q.waitForResult(id, { timeoutMs: 10_000 });
    assert.ok(await pendingFor(result, 150));
    const job = await leaseOne(h);
    await h.c.fail([{ job, error: new RangeError('out of range') }]);
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.deepEqual([err.code, err.jobId, err.jobError?.name, err.jobError?.message], ['JOB_FAILED', id, 'RangeError', 'out of range']);
      assert.match(err.message, /is dead: RangeError: out of range/);
      return true;
    });
  });

  await t.test('rejects with WaitTimeoutError when nothing happens', async () => {
    const { id } = await h.q.enqueue('echo', 1);
    const started = Date.now();
    await assert.rejects(h.q.waitForResult(id, { timeoutMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof WaitTimeoutError);
      assert.equal(err.code, 'WAIT_TIMEOUT');
      assert.match(err.message, new RegExp(`job ${id} did not finish within 200 ms`));
      return true;
    });
    assert.ok(Date.now() - started >= 190);
  });
});

async function collect(events: QueueEvent[], count: number): Promise<Array<[string, string[]]>> {
  const deadline = Date.now() + 3000;
  while (events.length < count && Date.now() < deadline) await sleep(20);
  return events.map((e) => [e.type, e.ids]);
}

test('subscribe receives completed, retrying and dead events with their ids', async () => {
  const h = open('events');
  const events: QueueEvent[] = [];
  await h.q.subscribe((e) => events.push(e));
  const [j1, j2] = await h.q.enqueueMany([{ processor: 'echo' }, { processor: 'echo' }]);
  const j3 = await h.q.enqueue('echo', 1, { attempts: 1 });
  const j4 = await h.q.enqueue('echo', 1, { attempts: 2 });
  const jobs = (await h.c.lease('sup', 10, 30_000)).jobs;
  const byId = (id: string) => jobs.find((j) => j.id === id)!;
  await h.c.complete([{ lease: byId(j1!.id).lease }, { lease: byId(j2!.id).lease }]);
  await h.c.fail([{ job: byId(j3.id), error: new Error('x') }]);
  await h.c.fail([{ job: byId(j4.id), error: new Error('y') }]);
  assert.deepEqual(await collect(events, 3), [['completed', [j1!.id, j2!.id]], ['dead', [j3.id]], ['retrying', [j4.id]]]);
});

// The reader fixes its start (the stream tip) on its own connection: subscribe() resolves only
// after that, so an event published right after it is delivered even when the stream has entries.
test('subscribe receives an event published right after it resolves', async () => {
  const h = open('events-race');
  await finish(h, 'completed');
  const events: QueueEvent[] = [];
  await h.q.subscribe((e) => events.push(e));
  const id = await finish(h, 'completed');
  assert.deepEqual(await collect(events, 1), [['completed', [id]]]);
});

test('scripts are reloaded after SCRIPT FLUSH', async (t) => {
  const redis = await startPrivateRedis();
  const mine: Array<Queue | QueueConsumer> = [];
  t.after(async () => {
    await Promise.all(mine.map((c) => c.close()));
    await redis.destroy();
  });
  const h = open('reload', redis.url, mine);
  const cycle = async () => {
    const id = await finish(h, 'completed');
    assert.equal((await h.q.getJob(id))?.result, `r-${id}`);
  };
  await cycle();
  // A fresh server knows no scripts: the consumer's lease and complete were each sent once.
  const warm = h.c.scriptReloads;
  assert.equal(warm, 2);
  await cycle();
  assert.equal(h.c.scriptReloads, warm);
  assert.equal(await h.q.redis.script('FLUSH'), 'OK');
  await cycle();
  assert.equal(h.c.scriptReloads, warm + 2);
  assert.equal((await h.q.counts()).completed, 3);
});
