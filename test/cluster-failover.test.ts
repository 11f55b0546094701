/**
 * Redis Cluster failover, measured: a real 6-node cluster (3 masters, 3 replicas) of this test's
 * own, two supervisor processes, and kill -9 of the master that owns the busy queue's slot in the
 * middle of the run. Nothing may be lost; a job may run twice only where its lease was lost.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Queue } from '../src/index.js';
import { queueKeys } from '../src/queue/keys.js';
import { startRedisCluster, type TestCluster } from './helpers/redis-cluster.js';
import { countRuns, drained, firstCompletionAfter } from './helpers/runs.js';
import { eventually, PLUGIN_DIR, readRecord, SupervisorProcess } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function cluster(): Promise<TestCluster> {
  const c = await startRedisCluster();
  cleanup.push(() => c.destroy());
  return c;
}

function tempFile(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `troupe-${label}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'runs.txt');
}

function supervisor(url: string, queues: string, record: string, extra: string[] = []): SupervisorProcess {
  const s = new SupervisorProcess(
    ['--queues', queues, '--threads', '2', '--plugin', join(PLUGIN_DIR, 'record.mjs'), '--lease-ms', '4000', '--heartbeat-ms', '500', '--http-port', '0', ...extra],
    { TROUPE_REDIS_URL: url, TROUPE_TEST_RECORD: record },
  );
  cleanup.push(() => s.kill());
  return s;
}

test('kill -9 of the master owning a busy queue mid-run: every job completes, doubles only where a lease was lost, supervisors recover by themselves', async (t) => {
  const c = await cluster();
  const record = tempFile('cluster-kill');
  const queue = new Queue('busy', { connection: c.url });
  cleanup.push(() => queue.close());
  const a = supervisor(c.url, 'busy', record);
  const b = supervisor(c.url, 'busy', record);
  await Promise.all([a.started(), b.started()]);

  const total = 4000;
  const results = await queue.enqueueMany(
    Array.from({ length: total }, (_, i) => ({ processor: 'record', data: { i, ms: 4 }, options: { keepCompleted: { count: total }, attempts: 10 } })),
  );
  const ids = results.map((r) => r.id);
  const master = await c.masterForKey(queueKeys('busy').meta);
  // The replica must hold the enqueues before the kill: this test is about runs, not lost writes.
  const replica = (await c.replicasOf(master))[0]!;
  await c.waitForHealthy();

  await eventually(async () => readRecord(record).length >= total / 5, 60_000, 'a fifth of the jobs to run');
  const before = (await queue.counts()).completed;
  const killedAt = Date.now();
  await c.kill(master, 'SIGKILL');
  const failoverMs = await c.waitForFailover(master, 30_000);
  const recoveryMs = await firstCompletionAfter(queue, before, killedAt, 60_000);

  await drained(queue, 120_000);
  const count = await countRuns(queue, ids, record, [a, b]);
  t.diagnostic(
    `cluster kill -9 of ${master.host}:${master.port} (replica ${replica.port} promoted in ${failoverMs} ms): ` +
      `first completion ${recoveryMs} ms after the kill; ${count.completed}/${total} completed, ${count.lost.length} lost, ` +
      `${count.doubled.length} ran twice (${count.reclaimed} leases reclaimed, ${count.reportedLost} reported lost)`,
  );
  assert.equal(count.lost.length, 0, `jobs lost: ${count.lost.slice(0, 5).join(', ')}`);
  assert.deepEqual(count.unexplained, [], 'a job ran twice without its lease being lost');

  // Both recovered without a restart: still the same processes, and both still take work.
  const after = await queue.enqueueMany(Array.from({ length: 200 }, (_, i) => ({ processor: 'record', data: { after: i } })));
  for (const r of after) assert.deepEqual(await queue.waitForResult(r.id, { timeoutMs: 30_000 }), { ok: true });
  assert.equal(a.child.exitCode, null);
  assert.equal(b.child.exitCode, null);
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
});
