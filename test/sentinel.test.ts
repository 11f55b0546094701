/**
 * Redis Sentinel, with servers of this test's own (1 master, 1 replica, 3 sentinels): the URL
 * form, its errors, and kill -9 of the master in the middle of a run of two supervisors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from '../src/index.js';
import { probeRedis } from '../src/queue/redis-probe.js';
import { startSentinelGroup, type TestSentinelGroup } from './helpers/redis-sentinel.js';
import { countRuns, drained, firstCompletionAfter } from './helpers/runs.js';
import { eventually, PLUGIN_DIR, readRecord, runCli, SupervisorProcess } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

function supervisor(url: string, record: string, env: NodeJS.ProcessEnv = {}): SupervisorProcess {
  const s = new SupervisorProcess(
    ['--queues', 'work', '--threads', '2', '--plugin', join(PLUGIN_DIR, 'record.mjs'), '--lease-ms', '4000', '--heartbeat-ms', '500', '--http-port', '0'],
    { TROUPE_REDIS_URL: url, TROUPE_TEST_RECORD: record, ...env },
  );
  cleanup.push(() => s.kill());
  return s;
}

describe('Sentinel with passwords on the data nodes and on the sentinels', () => {
  let group: TestSentinelGroup;
  before(async () => {
    group = await startSentinelGroup({ password: 'data-secret', sentinelPassword: 'sentinel-secret' });
    cleanup.push(() => group.destroy());
  });

  test('the right passwords connect; a Queue works through the sentinels', async () => {
    const probe = await probeRedis({ url: group.url, sentinelPassword: 'sentinel-secret' });
    assert.deepEqual(probe, { ok: true, topology: `sentinel master "${group.masterName}" (3 sentinels)`, masters: 1 });
    const queue = new Queue('plain', { connection: { url: group.url, sentinelPassword: 'sentinel-secret' } });
    try {
      const job = await queue.enqueue('echo', { hi: 1 });
      assert.equal((await queue.getJob(job.id))?.state, 'pending');
    } finally {
      await queue.close();
    }
  });

  // A password refused is a setting to fix (exit 2, as for supervise); an unknown master exits 1.
  const failures: Array<{ what: string; args: string[]; env?: NodeJS.ProcessEnv; code: number; message: RegExp }> = [
    {
      what: 'an unknown master name',
      code: 1,
      args: ['--redis-sentinel-password', 'sentinel-secret'],
      env: { URL_MASTER: 'nosuch' },
      message: /no sentinel at redis\+sentinel:\/\/:\*\*\*@.* knows a master named "nosuch" \(they know "troupe-master"\): fix the name after the last \//,
    },
    { what: 'no sentinel password', args: [], code: 2, message: /the server requires a password: add :PASSWORD@.*|sentinel .*NOAUTH/ },
    { what: 'a wrong data password', args: ['--redis-sentinel-password', 'sentinel-secret'], env: { URL_PASSWORD: 'not-the-password' }, code: 2, message: /^troupe: Redis at redis\+sentinel:\/\/:\*\*\*@.*\/troupe-master refused the password \(WRONGPASS .*\): fix USER:PASSWORD@ in --redis-url/ },
  ];
  for (const { what, args, env, code, message } of failures) {
    test(`${what}: exit ${code} with one line that names the cause and the fix, never the password`, async () => {
      let url = group.url;
      if (env?.URL_MASTER) url = url.replace(/\/[^/]+$/, `/${env.URL_MASTER}`);
      if (env?.URL_PASSWORD) url = url.replace(':data-secret@', `:${env.URL_PASSWORD}@`);
      const run = await runCli(['status', '--redis-url', url, ...args]);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
      for (const secret of ['data-secret', 'sentinel-secret', 'not-the-password']) assert.ok(!run.stderr.includes(secret), `no password in: ${run.stderr}`);
    });
  }
});

test('kill -9 of the master mid-run with two supervisors: every job completes, doubles only where a lease was lost', { timeout: 180_000 }, async (t) => {
  const group = await startSentinelGroup();
  cleanup.push(() => group.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'troupe-sentinel-kill-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const record = join(dir, 'runs.txt');
  const queue = new Queue('work', { connection: group.url });
  cleanup.push(() => queue.close());
  const a = supervisor(group.url, record);
  const b = supervisor(group.url, record);
  await Promise.all([a.started(), b.started()]);

  const total = 3000;
  const results = await queue.enqueueMany(
    Array.from({ length: total }, (_, i) => ({ processor: 'record', data: { i, ms: 4 }, options: { keepCompleted: { count: total }, attempts: 10 } })),
  );
  await group.waitForHealthy();
  await eventually(async () => readRecord(record).length >= total / 5, 60_000, 'a fifth of the jobs to run');
  const master = await group.currentMaster();
  const before = (await queue.counts()).completed;
  const killedAt = Date.now();
  await group.kill(master, 'SIGKILL');
  const failoverMs = await group.waitForFailover(master, 30_000);
  const recoveryMs = await firstCompletionAfter(queue, before, killedAt, 60_000);
  await drained(queue, 120_000);

  const count = await countRuns(queue, results.map((r) => r.id), record, [a, b]);
  t.diagnostic(
    `sentinel kill -9 of ${master.port}: sentinels promoted the replica in ${failoverMs} ms; first completion ${recoveryMs} ms after the kill; ` +
      `${count.completed}/${total} completed, ${count.lost.length} lost, ${count.doubled.length} ran twice ` +
      `(${count.reclaimed} leases reclaimed, ${count.reportedLost} reported lost)`,
  );
  assert.equal(count.lost.length, 0, `jobs lost: ${count.lost.slice(0, 5).join(', ')}`);
  assert.deepEqual(count.unexplained, [], 'a job ran twice without its lease being lost');
  assert.deepEqual([a.child.exitCode, b.child.exitCode], [null, null], 'both supervisors rode it out');
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
});
