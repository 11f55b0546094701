/**
 * Redis's side of a tiny job, by transition: enqueue, lease and complete measured apart through
 * the queue API (no supervisor, no threads), on compiled code (dist/, or DIST=<folder>). Prints
 * per job: the client's CPU, Redis CPU (INFO cpu) and script time (commandstats) of each.
 *
 *   N=51200 node scripts/redis-cost.mjs
 *   KEEP=0 ...        completed jobs deleted at once (keepCompleted { count: 0 }), as the bench does
 *
 * Every job is leased before any completes, so the active set holds all N while leasing: its
 * ZADD costs more than in a drain, where it holds a few hundred.
 */
import { distUrl, startRedis } from './compiled-redis.mjs';

const { Queue, QueueConsumer } = await import(distUrl('queue/index.js'));
const BATCH = 128;
/** Whole batches only. */
const N = Math.ceil(Number(process.env.N ?? 51_200) / BATCH) * BATCH;
const options = process.env.KEEP === '0' ? { keepCompleted: { count: 0 } } : undefined;

const redis = await startRedis();
const scriptUs = async () => Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await redis.admin.info('commandstats'))?.[1] ?? 0);
const queue = new Queue('cost', { connection: redis.url });
const consumer = new QueueConsumer('cost', { connection: redis.url });
const specs = Array.from({ length: BATCH }, () => ({ processor: 'noop', data: {}, ...(options ? { options } : {}) }));
try {
  for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
    const mark = async () => ({ client: process.cpuUsage(), redis: await redis.cpuUs(), script: await scriptUs() });
    const since = async (m, jobs) => {
      const client = process.cpuUsage(m.client);
      return {
        clientUs: Number(((client.user + client.system) / jobs).toFixed(2)),
        redisUs: Number((((await redis.cpuUs()) - m.redis) / jobs).toFixed(2)),
        scriptUs: Number((((await scriptUs()) - m.script) / jobs).toFixed(2)),
      };
    };
    let m = await mark();
    for (let i = 0; i < N; i += BATCH) await queue.enqueueMany(specs);
    const enqueue = await since(m, N);
    const leased = [];
    m = await mark();
    for (;;) {
      const batch = await consumer.lease('cost-owner', BATCH, 60_000);
      if (batch.jobs.length === 0) break;
      leased.push(batch.jobs);
    }
    const jobs = leased.reduce((n, b) => n + b.length, 0);
    if (jobs !== N) throw new Error(`leased ${jobs} of ${N} jobs`);
    const lease = await since(m, jobs);
    m = await mark();
    for (const batch of leased) {
      const lost = await consumer.complete(batch.map((job) => ({ lease: job.lease, result: null })));
      if (lost.length > 0) throw new Error(`${lost.length} leases lost`);
    }
    const complete = await since(m, jobs);
    console.log(JSON.stringify({ round, jobs, enqueue, lease, complete }));
    await redis.admin.del('troupe:{cost}:completed');
  }
} finally {
  await queue.close();
  await consumer.close();
  redis.stop();
}
