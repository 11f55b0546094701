import assert from 'node:assert/strict';
import { Lease } from '../src/queue/lease.js';
import { after, describe, test } from 'node:test';
import { backoffDelay, Queue, QueueConsumer, type BackoffPolicy, type LeasedJob, type Priority } from '../src/index.js';
import { decodeBackoff, encodeBackoff } from '../src/queue/backoff.js';
import { manualClock, SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  await Promise.all(open.map((c) => c.close()));
});

function pair(label: string, clock?: () => number) {
  const name = uniqueQueue(label);
  const options = { connection: SHARED_REDIS_URL, ...(clock ? { clock } : {}) };
  const queue = new Queue(name, options);
  const consumer = new QueueConsumer(name, options);
  open.push(queue, consumer);
  return { name, queue, consumer, options };
}

describe('ordering', () => {
  test('highest priority first, FIFO within a priority', async () => {
    const { queue, consumer } = pair('order');
    const priorities: Priority[] = ['low', 'normal', 'critical', 'high', 'normal', 'low', 'critical', 'high', 'normal'];
    await queue.enqueueMany(priorities.map((priority, seq) => ({ processor: 'noop', data: { seq, priority }, options: { priority } })));
    const seen: Array<{ seq: number; priority: string }> = [];
    for (;;) {
      const { jobs } = await consumer.lease('w', 1, 10_000);
      if (jobs.length === 0) break;
      seen.push(jobs[0]!.data as { seq: number; priority: string });
    }
    assert.deepEqual(
      seen.map((j) => j.seq),
      [2, 6, 3, 7, 1, 4, 8, 0, 5],
    );
  });

  test('a batch lease spans priorities in order', async () => {
    const { queue, consumer } = pair('order-batch');
    await queue.enqueueMany([
      { processor: 'noop', data: 'a', options: { priority: 'low' } },
      { processor: 'noop', data: 'b', options: { priority: 'high' } },
      { processor: 'noop', data: 'c', options: { priority: 'normal' } },
    ]);
    const { jobs } = await consumer.lease('w', 10, 10_000);
    assert.deepEqual(jobs.map((j) => j.data), ['b', 'c', 'a']);
    assert.deepEqual(jobs.map((j) => j.attempt), [1, 1, 1]);
  });
});

describe('delays', () => {
  test('a delayed job never runs early, and runs once due', async () => {
    const clock = manualClock();
    const { queue, consumer } = pair('delay', clock);
    const start = clock();
    const { id, state } = await queue.enqueue('noop', null, { delayMs: 1000 });
    assert.equal(state, 'delayed');
    clock.set(start + 999);
    const early = await consumer.lease('w', 10, 10_000);
    assert.equal(early.jobs.length, 0);
    assert.equal(early.nextDueAt, start + 1000);
    clock.set(start + 1000);
    const due = await consumer.lease('w', 10, 10_000);
    assert.deepEqual(due.jobs.map((j) => j.id), [id]);
  });

  test('runAt in the past runs now; runAt as a Date is honoured', async () => {
    const clock = manualClock();
    const { queue, consumer } = pair('runat', clock);
    const past = await queue.enqueue('noop', 1, { runAt: clock() - 5 });
    const future = await queue.enqueue('noop', 2, { runAt: new Date(clock() + 50) });
    assert.equal(past.state, 'pending');
    assert.equal(future.state, 'delayed');
    assert.deepEqual((await consumer.lease('w', 10, 10_000)).jobs.map((j) => j.id), [past.id]);
    clock.advance(50);
    assert.deepEqual((await consumer.lease('w', 10, 10_000)).jobs.map((j) => j.id), [future.id]);
  });
});

