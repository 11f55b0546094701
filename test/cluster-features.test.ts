/**
 * Every feature on a real Redis Cluster (3 masters, 3 replicas, started here): queues on three
 * shards served by one supervisor process, and the CLI, the scheduler, the registry, merged
 * metrics, maintenance, follow-ups across shards, dedupe, resource pauses, the DLQ and tune.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { Queue } from '../src/index.js';
import { createRedis, type RedisClient } from '../src/queue/connection.js';
import { queueKeys } from '../src/queue/keys.js';
import { probeRedis } from '../src/queue/redis-probe.js';
import { runMaintenance } from '../src/processors/maintenance.js';
import { SCHEDULE_KEYS } from '../src/scheduler/keys.js';
import { freePort } from './helpers/redis-server.js';
import { startRedisCluster, type TestCluster } from './helpers/redis-cluster.js';
import { eventually, PLUGIN_DIR, runCli, SupervisorProcess } from './helpers/supervisor-process.js';

describe('on a Redis Cluster', () => {
  let c: TestCluster;
  let client: RedisClient;
  let supervisor: SupervisorProcess;
  let httpPort: number;
  /** Three queues whose slots are on three different masters. */
  let spread: [string, string, string];
  const queues: Queue[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'troupe-cluster-features-'));

  const open = (name: string) => {
    const q = new Queue(name, { connection: c.url });
    queues.push(q);
    return q;
  };
  const cli = (args: string[]) => runCli([...args, '--redis-url', c.url]);

  before(async () => {
    c = await startRedisCluster();
    client = createRedis(c.url);
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < 3 && i < 200; i++) {
      const name = `shard-${i}`;
      const master = await c.masterForKey(queueKeys(name).meta);
      if (!byMaster.has(master.port)) byMaster.set(master.port, name);
    }
    spread = [...byMaster.values()] as [string, string, string];
    httpPort = await freePort();
    supervisor = new SupervisorProcess(
      ['--queues', spread.join(','), '--threads', '2', '--plugin', join(PLUGIN_DIR, 'parent.mjs'), '--http-port', String(httpPort), '--heartbeat-ms', '500', '--lease-ms', '5000'],
      { TROUPE_REDIS_URL: c.url },
    );
    await supervisor.started();
  });

  after(async () => {
    for (const q of queues) await q.close();
    await supervisor?.kill();
    client?.disconnect();
    await c?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the probe reports a healthy cluster; standalone and wrong forms are refused with the fix', async () => {
    const probe = await probeRedis(c.url);
    assert.deepEqual(probe, { ok: true, topology: 'cluster (3 seeds)', masters: 3 });
    const asStandalone = await probeRedis(`redis://${c.seeds[0]!.host}:${c.seeds[0]!.port}`);
    assert.equal(asStandalone.ok, false);
    assert.match(!asStandalone.ok ? asStandalone.error : '', /is a Redis Cluster node: use redis\+cluster:\/\//);
  });

  test("each queue stays in one slot and the three queues sit on three masters", async () => {
    assert.equal(new Set(spread).size, 3);
    const ports = new Set<number>();
    for (const name of spread) {
      const keys = [...queueKeys(name).scriptKeys, queueKeys(name).job('x'), queueKeys(name).dedupe('k')];
      const slots = new Set(await Promise.all(keys.map((k) => client.cluster('KEYSLOT', k))));
      assert.equal(slots.size, 1, `every key of ${name} hashes to one slot`);
      ports.add((await c.masterForKey(keys[0]!)).port);
    }
    assert.equal(ports.size, 3);
  });

  test('enqueue from the CLI, run, waitForResult, on every shard', async () => {
    for (const name of spread) {
      const run = await cli(['enqueue', name, 'echo', '--data', JSON.stringify({ on: name })]);
      assert.equal(run.code, 0, run.stderr);
      const id = run.stdout.trim();
      assert.deepEqual(await open(name).waitForResult(id, { timeoutMs: 20_000 }), { on: name });
      const job = await cli(['job', id, '--queue', name, '--json']);
      assert.equal(JSON.parse(job.stdout).state, 'completed');
    }
  });

  test('follow-ups land on another shard before the parent completes', async () => {
    const [home, other] = spread;
    const parent = await open(home).enqueue('parent', { otherQueue: other });
    assert.deepEqual(await open(home).waitForResult(parent.id, { timeoutMs: 20_000 }), { spawned: 2 });
    const onOther = await eventually(async () => {
      const done = await open(other).listJobs('completed', { limit: 100 });
      return done.find((j) => (j.data as { from?: string }).from === parent.id);
    }, 20_000, 'the follow-up on the other shard to complete');
    assert.deepEqual(onOther.data, { from: parent.id, step: 2 });
  });

  test('dedupe coalesces and caches on a cluster', async () => {
    const q = open(spread[1]);
    const first = await q.enqueue('sleep', { ms: 300 }, { dedupeKey: 'same', resultTtlMs: 60_000 });
    const second = await q.enqueue('sleep', { ms: 300 }, { dedupeKey: 'same', resultTtlMs: 60_000 });
    assert.equal(second.outcome, 'coalesced');
    assert.equal(second.id, first.id);
    await q.waitForResult(first.id, { timeoutMs: 20_000 });
    const third = await q.enqueue('sleep', { ms: 300 }, { dedupeKey: 'same', resultTtlMs: 60_000 });
    assert.equal(third.outcome, 'cached');
  });

  test('a resource signal pauses its queue, shown by troupe status; resume lifts it', async () => {
    const name = spread[2];
    const q = open(name);
    await q.enqueue('fail', { mode: 'resource', ms: 60_000, message: 'quota gone' });
    const paused = await eventually(async () => (await q.counts()).resourcePause ?? undefined, 20_000, 'the resource pause');
    assert.equal(paused.reason, 'quota gone');
    const status = await cli(['status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { supervisors: Array<{ id: string; queues: string[] }>; pausedQueues: Array<{ queue: string }> };
    assert.ok(parsed.pausedQueues.some((p) => p.queue === name), 'status lists the paused queue');
    assert.equal(parsed.supervisors.length, 1, 'the registry lists the supervisor');
    // The job went back to pending; clear it so the resume is not followed by a new signal.
    await q.clear('pending');
    assert.equal((await cli(['queue', 'resume', name])).code, 0);
    assert.equal((await q.counts()).resourcePause, null);
  });

  test('DLQ from the CLI: list, retry-all, purge', async () => {
    const name = spread[0];
    const q = open(name);
    const dead = await q.enqueue('fail', { mode: 'throw' }, { attempts: 1 });
    await eventually(async () => (await q.getJob(dead.id))?.state === 'dead', 20_000, 'the job to be dead');
    const list = await cli(['dlq', 'list', '--queue', name, '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.ok((JSON.parse(list.stdout) as { jobs: Array<{ id: string }> }).jobs.some((j) => j.id === dead.id), list.stdout);
    const retried = await cli(['dlq', 'retry-all', '--queue', name, '--json']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal((JSON.parse(retried.stdout) as { retried: number }).retried, 1, retried.stdout);
    await eventually(async () => {
      const job = await q.getJob(dead.id);
      return job?.state === 'dead' && job.errors.length === 2;
    }, 20_000, `the retried job to run and die again (now ${JSON.stringify(await q.getJob(dead.id))})`);
    assert.equal((await cli(['dlq', 'purge', '--queue', name, '--yes'])).code, 0);
    assert.equal((await q.counts()).dead, 0);
  });

  test('troupe stats finds the queues on every master, with latency merged across supervisors', async () => {
    const run = await eventually(async () => {
      const r = await cli(['stats', '--json']);
      const out = JSON.parse(r.stdout) as { queues: Record<string, { latency?: unknown }> };
      return spread.every((n) => out.queues[n]) ? out : undefined;
    }, 30_000, 'stats to list all three queues');
    for (const name of spread) assert.ok(run.queues[name], `stats lists ${name}`);
  });

  test('/health and /status of a supervisor on a cluster: healthy, its queues, the cluster named', async () => {
    const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
    assert.equal(health.status, 200);
    const status = (await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()) as { supervisor: { queues: string[]; redis: { url: string; topology: string } } };
    assert.deepEqual([...status.supervisor.queues].sort(), [...spread].sort());
    assert.deepEqual(status.supervisor.redis, { url: c.url, topology: 'cluster (3 seeds)', waitReplicas: 0 });
  });

  test('a schedule fires on a cluster (its keys share the {schedules} slot)', async () => {
    const name = spread[1];
    const add = await cli(['schedule', 'add', 'tick', '--cron', '* * * * * *', '--queue', name, '--processor', 'noop']);
    assert.equal(add.code, 0, add.stderr);
    const slots = new Set(await Promise.all([SCHEDULE_KEYS.names, SCHEDULE_KEYS.version, SCHEDULE_KEYS.pending, SCHEDULE_KEYS.schedule('tick'), SCHEDULE_KEYS.fires('tick')].map((k) => client.cluster('KEYSLOT', k))));
    assert.equal(slots.size, 1);
    const q = open(name);
    await eventually(async () => (await q.listJobs('completed', { limit: 200 })).some((j) => j.id.startsWith('tick@')), 20_000, 'a fire of the schedule to complete');
    assert.equal((await cli(['schedule', 'remove', 'tick'])).code, 0);
  });

  test('maintenance sweeps every master', async () => {
    const report = await runMaintenance(client, { dryRun: true });
    assert.equal(report.dryRun, true);
    // Every queue that finished jobs was found, whichever master holds it.
    const found = await (await import('../src/cli/commands/stats.js')).discoverQueues(client);
    for (const name of spread) assert.ok(found.includes(name), `${name} found on its master`);
    assert.ok(client instanceof Cluster);
  });

  test('troupe tune runs against the cluster and leaves nothing behind', async () => {
    const sample = join(dir, 'echo.json');
    writeFileSync(sample, '{"hello":"world"}');
    const run = await runCli(['tune', 'echo', '--sample', sample, '--max-threads', '1', '--seconds', '0.3', '--redis-url', c.url, '--svg', join(dir, 'tune.svg')], {}, 120_000);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Knee: 1 thread/m);
    const tuneQueue = /on queue (\S+)/.exec(run.stderr)?.[1];
    assert.ok(tuneQueue);
    let left = 0;
    for (const node of (client as Cluster).nodes('master')) left += (await node.keys(`troupe:{${tuneQueue}}:*`)).length;
    assert.equal(left, 0);
  });

  test('the supervisor stops cleanly', async () => {
    supervisor.child.kill('SIGTERM');
    assert.equal(await supervisor.exited, 0);
  });
});
