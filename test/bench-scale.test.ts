/**
 * The scale bench (bench/scale.ts): its Redis parsers, its depth part on small queues and its
 * queue-count part with a real compiled supervisor. Checks the work done and the shape of the
 * result, never timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { buildForBench, type BenchBuild } from '../bench/lib/e2e-build.js';
import { DEPTH_OWNER } from '../bench/lib/scale-depth.js';
import { spread } from '../bench/lib/scale-queues.js';
import { byLastCommand, parseClientList, parseMemoryInfo, parseSlowlog, scriptTimes } from '../bench/lib/scale-redis.js';
import { CompletionReader } from '../bench/lib/scale-supervisor.js';
import { depthTable, memoryTable, queuesDrainTable, queuesIdleTable, scaleTargets, scriptTable } from '../bench/lib/scale-tables.js';
import { measureDepth, measureQueues } from '../bench/scale.js';
import { queueKeys } from '../src/queue/keys.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';

const quiet = { log: () => {}, progress: () => ({ tick: () => {}, done: () => {} }) };

describe('what the scale bench reads from Redis', () => {
  test('INFO memory, CLIENT LIST and its grouping by last command', () => {
    assert.deepEqual(parseMemoryInfo('# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:4194304\r\n'), { used: 1048576, rss: 4194304 });
    assert.throws(() => parseMemoryInfo('# Memory\r\n'), /used_memory/);
    const clients = parseClientList(
      [
        'id=3 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name= age=9 idle=0 flags=N db=0 cmd=client|list user=default',
        'id=7 addr=127.0.0.1:5001 laddr=127.0.0.1:6379 fd=9 name= age=5 idle=5 flags=b db=0 cmd=blpop user=default',
        'id=8 addr=127.0.0.1:5002 laddr=127.0.0.1:6379 fd=10 name= age=5 idle=5 flags=b db=0 cmd=blpop user=default',
        '',
      ].join('\n'),
    );
    assert.deepEqual(clients.map((c) => [c.id, c.cmd]), [['3', 'client|list'], ['7', 'blpop'], ['8', 'blpop']]);
    assert.equal(byLastCommand(clients), 'blpop 2, client|list 1');
  });

  test('SLOWLOG entries split into lease and complete calls by the owner argument; commands run inside scripts are left out', () => {
    const entries = parseSlowlog([
      [3, 1700000000, 900, ['EVALSHA', 'abc', '12', 'k', 'troupe:{q}:', '1700', DEPTH_OWNER, '128'], '127.0.0.1:5000', ''],
      [2, 1700000000, 12, ['HMGET', 'troupe:{q}:job:1', 'token'], '?:0', ''],
      [1, 1700000000, 400, ['EVALSHA', 'def', '11', 'k', 'troupe:{q}:', '1700', '10000', 'id', '1', 'null', 'json'], '127.0.0.1:5000', ''],
    ]);
    assert.deepEqual(scriptTimes(entries, DEPTH_OWNER), { lease: [900], complete: [400] });
    assert.throws(() => parseSlowlog('nope'), /list/);
  });

  test('jobs spread evenly over queues, the remainder on the first ones', () => {
    assert.deepEqual(spread(10, 3), [4, 3, 3]);
    assert.deepEqual(spread(2, 4), [1, 1, 0, 0]);
    assert.equal(spread(60_000, 100).reduce((a, b) => a + b, 0), 60_000);
  });
});

describe('the completion reader counts completed jobs from the events streams', () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(SHARED_REDIS_URL);
  });
  after(async () => {
    await redis.quit();
  });

  test('counts the ids of completed entries after its mark, and throws on any other event', async () => {
    const queues = [uniqueQueue('scale-reader'), uniqueQueue('scale-reader')];
    const [a, b] = queues.map((q) => queueKeys(q).events) as [string, string];
    const reader = await CompletionReader.open(SHARED_REDIS_URL, queues);
    try {
      await redis.xadd(a, '*', 'type', 'completed', 'ids', 'old-1 old-2');
      await reader.mark();
      await redis.xadd(a, '*', 'type', 'completed', 'ids', 'j1 j2 j3');
      await redis.xadd(b, '*', 'type', 'completed', 'ids', 'j4');
      await reader.waitFor(4, 5_000, () => {});
      await redis.xadd(b, '*', 'type', 'dead', 'ids', 'j5');
      await assert.rejects(reader.waitFor(1, 5_000, () => {}), /"dead" event/);
      await assert.rejects(reader.waitFor(1, 600, () => {}), /0 of 1 jobs completed/);
    } finally {
      await reader.close();
      await redis.del(a, b);
    }
  });
});

describe('the scale bench on small sizes', () => {
  test('depth part: every slice leases and completes its jobs at each depth, memory and script times are read', async () => {
    const config = { depths: [300, 3_000], slice: 256, rounds: 2, warmJobs: 128, scriptJobs: 256, scriptRounds: 2 };
    const m = await measureDepth(quiet, config);
    assert.equal(m.rounds.length, 2);
    for (const round of m.rounds) {
      assert.deepEqual([...round.keys()].sort((x, y) => x - y), config.depths);
      for (const slice of round.values()) {
        assert.equal(slice.jobs, 256);
        // 256 jobs in batches of 128: 2 lease and 2 complete calls, nothing else sent by the client.
        assert.equal(slice.counts.calls.get('evalsha'), 4);
        assert.ok(slice.leaseSeconds > 0 && slice.completeSeconds > 0);
      }
    }
    for (const d of config.depths) {
      const fill = m.fills.get(d)!;
      assert.ok(fill.after.used > fill.before.used, `memory grew with ${d} jobs`);
      assert.deepEqual([m.scripts.get(d)!.lease.length, m.scripts.get(d)!.complete.length], [4, 4], "2 passes of 2 lease and 2 complete calls");
    }
    assert.equal(depthTable(m).rows.length, 2);
    assert.equal(scriptTable(m).rows.length, 2);
    assert.equal(memoryTable(m).rows.length, 2);
    const [target] = scaleTargets(m);
    assert.match(target!.target, /3,000 pending vs 300/);
  });

  describe('queue-count part, with the compiled supervisor', () => {
    let build: BenchBuild;
    before(async () => {
      build = await buildForBench();
    });
    after(() => build?.remove());

    test('each queue count drains every job; the supervisor\'s connections and its idle window are read', async () => {
      const config = { counts: [1, 10], jobs: 400, warmJobs: 20, idleMs: 500, rounds: 1 };
      const m = await measureQueues(quiet, config, build.cliEntry);
      assert.equal(m.rounds.length, 1);
      assert.equal(m.baseline.length, 1);
      for (const q of config.counts) {
        const p = m.rounds[0]!.get(q)!;
        assert.equal(p.queues, q);
        assert.equal(p.jobs, 400);
        assert.ok(p.drainSeconds > 0, `drain took ${p.drainSeconds} s`);
        assert.ok((p.drainCounts.calls.get('evalsha') ?? 0) > 0, 'the drain ran scripts');
        // The supervisor holds at least one connection of its own, and none of the bench's is counted.
        assert.ok(p.connectionsIdle.length >= 1, `${q} queues: no connection of the supervisor's found idle (${JSON.stringify(p.connectionsIdle)})`);
        assert.ok(p.connectionsIdle.every((c) => c.cmd !== 'client|list' && c.cmd !== 'xread'), JSON.stringify(p.connectionsIdle));
        assert.ok(p.idle.seconds >= 0.5 && p.idle.supervisorCpuSeconds !== undefined, `idle window ${JSON.stringify(p.idle)}`);
      }
      assert.equal(queuesDrainTable(m).rows.length, 2);
      // One row for Redis alone, then one per queue count.
      assert.equal(queuesIdleTable(m).rows.length, 3);
    });
  });
});
