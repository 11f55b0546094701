/**
 * The drain of scripts/drain-profile.ts on compiled code (dist/, or DIST=<folder> for another
 * build, so two commits alternate in one session), with the process's CPU split by thread:
 * the main thread, the two job threads (the two busiest others) and the rest (V8's helpers:
 * GC, compilers). Needs `npm run build` first.
 *
 *   N=100000 ROUNDS=2 node scripts/drain-compiled.mjs
 *   DIST=/tmp/other/dist node scripts/drain-compiled.mjs      the same on another build
 *   PROFILE=main.cpuprofile ...   a CPU profile of the main thread over the last round
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

const N = Number(process.env.N ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const config = JSON.parse(process.env.CONFIG ?? '{}');

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
    }));
    await redis.admin.del('troupe:{drain}:completed');
  }
} finally {
  await supervisor.stop();
  await queue.close();
  redis.stop();
}