describe('back-off', () => {
  test('exponential delays are exact without jitter and capped by maxMs', () => {
    const policy = { type: 'exponential', initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 } as const;
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n)), [100, 200, 400, 800, 1000, 1000]);
  });

  test('jittered delays stay within [d * (1 - jitter), d]', () => {
    const policy = { type: 'exponential', initialMs: 1000, maxMs: 60_000, multiplier: 3, jitter: 0.5 } as const;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const exact = Math.min(60_000, 1000 * 3 ** (attempt - 1));
      assert.equal(backoffDelay(policy, attempt, () => 0), exact);
      assert.equal(backoffDelay(policy, attempt, () => 0.999999), Math.round(exact * 0.5000005));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(policy, attempt);
        assert.ok(d >= exact * 0.5 - 0.5 && d <= exact, `attempt ${attempt}: ${d} outside [${exact * 0.5}, ${exact}]`);
      }
    }
  });

  test('fixed and explicit list forms (the last entry repeats)', () => {
    assert.deepEqual([1, 2, 3].map((n) => backoffDelay({ type: 'fixed', ms: 250 }, n)), [250, 250, 250]);
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay([10, 20, 50], n)), [10, 20, 50, 50, 50]);
  });

  test('policies survive storage: compact text, every value under 64 bytes for a default job', () => {
    const policies: BackoffPolicy[] = [
      { type: 'exponential', initialMs: 1000, maxMs: 3_600_000, multiplier: 2, jitter: 0.2 },
      { type: 'exponential', initialMs: 0, maxMs: 10, multiplier: 1.5, jitter: 0 },
      { type: 'fixed', ms: 250 },
      [10, 20, 50],
    ];
    for (const p of policies) assert.deepEqual(decodeBackoff(encodeBackoff(p)), p);
    assert.ok(encodeBackoff(policies[0]!).length <= 64);
    assert.deepEqual(decodeBackoff('{"type":"fixed","ms":5}'), { type: 'fixed', ms: 5 }, 'JSON from older jobs still reads');
  });

  test('a failed job waits exactly its back-off in Redis, then retries; the last failure goes dead', async () => {
    const clock = manualClock();
    const { queue, consumer } = pair('backoff-redis', clock);
    const { id } = await queue.enqueue('noop', null, { attempts: 3, backoff: [300, 700] });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { jobs } = await consumer.lease('w', 1, 10_000);
      assert.equal(jobs.length, 1, `attempt ${attempt} leased`);
      assert.equal(jobs[0]!.attempt, attempt);
      const failedAt = clock();
      const outcome = await consumer.fail([{ job: jobs[0]!, error: new Error(`boom ${attempt}`) }]);
      const job = await queue.getJob(id);
      if (attempt < 3) {
        assert.deepEqual(outcome.retried, [id]);
        assert.equal(job!.state, 'delayed');
        delays.push(job!.runAt! - failedAt);
        clock.set(job!.runAt! - 1);
        assert.equal((await consumer.lease('w', 1, 10_000)).jobs.length, 0, 'not before its back-off');
        clock.advance(1);
      } else {
        assert.deepEqual(outcome.dead, [id]);
        assert.equal(job!.state, 'dead');
        assert.equal(job!.error!.message, 'boom 3');
        assert.deepEqual(job!.errors.map((e) => e.message), ['boom 1', 'boom 2', 'boom 3']);
      }
    }
    assert.deepEqual(delays, [300, 700]);
  });

  test('unrecoverable goes straight to dead; retryAfterMs overrides the policy', async () => {
    const clock = manualClock();
    const { queue, consumer } = pair('unrecoverable', clock);
    const a = await queue.enqueue('noop', 'a', { attempts: 5 });
    const b = await queue.enqueue('noop', 'b', { attempts: 5, backoff: { type: 'fixed', ms: 10 } });
    const { jobs } = await consumer.lease('w', 2, 10_000);
    const outcome = await consumer.fail([
      { job: jobs[0]!, error: new Error('corrupt'), unrecoverable: true },
      { job: jobs[1]!, error: new Error('busy'), retryAfterMs: 5000 },
    ]);
    assert.deepEqual(outcome, { lost: [], dead: [a.id], retried: [b.id] });
    assert.equal((await queue.getJob(b.id))!.runAt, clock() + 5000);
  });
});

async function drain(consumer: QueueConsumer, owner: string, seen: string[], batch: () => number): Promise<void> {
  for (;;) {
    const { jobs } = await consumer.lease(owner, batch(), 60_000);
    if (jobs.length === 0) return;
    for (const job of jobs) seen.push(job.id);
    const lost = await consumer.complete(jobs.map((job) => ({ lease: job.lease, result: owner })));
    assert.deepEqual(lost, []);
  }
}

