/**
 * Lease calls that keep failing are logged once per cause by the lease loop, not once per retry,
 * and the end of it once, with how many calls failed: an ACL that lost a command mid-run
 * (NOPERM), or a Redis down for minutes, used to put a warning in the log every few seconds.
 * Real supervisor and Redis; the supervisor's ACL user loses EVALSHA for a few seconds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { defaultConfig } from '../src/supervisor/config.js';
import { loadProcessorTable } from '../src/supervisor/processor-table.js';
import { Supervisor } from '../src/supervisor/supervisor.js';
import { capturingLogger } from './helpers/metrics.js';
import { startPrivateRedis } from './helpers/redis-server.js';
import { eventually } from './helpers/supervisor-process.js';

test('lease calls refused for seconds: one warning per cause, then one "leasing resumed"', { timeout: 60_000 }, async () => {
  const redis = await startPrivateRedis();
  const admin = new Redis(redis.url);
  await admin.call('ACL', 'SETUSER', 'sup', 'on', '>sup-secret', '~*', '&*', '+@all');
  const url = `redis://sup:sup-secret@127.0.0.1:${redis.port}`;
  const { logger, lines } = capturingLogger('info');
  const config = { ...defaultConfig(), redisUrl: url, queues: ['refused'], threads: 1, minThreads: 1, scheduler: false, httpPort: 0 };
  const supervisor = new Supervisor({ config, logger, processors: await loadProcessorTable([], process.cwd()) });
  const queue = new Queue('refused', { connection: redis.url });
  try {
    await supervisor.start();
    await admin.call('ACL', 'SETUSER', 'sup', '-evalsha', '-eval');
    await queue.enqueue('noop', {});
    await eventually(async () => lines.some((l) => l.msg.startsWith('leasing failed')) || undefined, 20_000, 'a lease call was refused');
    // Long enough for several retries of the back-off.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await admin.call('ACL', 'SETUSER', 'sup', '+@all');
    const resumed = await eventually(async () => lines.find((l) => l.msg === 'leasing resumed'), 20_000, 'leasing resumed');
    const failedCalls = Number((resumed as { failedCalls?: unknown }).failedCalls);
    assert.ok(failedCalls >= 3, `several lease calls were refused (${failedCalls})`);
    const warnings = lines.filter((l) => l.level === 40 && l.msg.startsWith('leasing failed'));
    assert.equal(warnings.length, 1, `one warning for ${failedCalls} refused calls of one cause: ${warnings.map((w) => JSON.stringify(w).slice(0, 300)).join("\n")}`);
    await eventually(async () => (await queue.counts()).completed === 1, 20_000, 'the job ran once leasing resumed');
  } finally {
    await supervisor.stop().catch(() => undefined);
    await queue.close();
    admin.disconnect();
    await redis.destroy();
  }
});
