/**
 * The end-to-end and resources benches' own machinery: /proc parsing, the child protocol's
 * checks, the per-thread fit, and a consumer child draining real jobs through the protocol
 * (compiled, as the benches run it). Nothing here times anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildForBench, type BenchBuild } from '../bench/lib/e2e-build.js';
import { ConsumerProcess } from '../bench/lib/e2e-host.js';
import { openProducer } from '../bench/lib/e2e-producers.js';
import { isChildMessage, isParentMessage, parseConsumerSpec, type ConsumerKind } from '../bench/lib/e2e-protocol.js';
import { fitLine } from '../bench/lib/rss-idle.js';
import { parseProcStatCpu, parseProcStatus, readCpuSeconds, readProcStatus } from '../bench/lib/rss-proc.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

const STATUS = `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t 1234567 kB
VmHWM:\t  160432 kB
VmRSS:\t  121780 kB
RssAnon:\t   80000 kB
Threads:\t13
`;

describe('/proc parsing', () => {
  test('status: RSS, peak and thread count in KiB', () => {
    assert.deepEqual(parseProcStatus(STATUS), { rssKb: 121780, hwmKb: 160432, threads: 13 });
  });

  test('status without VmRSS (a kernel thread or a zombie) is an error, not zero', () => {
    assert.throws(() => parseProcStatus('Name:\tkworker\nThreads:\t1\n'), /VmRSS/);
  });

  test('stat: utime and stime counted from the last parenthesis, whatever the command name holds', () => {
    const tail = 'S 1 2 3 4 5 6 7 8 9 10 417 93 0 0 20 0 13 0 100 200';
    assert.deepEqual(parseProcStatCpu(`4242 (node) ${tail}`), { user: 417, system: 93 });
    assert.deepEqual(parseProcStatCpu(`4242 (we (ird) name) ${tail}`), { user: 417, system: 93 });
  });

  test('this process reads as itself', () => {
    const status = readProcStatus(process.pid);
    assert.ok(status.rssKb > 1000 && status.hwmKb >= status.rssKb, JSON.stringify(status));
    assert.ok(status.threads >= 1);
    assert.ok(readCpuSeconds(process.pid) > 0);
  });
});

describe('child protocol checks', () => {
  const spec = { kind: 'troupe', redisUrl: 'redis://127.0.0.1:6379', queue: 'q', concurrency: 2, warmJobs: 10, processorFile: '/x.cjs' };

  test('a complete spec passes; each wrong field is named', () => {
    assert.deepEqual(parseConsumerSpec(JSON.stringify(spec)), spec);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ kind: 'sidekiq' }, /unknown consumer kind sidekiq/],
      [{ queue: 7 }, /spec\.queue/],
      [{ concurrency: 0 }, /concurrency must be at least 1/],
      [{ warmJobs: 1.5 }, /spec\.warmJobs/],
    ];
    for (const [change, message] of cases) assert.throws(() => parseConsumerSpec(JSON.stringify({ ...spec, ...change })), message);
    assert.throws(() => parseConsumerSpec(undefined), /usage/);
  });

  test('messages are recognised by shape', () => {
    assert.ok(isChildMessage({ type: 'done', jobs: 3 }));
    assert.ok(!isChildMessage({ type: 'done' }));
    assert.ok(!isChildMessage({ type: 'go', jobs: 3 }));
    assert.ok(isParentMessage({ type: 'go', jobs: 3 }));
    assert.ok(isParentMessage({ type: 'stop' }));
    assert.ok(!isParentMessage({ type: 'ready' }));
  });
});

test('fitLine: slope and intercept of RSS against threads', () => {
  const { slope, intercept } = fitLine([
    [1, 100],
    [2, 110],
    [4, 130],
  ]);
  assert.ok(Math.abs(slope - 10) < 1e-9, String(slope));
  assert.ok(Math.abs(intercept - 90) < 1e-9, String(intercept));
  assert.ok(Number.isNaN(fitLine([[2, 5]]).slope));
});

describe('a consumer child drains real jobs through the protocol', () => {
  let build: BenchBuild;
  before(async () => {
    build = await buildForBench();
  });
  after(() => build?.remove());

  const WARM = 20;
  const JOBS = 300;
  const kinds: ConsumerKind[] = ['troupe', 'bee-queue', 'bullmq-inline'];
  for (const kind of kinds) {
    test(kind, async () => {
      const queue = uniqueQueue(`bench-e2e-${kind}`);
      const producer = openProducer(kind, SHARED_REDIS_URL, queue);
      let consumer: ConsumerProcess | undefined;
      try {
        await producer.enqueue(WARM);
        const concurrency = kind === 'troupe' ? 2 : 10;
        consumer = await ConsumerProcess.start(build.childEntry, { kind, redisUrl: SHARED_REDIS_URL, queue, concurrency, warmJobs: WARM, processorFile: build.processorFile });
        // Paused after warm-up: what is enqueued now waits for `go`.
        await producer.enqueue(JOBS);
        assert.equal(await producer.drained(), false);
        await consumer.drain(JOBS);
        await producer.verifyDrained();
        await consumer.stop();
      } finally {
        consumer?.kill();
        await producer.close();
      }
    });
  }

  test('a child that fails reports why, and the bench side rejects with it', async () => {
    // A kind the child does not know: it fails before touching Redis.
    const kind = 'sidekiq' as unknown as ConsumerKind;
    const spec = { kind, redisUrl: SHARED_REDIS_URL, queue: uniqueQueue('bench-e2e-bad'), concurrency: 1, warmJobs: 1, processorFile: build.processorFile };
    await assert.rejects(ConsumerProcess.start(build.childEntry, spec, 30_000), /consumer failed: .*unknown consumer kind sidekiq/);
  });
});