describe('concurrent leasers', () => {
  test('8 leasers over 10,000 jobs: each job leased exactly once while no lease expires', async () => {
    const { name, queue, options } = pair('eight');
    const total = 10_000;
    const specs = Array.from({ length: total }, (_, i) => ({ processor: 'noop', data: i, options: { keepCompleted: { count: total } } }));
    const created = await queue.enqueueMany(specs);
    assert.equal(created.length, total);
    const consumers = Array.from({ length: 8 }, () => new QueueConsumer(name, options));
    open.push(...consumers);
    const seen: string[][] = consumers.map(() => []);
    await Promise.all(consumers.map((c, i) => drain(c, `w${i}`, seen[i]!, () => 1 + Math.floor(Math.random() * 64))));
    const all = seen.flat();
    assert.equal(all.length, total, 'leases handed out');
    assert.equal(new Set(all).size, total, 'no job leased twice');
    assert.deepEqual(new Set(all), new Set(created.map((c) => c.id)));
    assert.ok(seen.filter((s) => s.length > 0).length >= 2, 'work was shared between leasers');
    const counts = await queue.counts();
    assert.equal(counts.completed, total);
    assert.equal(counts.pending + counts.active + counts.delayed + counts.dead, 0);
  });

  test('leases forced to expire: every job completes exactly once in effect, stale holders are refused', async () => {
    const clock = manualClock();
    const { name, queue, options } = pair('expire', clock);
    const total = 2000;
    await queue.enqueueMany(Array.from({ length: total }, (_, i) => ({ processor: 'noop', data: i, options: { attempts: 5, keepCompleted: { count: total } } })));
    const make = () => {
      const c = new QueueConsumer(name, options);
      open.push(c);
      return c;
    };
    const stale = Array.from({ length: 8 }, make);
    const fresh = Array.from({ length: 8 }, make);

    // Stale holders take everything, then stop renewing (a stalled or killed supervisor).
    const staleJobs: LeasedJob[][] = stale.map(() => []);
    await Promise.all(
      stale.map(async (c, i) => {
        for (;;) {
          const { jobs } = await c.lease(`stale${i}`, 50, 1000);
          if (jobs.length === 0) return;
          staleJobs[i]!.push(...jobs);
        }
      }),
    );
    assert.equal(staleJobs.flat().length, total);

    clock.advance(1001);
    const reclaimed = await stale[0]!.reclaim(total);
    assert.equal(reclaimed.requeued.length, total);
    assert.equal(reclaimed.dead.length, 0);

    // Fresh holders drain while the stale ones wake up and try to renew and complete, concurrently.
    const freshSeen: string[][] = fresh.map(() => []);
    const staleOutcomes = await Promise.all([
      ...fresh.map((c, i) => drain(c, `fresh${i}`, freshSeen[i]!, () => 25).then(() => null)),
      ...stale.map(async (c, i) => {
        const leases = staleJobs[i]!.map((j) => j.lease);
        const lostOnRenew = await c.renew(`stale${i}`, leases, 1000);
        const lostOnComplete = await c.complete(leases.map((lease) => ({ lease, result: `stale${i}` })));
        return { leases: leases.length, lostOnRenew: lostOnRenew.length, lostOnComplete: lostOnComplete.length };
      }),
    ]);
    for (const o of staleOutcomes.filter((x) => x !== null)) {
      assert.equal(o.lostOnRenew, o.leases, 'every stale renew refused');
      assert.equal(o.lostOnComplete, o.leases, 'every stale complete refused');
    }
    assert.equal(new Set(freshSeen.flat()).size, total);
    assert.equal(freshSeen.flat().length, total);

    const counts = await queue.counts();
    assert.equal(counts.completed, total);
    const done = await queue.listJobs('completed', { limit: total });
    assert.equal(done.length, total);
    for (const job of done) {
      assert.match(String(job.result), /^fresh\d$/, `job ${job.id} kept a fresh result`);
      assert.equal(job.attempts, 2);
      assert.equal(job.leaseExpiries, 1);
    }
  });
});

