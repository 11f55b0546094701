/**
 * The Supervisors page, `troupe status` and the registry in Redis show threads busy/live, jobs in
 * flight and RSS of a real supervisor running a long job (issue 17: the registry stored none of
 * busy threads, live threads or RSS before).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { listSupervisors, supervisorKey } from '../src/supervisor/registry.js';
import { capturingLogger } from './helpers/metrics.js';
import { freePort, startPrivateRedis } from './helpers/redis-server.js';
import { eventually, runCli } from './helpers/supervisor-process.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

test('a supervisor running a long job: busy 1 of its live threads, 1 in flight and its RSS, in Redis, on the Supervisors page and in troupe status', { timeout: 90_000 }, async () => {
  const server = await startPrivateRedis();
  cleanup.push(() => server.destroy());
  const client = new Redis(server.url);
  cleanup.push(() => client.disconnect());
  const port = await freePort();
  // One CPU thread; sleep is an I/O processor, so its job runs on the I/O thread, which counts as live.
  const config = { ...defaultConfig(), redisUrl: server.url, threads: 1, minThreads: 1, queues: ['long'], heartbeatMs: 200, leaseMs: 5_000, httpPort: port, dashboard: true, scheduler: false, shutdownTimeoutMs: 5_000 };
  const s = await buildSupervisor(config, { logger: capturingLogger('warn').logger });
  await s.start();
  cleanup.push(() => s.stop());
  const queue = new Queue('long', { connection: server.url });
  cleanup.push(() => queue.close());
  await queue.enqueue('sleep', { ms: 60_000 }, { jobId: 'long-one' });

  // Redis: the heartbeat after the job started.
  const raw = await eventually(async () => {
    const h = await client.hgetall(supervisorKey(s.id));
    return h.inFlight === '1' && h.busyThreads === '1' ? h : undefined;
  }, 20_000, 'a heartbeat with the job in flight');
  const live = s.status().threads.total;
  assert.ok(live >= 1);
  assert.equal(raw.liveThreads, String(live), 'the same live-thread count as /status');
  assert.ok(Number(raw.rssBytes) > 10 * 1024 * 1024, `RSS of a Node process, got ${raw.rssBytes}`);
  const [entry] = await listSupervisors(client);
  assert.deepEqual([entry!.busyThreads, entry!.liveThreads, entry!.inFlight, entry!.stale], [1, live, 1, false]);
  assert.ok(entry!.rssBytes! > 0);

  // The page (the overview it reads is shared and recomputed every 2 s).
  const row = await eventually(async () => {
    const html = await (await fetch(`http://127.0.0.1:${port}/supervisors`)).text();
    const tr = /<tr data-supervisor="[^"]*">[\s\S]*?<\/tr>/.exec(html)?.[0];
    return tr && tr.includes(`<td class="n" data-field="in-flight">1`) ? tr : undefined;
  }, 20_000, 'the page showing the job in flight');
  assert.match(row, new RegExp(`<td class="n" data-field="threads">1 / ${live}`));
  assert.match(row, /<td class="n" data-field="rss">\d+\.\d MiB<\/td>/);
  const api = (await (await fetch(`http://127.0.0.1:${port}/api/supervisors`)).json()) as { supervisors: Array<Record<string, unknown>> };
  assert.deepEqual([api.supervisors[0]!.busyThreads, api.supervisors[0]!.liveThreads, api.supervisors[0]!.inFlight], [1, live, 1]);

  // troupe status: the JSON gains the fields, the table shows them.
  const json = await runCli(['status', '--json', '--redis-url', server.url]);
  assert.equal(json.code, 0, json.stderr);
  const status = JSON.parse(json.stdout) as { supervisors: Array<{ busyThreads: number; liveThreads: number; inFlight: number; rssBytes: number; threads: number }> };
  const mine = status.supervisors[0]!;
  assert.deepEqual([mine.busyThreads, mine.liveThreads, mine.inFlight, mine.threads], [1, live, 1, 1]);
  assert.ok(mine.rssBytes > 0);
  const table = await runCli(['status', '--redis-url', server.url]);
  assert.match(table.stdout, /BUSY\/LIVE\s+QUEUES\s+IN FLIGHT\s+RSS/);
  assert.match(table.stdout, new RegExp(`\\s1\\s+1/${live}\\s+long\\s+1\\s+\\d+\\.\\d MiB\\s`));
});
