import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { readClusterHistograms, summarizeCluster, type QueueLatency } from '../src/metrics/cluster.js';
import { newHistogram } from '../src/metrics/latency.js';
import { compareWithRaw } from './helpers/metrics.js';
import { startPrivateRedis } from './helpers/redis-server.js';
import { eventually, PROJECT_DIR, runCli, SupervisorProcess } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const QUEUE = 'merge';
const JOBS = 600;

test('3 supervisor processes: percentiles merged from Redis equal those of the combined raw samples, within HDR precision', async (t) => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const client = new Redis(redis.url);
  cleanup.push(() => client.disconnect());
  const queue = new Queue(QUEUE, { connection: redis.url });
  cleanup.push(() => queue.close());

  // Debug level: each process logs every completed job's run time, the raw samples to compare with.
  const supervisors = [0, 1, 2].map(() => {
    const s = new SupervisorProcess(['--queues', QUEUE, '--threads', '2', '--tasks-per-thread', '4', '--heartbeat-ms', '200', '--lease-ms', '5000', '--http-port', '0'], {
      TROUPE_REDIS_URL: redis.url,
      TROUPE_LOG_LEVEL: 'debug',
    });
    cleanup.push(() => s.kill());
    return s;
  });
  await Promise.all(supervisors.map((s) => s.started()));
  // Waits of 1-40 ms in a fixed pattern: each process gets a different mix of them.
  await queue.enqueueMany(Array.from({ length: JOBS }, (_, i) => ({ processor: 'sleep', data: { ms: 1 + ((i * 7) % 40) }, options: { keepCompleted: { count: JOBS } } })));
  await eventually(async () => (await queue.counts()).completed === JOBS, 60_000, 'all jobs completed');

  const raw = supervisors.map((s) => s.logs.filter((l) => l.msg === 'job completed').map((l) => l.durationMs as number));
  assert.ok(raw.every((r) => r.length > 0), `every process ran jobs: ${raw.map((r) => r.length).join(', ')}`);
  const all = raw.flat();
  assert.equal(all.length, JOBS);

  const merged = await eventually(async () => {
    const c = await readClusterHistograms(client, { queues: [QUEUE] });
    const run = c.histograms.get('run')?.get(QUEUE)?.get('sleep');
    return run?.totalCount === JOBS ? { c, run } : undefined;
  }, 10_000, 'every run stored in Redis');
  assert.equal(merged.c.supervisors.get(QUEUE)?.size, 3);
  const compared = compareWithRaw(merged.run, all);
  t.diagnostic(`runs per process ${raw.map((r) => r.length).join('/')}; ${compared.map((c) => `p${c.p} ${c.merged}/${c.exact} µs`).join(', ')}`);
  for (const c of compared) {
    assert.ok(c.ok, `p${c.p}: merged ${c.merged} µs, combined raw samples ${c.exact} µs (allowed error ${(c.exact / 1024).toFixed(1)} µs)`);
  }
  // Cross-check: one histogram per process, merged in memory, gives the same histogram.
  const local = newHistogram();
  for (const r of raw) {
    const h = newHistogram();
    for (const ms of r) h.recordValue(Math.round(ms * 1000));
    local.add(h);
  }
  assert.equal(merged.run.getValueAtPercentile(99), local.getValueAtPercentile(99));

  // troupe stats shows the same merged figures.
  const stats = await runCli(['stats', '--queue', QUEUE, '--json'], { TROUPE_REDIS_URL: redis.url });
  assert.equal(stats.code, 0, stats.stderr);
  const shown = JSON.parse(stats.stdout) as { counts: { completed: number }; latency: QueueLatency };
  assert.equal(shown.counts.completed, JOBS);
  // Renewal lag keeps being sampled while the supervisors run, so only the job figures are fixed by now.
  const { renewalLag: _shownLag, ...shownJobs } = shown.latency;
  const { renewalLag: _mergedLag, ...mergedJobs } = summarizeCluster(merged.c).queues[QUEUE]!;
  assert.deepEqual(shownJobs, mergedJobs);
  assert.deepEqual([shown.latency.supervisors, shown.latency.all.run.count, shown.latency.all.wait.count, shown.latency.all.endToEnd.count], [3, JOBS, JOBS, JOBS]);
  const table = await runCli(['stats'], { TROUPE_REDIS_URL: redis.url });
  assert.match(table.stdout, /latency in ms over the last 5 min, merged across 3 supervisors/);
  assert.match(table.stdout, new RegExp(`^${QUEUE}\\s+sleep\\s+run\\s+${JOBS}\\s`, 'm'));

  for (const s of supervisors) s.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(supervisors.map((s) => s.exited)), [0, 0, 0]);
});

test('troupe stats --watch redraws until SIGINT; --json --watch prints one JSON line per refresh', async () => {
  const redis = await startPrivateRedis();
  cleanup.push(() => redis.destroy());
  const queue = new Queue('watched', { connection: redis.url });
  cleanup.push(() => queue.close());
  await queue.enqueue('echo', 1);

  const watch = (args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'stats', '--watch', '--interval', '0.2', ...args], {
      cwd: PROJECT_DIR,
      env: { ...process.env, TROUPE_REDIS_URL: redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(() => void child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, out: () => stdout };
  };

  const table = watch([]);
  await eventually(async () => (table.out().match(/^watched\s+1\s+0\s+0\s+0\s+0$/gm)?.length ?? 0) >= 2, 20_000, 'two frames');
  await queue.enqueue('echo', 2);
  await eventually(async () => /^watched\s+2\s+0\s+0\s+0\s+0$/m.test(table.out()), 5000, 'a frame with the new job');
  table.child.kill('SIGINT');
  assert.equal(await table.exited, 0);
  assert.match(table.out(), /^troupe stats, every 0.2s, /m);

  const json = watch(['--json', '--queue', 'watched']);
  await eventually(async () => json.out().split('\n').filter(Boolean).length >= 2, 20_000, 'two JSON lines');
  json.child.kill('SIGINT');
  assert.equal(await json.exited, 0);
  for (const line of json.out().split('\n').filter(Boolean)) {
    assert.deepEqual((JSON.parse(line) as { queue: string; counts: { pending: number } }).queue, 'watched');
  }
});
