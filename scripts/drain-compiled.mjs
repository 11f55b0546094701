/**
 * Where a tiny job's time goes, for work on the hot path (docs/performance.md): one supervisor
 * in this process, a private redis-server, N no-op jobs filled while the queue is paused, then
 * timed from resume until nothing is pending or active. Compiled code (dist/, or DIST=<folder>
 * for another build, so two commits alternate in one session). Per round: drain jobs/s, the
 * process's CPU split by thread (the main thread, the two job threads: the two busiest others,
 * and the rest: V8's helpers, GC and compilers), Redis CPU, thread tasks and jobs per task.
 * Needs `npm run build` first.
 *
 *   N=100000 ROUNDS=2 node scripts/drain-compiled.mjs
 *   CONFIG='{"prefetch":128}' ...    supervisor settings for the run
 *   DIST=/tmp/other/dist ...         the same on another build
 *   COMMANDS=1 ...                   also Redis commandstats per job (calls and µs)
 *   PROFILE=main.cpuprofile ...      a CPU profile of the main thread over the last round
 *
 * A profile counts wall time: a thread woken with Atomics.notify (Piscina's postTask) can run on
 * the waker's core at once, so time the main thread spent preempted shows as postTask. Take CPU
 * per job from the figures printed, not from a profile's shares.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { distUrl, startRedis } from './compiled-redis.mjs';

const { Queue } = await import(distUrl('index.js'));
const { buildSupervisor } = await import(distUrl('runtime/build-supervisor.js'));
const { defaultConfig } = await import(distUrl('supervisor/config.js'));
const { createLogger } = await import(distUrl('supervisor/logger.js'));
const { ThreadPool } = await import(distUrl('supervisor/pool.js'));

const N = Number(process.env.N ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const config = JSON.parse(process.env.CONFIG ?? '{}');

// Counting tasks needs no hook in the runtime: wrap the pool's one entry point here.
let tasks = 0;
let taskJobs = 0;
const run = ThreadPool.prototype.run;
ThreadPool.prototype.run = function (task, transferList) {
  tasks += 1;
  taskJobs += task.jobs.ids.length;
  return run.call(this, task, transferList);
};

/** CPU per thread of this process, µs (clock ticks of 10 ms: enough over a drain of seconds). */
function cpuByThread() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * 10_000);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

const redis = await startRedis();
const queue = new Queue('drain', { connection: redis.url });
const supervisor = await buildSupervisor(
  { ...defaultConfig(), redisUrl: redis.url, queues: ['drain'], threads: 2, minThreads: 2, scheduler: false, httpPort: 0, ...config },
  { logger: createLogger('warn') },
);
await supervisor.start();
try {
  const specs = Array.from({ length: 1000 }, () => ({ processor: 'noop', data: {} }));
  for (let round = 0; round < ROUNDS; round++) {
    await queue.pause();
    for (let i = 0; i < N; i += 1000) await queue.enqueueMany(specs);
    let session;
    if (process.env.PROFILE && round === ROUNDS - 1) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    if (process.env.COMMANDS) await redis.admin.config('RESETSTAT');
    tasks = 0;
    taskJobs = 0;
    const threads0 = cpuByThread();
    const redis0 = await redis.cpuUs();
    const started = performance.now();
    await queue.resume();
    for (;;) {
      const counts = await queue.counts();
      if (counts.pending === 0 && counts.active === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ms = performance.now() - started;
    const threads1 = cpuByThread();
    const redisUs = (await redis.cpuUs()) - redis0;
    if (session) writeFileSync(process.env.PROFILE, JSON.stringify((await session.post('Profiler.stop')).profile));
    const spent = [...threads1].map(([tid, us]) => [tid, us - (threads0.get(tid) ?? 0)]);
    const main = spent.find(([tid]) => tid === String(process.pid))[1];
    const others = spent.filter(([tid]) => tid !== String(process.pid)).map(([, us]) => us).sort((a, b) => b - a);
    const jobThreads = (others[0] ?? 0) + (others[1] ?? 0);
    const rest = others.slice(2).reduce((a, b) => a + b, 0);
    const perJob = (us) => Number((us / N).toFixed(2));
    console.log(JSON.stringify({
      round,
      jobsPerSec: Math.round((N / ms) * 1000),
      mainUsPerJob: perJob(main),
      jobThreadsUsPerJob: perJob(jobThreads),
      otherThreadsUsPerJob: perJob(rest),
      redisUsPerJob: perJob(redisUs),
      totalUsPerJob: perJob(main + jobThreads + rest + redisUs),
      tasks,
      jobsPerTask: Number((taskJobs / tasks).toFixed(1)),
    }));
    if (process.env.COMMANDS) {
      for (const line of (await redis.admin.info('commandstats')).split('\n')) {
        const m = /cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line);
        if (m && Number(m[3]) > 0) console.log(`  ${m[1]}: ${(Number(m[2]) / N).toFixed(3)} calls/job, ${(Number(m[3]) / N).toFixed(2)} µs/job`);
      }
    }
    await redis.admin.del('troupe:{drain}:completed');
  }
} finally {
  await supervisor.stop();
  await queue.close();
  redis.stop();
}
