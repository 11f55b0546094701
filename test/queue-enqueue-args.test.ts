/**
 * The enqueue script's arguments per job, counted on a real Redis: a tiny job's client-side cost
 * was mostly the arguments ioredis encodes and Redis parses, so their number is part of the hot
 * path (docs/performance.md). Counted with SLOWLOG, which records every command's argument count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENQUEUE_FIELDS } from '../src/queue/job-args.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();

/** SLOWLOG keeps the first 31 arguments and then "... (N more arguments)". */
function argumentCount(entry: unknown[]): number {
  const args = entry[3] as string[];
  const more = /^\.\.\. \((\d+) more arguments\)$/.exec(args[args.length - 1] ?? '');
  return more ? args.length - 1 + Number(more[1]) : args.length;
}

test('an enqueue sends one value per field per job: no field names, however many options the job has', async () => {
  const queue = fx.openQueue('enqueue-args');
  await queue.counts(); // loads nothing, but connects before the log is reset
  await fx.client.config('SET', 'slowlog-log-slower-than', '0');
  await fx.client.config('SET', 'slowlog-max-len', '1000');
  try {
    const jobs = 100;
    await fx.client.slowlog('RESET');
    await queue.enqueueMany(Array.from({ length: jobs }, (_, i) => ({ processor: 'noop', data: { i }, options: { dedupeKey: `k${i}`, metadata: { i }, priority: 'high' as const } })));
    const log = (await fx.client.slowlog('GET', 1000)) as unknown[][];
    const calls = log.filter((entry) => /^(evalsha|eval)$/i.test(String((entry[3] as string[])[0])));
    const sent = calls.map(argumentCount);
    // EVALSHA sha numkeys, the queue's 11 keys (include/queue.lua), then prefix, now, events max
    // length and job count, then the groups.
    const header = 3 + 11 + 4;
    assert.ok(sent.includes(header + jobs * ENQUEUE_FIELDS.length), `enqueue script calls sent ${sent.join(', ')} arguments; expected ${header + jobs * ENQUEUE_FIELDS.length}`);

    // Every field still lands in the job's hash under its name.
    const [first] = await queue.listJobs('pending', { limit: 1 });
    const stored = await fx.client.hgetall(`troupe:{enqueue-args}:job:${first!.id}`);
    for (const field of ['id', 'processor', 'data', 'dataType', 'priority', 'attempts', 'maxAttempts', 'backoff', 'timeoutMs', 'enqueuedAt', 'resultTtlMs', 'keepCompletedAge', 'keepCompletedCount', 'keepDeadAge', 'keepDeadCount', 'dedupeKey', 'metadata', 'state', 'runAt']) {
      assert.ok(field in stored, `job hash lacks ${field}: ${JSON.stringify(stored)}`);
    }
    assert.equal(stored.priority, 'high');
    assert.equal(stored.attempts, '0');
  } finally {
    await fx.client.config('SET', 'slowlog-log-slower-than', '10000');
  }
});