describe('renew, reclaim and release', () => {
  test('renew extends the deadline so reclaim leaves the job alone', async () => {
    const clock = manualClock();
    const { queue, consumer } = pair('renew', clock);
    const { id } = await queue.enqueue('noop', null);
    const { jobs } = await consumer.lease('w', 1, 1000);
    clock.advance(900);
    assert.deepEqual(await consumer.renew('w', [jobs[0]!.lease], 1000), []);
    assert.equal(jobs[0]!.lease.deadline, clock() + 1000);
    clock.advance(900);
    assert.deepEqual(await consumer.reclaim(), { requeued: [], dead: [] });
    assert.equal((await queue.getJob(id))!.state, 'active');
    assert.deepEqual(await consumer.complete([{ lease: jobs[0]!.lease, result: 1 }]), []);
  });

  test('a job whose lease keeps expiring ends dead with "lease expired N times"', async () => {
    const clock = manualClock();
    const { queue, consumer } = pair('reclaim-dead', clock);
    const { id } = await queue.enqueue('noop', null, { attempts: 2 });
    for (let round = 1; round <= 2; round++) {
      const { jobs } = await consumer.lease('doomed', 1, 1000);
      assert.equal(jobs[0]!.attempt, round);
      clock.advance(1000);
      const outcome = await consumer.reclaim();
      assert.deepEqual(outcome, round === 1 ? { requeued: [id], dead: [] } : { requeued: [], dead: [id] });
    }
    const job = await queue.getJob(id);
    assert.equal(job!.state, 'dead');
    assert.equal(job!.error!.code, 'LEASE_EXPIRED');
    assert.match(job!.error!.message, /^lease expired 2 times/);
    assert.equal(job!.errors.length, 2);
  });

  test('release gives jobs back to the front, in order, without using an attempt', async () => {
    const { queue, consumer } = pair('release');
    await queue.enqueueMany(['a', 'b', 'c', 'd'].map((data) => ({ processor: 'noop', data })));
    const first = await consumer.lease('w', 2, 10_000);
    assert.deepEqual(first.jobs.map((j) => j.data), ['a', 'b']);
    assert.deepEqual(await consumer.release(first.jobs.map((j) => j.lease)), []);
    const again = await consumer.lease('w', 4, 10_000);
    assert.deepEqual(again.jobs.map((j) => j.data), ['a', 'b', 'c', 'd']);
    assert.deepEqual(again.jobs.map((j) => j.attempt), [1, 1, 1, 1]);
    // The first leases' release sent again (as after a lost reply) is recognised as already
    // done: reported as released, and it changes nothing for the jobs' new leases.
    assert.deepEqual(await consumer.release(first.jobs.map((j) => j.lease)), [], 'a repeat of a release that was written');
    assert.equal((await queue.counts()).active, 4, 'the new leases are untouched');
    const stale = first.jobs.map((j) => new Lease(j.id, String(Number(j.lease.token) + 1000), 0));
    assert.deepEqual(await consumer.release(stale), stale.map((l) => l.id).reverse(), 'a token that never held the job is refused');
    assert.equal((await queue.counts()).active, 4);
  });

  test('tokens grow with every lease of the same job', async () => {
    const { queue, consumer } = pair('tokens');
    await queue.enqueue('noop', null);
    const a = (await consumer.lease('w', 1, 10_000)).jobs[0]!;
    await consumer.release([a.lease], { refundAttempt: false });
    const b = (await consumer.lease('w', 1, 10_000)).jobs[0]!;
    assert.ok(Number(b.lease.token) > Number(a.lease.token));
    assert.equal(b.attempt, 2);
    assert.deepEqual(await consumer.complete([{ lease: a.lease, result: 'late' }]), [a.id]);
    assert.deepEqual(await consumer.complete([{ lease: b.lease, result: 'ok' }]), []);
    assert.equal((await queue.getJob(a.id))!.result, 'ok');
  });
});

describe('wake-up', () => {
  test('an idle consumer blocked on the wake key is woken by an enqueue', async () => {
    const { queue, consumer } = pair('wake');
    assert.equal(await consumer.waitForWork(150), false, 'nothing to do: times out');
    const woken = consumer.waitForWork(30_000);
    setTimeout(() => void queue.enqueue('noop', null), 50);
    assert.equal(await woken, true);
    assert.equal((await consumer.lease('w', 10, 10_000)).jobs.length, 1);
  });

  test('a full batch passes the wake on to the next idle consumer', async () => {
    const { name, queue, consumer, options } = pair('wake-chain');
    const other = new QueueConsumer(name, options);
    open.push(other);
    const firstWoken = consumer.waitForWork(30_000);
    await queue.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ processor: 'noop', data: i })));
    assert.equal(await firstWoken, true);
    const secondWoken = other.waitForWork(30_000);
    const batch = await consumer.lease('a', 10, 10_000);
    assert.equal(batch.jobs.length, 10);
    assert.equal(await secondWoken, true, 'the second consumer was woken for the rest');
    assert.equal((await other.lease('b', 100, 10_000)).jobs.length, 20);
  });

  test('pause stops leasing; resume wakes a blocked consumer', async () => {
    const { queue, consumer } = pair('pause-wake');
    await queue.enqueue('noop', null);
    await queue.pause();
    const paused = await consumer.lease('w', 10, 10_000);
    assert.equal(paused.paused, true);
    assert.equal(paused.jobs.length, 0);
    await consumer.waitForWork(10); // consume the enqueue's wake token
    const woken = consumer.waitForWork(30_000);
    setTimeout(() => void queue.resume(), 50);
    assert.equal(await woken, true);
    assert.equal((await consumer.lease('w', 10, 10_000)).jobs.length, 1);
  });
});
