/**
 * Where a tiny job's time goes, for work on the hot path (docs/performance.md): one supervisor
 * in this process, a private redis-server, N no-op jobs filled while the queue is paused, then
 * timed from resume until nothing is pending or active. Per round it prints drain jobs/s, the
 * main thread's CPU per job (/proc/self/task/<pid>/stat), the whole process's (main + threads),
 * Redis CPU per job (INFO cpu), and thread tasks with jobs per task.
 *
 *   node --import tsx scripts/drain-profile.ts
 *   N=100000 ROUNDS=3 CONFIG='{"prefetch":128}' node --import tsx scripts/drain-profile.ts
 *   COMMANDS=1 ...   also Redis commandstats per job (calls and µs)
 *   PROFILE=main.cpuprofile ...   a CPU profile of the main thread over the last round
 *
 * It runs under tsx, whose transpiler wraps closures in a naming helper, so its absolute
 * figures are above the compiled supervisor's: compare A/B runs of this script with each other
 * (alternated, on the same machine), and take absolute figures from `npm run bench`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { buildSupervisor } from '../src/runtime/build-supervisor.js';
import { defaultConfig, type SupervisorConfig } from '../src/supervisor/config.js';
import { createLogger } from '../src/supervisor/logger.js';
import { ThreadPool } from '../src/supervisor/pool.js';
import type { ThreadTask } from '../src/threads/protocol.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';

const N = Number(process.env.N ?? 50_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const config = JSON.parse(process.env.CONFIG ?? '{}') as Partial<SupervisorConfig>;
const FILL_BATCH = 1000;
const QUEUE = 'drain';

// Counting tasks needs no hook in the runtime: wrap the pool's one entry point here.
let tasks = 0;
let taskJobs = 0;
const run = ThreadPool.prototype.run;
ThreadPool.prototype.run = function (this: ThreadPool, task: ThreadTask, transferList: ArrayBuffer[]) {
  tasks += 1;
  taskJobs += task.jobs.ids.length;
  return run.call(this, task, transferList);
};

/** CPU of this process's main thread, µs (clock ticks of 10 ms: enough over a drain of seconds). */
function mainThreadCpuUs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function redisCpuUs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

const redis = await startPrivateRedis();
const admin = new Redis(redis.url);
const queue = new Queue(QUEUE, { connection: redis.url });
const supervisor = await buildSupervisor(
  { ...defaultConfig(), redisUrl: redis.url, queues: [QUEUE], threads: 2, minThreads: 2, scheduler: false, httpPort: 0, ...config },
  { logger: createLogger('warn') },
);
await supervisor.start();
try {
  const specs = Array.from({ length: FILL_BATCH }, () => ({ processor: 'noop', data: {} }));
  for (let round = 0; round < ROUNDS; round++) {
    await queue.pause();
    for (let i = 0; i < N; i += FILL_BATCH) await queue.enqueueMany(specs);
    if (process.env.COMMANDS) await admin.config('RESETSTAT');
    let session: Session | undefined;
    if (process.env.PROFILE && round === ROUNDS - 1) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    tasks = 0;
    taskJobs = 0;
    const main0 = mainThreadCpuUs();
    const process0 = process.cpuUsage();
    const redis0 = await redisCpuUs(admin);
    const started = performance.now();
    await queue.resume();
    for (;;) {
      const counts = await queue.counts();
      if (counts.pending === 0 && counts.active === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ms = performance.now() - started;
    const processCpu = process.cpuUsage(process0);
    const main = mainThreadCpuUs() - main0;
    const redisCpu = (await redisCpuUs(admin)) - redis0;
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
    }
    const perJob = (us: number): number => Number((us / N).toFixed(1));
    console.log(JSON.stringify({
      round,
      jobsPerSec: Math.round((N / ms) * 1000),
      mainUsPerJob: perJob(main),
      processUsPerJob: perJob(processCpu.user + processCpu.system),
      redisUsPerJob: perJob(redisCpu),
      tasks,
      jobsPerTask: Number((taskJobs / tasks).toFixed(1)),
    }));
    if (process.env.COMMANDS) {
      for (const line of (await admin.info('commandstats')).split('\n')) {
        const m = /cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line);
        if (m && Number(m[3]) > 0) console.log(`  ${m[1]}: ${(Number(m[2]) / N).toFixed(3)} calls/job, ${(Number(m[3]) / N).toFixed(2)} µs/job`);
      }
    }
    await admin.del(`troupe:{${QUEUE}}:completed`);
  }
} finally {
  await supervisor.stop();
  await queue.close();
  admin.disconnect();
  await redis.destroy();
}
