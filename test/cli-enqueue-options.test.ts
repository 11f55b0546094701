/**
 * `troupe enqueue --metadata / --dedupe-key / --backoff` through the real CLI against a private
 * Redis: each reaches the stored job in the form the Queue API stores, and bad values exit 2
 * naming the flag, writing nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Queue } from '../src/queue/index.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { runCli } from './helpers/supervisor-process.js';

const fx = usePrivateRedis();
const QUEUE = 'cli-enqueue';

function enqueue(...args: string[]) {
  return runCli(['enqueue', QUEUE, 'echo', ...args], { TROUPE_REDIS_URL: fx.redis.url });
}

async function withQueue<T>(fn: (q: Queue) => Promise<T>): Promise<T> {
  const q = new Queue(QUEUE, { connection: fx.redis.url });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

describe('troupe enqueue: metadata, dedupe key and back-off', () => {
  test('--metadata (a JSON object) and --dedupe-key are stored on the job; a second enqueue with the key coalesces', async () => {
    const run = await enqueue('--id', 'm-1', '--metadata', '{"tenant":"acme","trace":{"id":7}}', '--dedupe-key', 'report:acme', '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [{ id: 'm-1', outcome: 'created', state: 'pending' }]);
    const job = await withQueue((q) => q.getJob('m-1'));
    assert.deepEqual(job?.metadata, { tenant: 'acme', trace: { id: 7 } });
    assert.equal(job?.dedupeKey, 'report:acme');
    const again = await enqueue('--dedupe-key', 'report:acme', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), [{ id: 'm-1', outcome: 'coalesced', state: 'pending' }]);
  });

  test('--backoff takes the Queue API\'s JSON forms and the short text forms', async () => {
    const cases: Array<[string, unknown]> = [
      ['{"type":"fixed","ms":250}', { type: 'fixed', ms: 250 }],
      ['[1000,5000,30000]', [1000, 5000, 30000]],
      ['{"type":"exponential","initialMs":10}', { type: 'exponential', initialMs: 10, maxMs: 3_600_000, multiplier: 2, jitter: 0.2 }],
      ['fixed:500', { type: 'fixed', ms: 500 }],
      ['list:100,200', [100, 200]],
      ['exp:2000:60000', { type: 'exponential', initialMs: 2000, maxMs: 60_000, multiplier: 2, jitter: 0.2 }],
      ['exp:100:1000:3:0', { type: 'exponential', initialMs: 100, maxMs: 1000, multiplier: 3, jitter: 0 }],
    ];
    for (const [i, [flag, stored]] of cases.entries()) {
      const run = await enqueue('--id', `b-${i}`, '--backoff', flag);
      assert.equal(run.code, 0, `${flag}: ${run.stderr}`);
      const job = await withQueue((q) => q.getJob(`b-${i}`));
      assert.deepEqual(job?.backoff, stored, flag);
    }
  });

  test('bad values exit 2 with the flag and the fix named, and write nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--metadata', '{tenant'], /--metadata is not valid JSON .*e\.g\. --metadata '\{"tenant":"acme"\}'/],
      [['--metadata', '[1,2]'], /--metadata must be a JSON object .*got an array/],
      [['--metadata', '"acme"'], /--metadata must be a JSON object .*got a string/],
      [['--dedupe-key', ''], /--dedupe-key: must be a non-empty string of at most 512 characters/],
      [['--dedupe-key', 'k'.repeat(513)], /--dedupe-key: must be a non-empty string of at most 512 characters/],
      [['--backoff', 'fixed:-1'], /--backoff: ms must be a whole number from 0 to \d+, got -1/],
      [['--backoff', 'fixed:soon'], /--backoff: "soon" in fixed:soon is not a number/],
      [['--backoff', 'exp:5000:1000'], /--backoff: maxMs must be at least initialMs \(5000\)/],
      [['--backoff', 'linear:5'], /--backoff: "linear:5" is not a back-off policy; give fixed:MS, list:MS,MS,\.\.\., exp:INITIAL_MS\[:MAX_MS\[:MULTIPLIER\[:JITTER\]\]\] or the JSON forms/],
      [['--backoff', '{"type":"fixed"'], /--backoff is not valid JSON/],
      [['--backoff', '{"type":"linear"}'], /--backoff: type must be "exponential" or "fixed", got "linear"/],
      [['--backoff', '[]'], /--backoff: an explicit delay list needs at least one delay/],
    ];
    for (const [args, message] of cases) {
      const run = await enqueue('--id', 'never', ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: exit ${run.code}, ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    assert.equal(await withQueue((q) => q.getJob('never')), null);
  });
});
