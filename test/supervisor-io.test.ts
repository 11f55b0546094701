/**
 * Processors that wait on I/O (Processor.concurrency) run in slots of their own, beside the CPU
 * slots: a long wait does not hold back CPU jobs, and no more of them run at once than declared.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { usePrivateRedis } from './helpers/fixture.js';
import { eventually, PLUGIN_DIR, SupervisorProcess } from './helpers/supervisor-process.js';

const fx = usePrivateRedis();

function supervisor(queue: string, extra: string[] = []): SupervisorProcess {
  const s = new SupervisorProcess(['--queues', queue, '--threads', '2', ...extra], { TROUPE_REDIS_URL: fx.redis.url });
  fx.cleanup(() => s.kill());
  return s;
}

const open = fx.openQueue;

test('two long sleeps on a 2-thread supervisor do not hold back CPU jobs leased after them', async () => {
  const queue = open('io-mixed');
  const s = supervisor('io-mixed');
  await s.started();
  const sleeps = await queue.enqueueMany([0, 1].map(() => ({ processor: 'sleep', data: { ms: 6000 } })));
  await eventually(async () => (await Promise.all(sleeps.map((j) => queue.getJob(j.id)))).every((j) => j?.state === 'active'), 10_000, 'both sleeps to start');
  const quick = await queue.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ processor: 'echo', data: i })));
  await eventually(async () => (await Promise.all(quick.map((j) => queue.getJob(j.id)))).every((j) => j?.state === 'completed'), 10_000, 'the echo jobs to complete');
  // Before I/O slots, the echo jobs waited for a sleep to end: here both are still running.
  const states = await Promise.all(sleeps.map(async (j) => (await queue.getJob(j.id))?.state));
  assert.deepEqual(states, ['active', 'active'], 'the CPU jobs did not wait for the sleeps');
  await eventually(async () => (await queue.counts()).completed === 32, 20_000, 'the sleeps to complete');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test("an I/O processor runs at most its concurrency at once, beside CPU work on every thread", async () => {
  const queue = open('io-limit');
  const s = supervisor('io-limit', ['--plugin', join(PLUGIN_DIR, 'waiter.mjs')]);
  await s.started();
  const waits = await queue.enqueueMany(Array.from({ length: 6 }, () => ({ processor: 'waiter', data: { ms: 400 } })));
  // Two CPU jobs that keep both threads busy while the waits run.
  const cpu = await queue.enqueueMany([0, 1].map(() => ({ processor: 'cpu', data: { ms: 1500 } })));
  const results = (await Promise.all(waits.map((j) => queue.waitForResult(j.id, { timeoutMs: 20_000 })))) as Array<{ start: number; end: number }>;
  await Promise.all(cpu.map((j) => queue.waitForResult(j.id, { timeoutMs: 20_000 })));
  // The most waits running at any one start time.
  const overlap = Math.max(...results.map((r) => results.filter((o) => o.start <= r.start && r.start < o.end).length));
  assert.equal(overlap, 2, `at most concurrency (2) at once, and both slots used: ${JSON.stringify(results)}`);
  // Six waits of 400 ms two at a time take about 1.2 s: they ran while the CPU jobs held both threads.
  const first = Math.min(...results.map((r) => r.start));
  const cpuJobs = await Promise.all(cpu.map((j) => queue.getJob(j.id)));
  assert.ok(cpuJobs.every((j) => (j?.startedAt ?? Infinity) <= first + 1000), 'the CPU jobs started while the waits ran, not after');
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('a processor with a bad concurrency stops the start with a message naming the field', async () => {
  const s = supervisor('io-bad', ['--plugin', join(PLUGIN_DIR, 'bad-concurrency.mjs')]);
  assert.equal(await s.exited, 2, s.stderr);
  assert.match(s.stderr, /concurrency must be a whole number from 1 to 10000 .*got 0; leave it out for CPU work/);
});
