/**
 * Scale: does Troupe stay as fast when a queue is deep, and when one supervisor serves many
 * queues? Part one fills queues to 10k, 100k and 1M pending jobs (each on a redis-server of its
 * own) and measures lease+complete slices taken while the depth stays put, with Redis memory per
 * pending job. Part two runs one compiled supervisor serving 1, 10 and 100 queues: drain
 * throughput, the Redis connections it holds, and what it and Redis spend while idle.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { buildForBench } from './lib/e2e-build.js';
import { gitCommit, loadLine, machineLine, redisVersion } from './lib/env.js';
import type { Bench, BenchOptions, BenchResult } from './lib/report.js';
import { DepthQueue, type SliceResult } from './lib/scale-depth.js';
import { idleWindow, runQueuesPhase, type QueuesConfig, type QueuesPhase } from './lib/scale-queues.js';
import { depthTable, memoryTable, queuesDrainTable, queuesIdleTable, scaleTargets, scriptTable, type DepthMeasured, type QueuesMeasured } from './lib/scale-tables.js';
import { fmtInt, rotate } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ScaleConfig {
  depth: { depths: number[]; slice: number; rounds: number; warmJobs: number; /** The untimed SLOWLOG passes: jobs per depth per pass, and passes (depth order rotated). */ scriptJobs: number; scriptRounds: number };
  queues: QueuesConfig & { counts: number[]; rounds: number };
}

/** Slices of 5,000: at the smallest depth the queue stays within 10k to 15k pending while measured. */
export const FULL: ScaleConfig = {
  depth: { depths: [10_000, 100_000, 1_000_000], slice: 5_000, rounds: 30, warmJobs: 2_000, scriptJobs: 1_280, scriptRounds: 5 },
  queues: { counts: [1, 10, 100], jobs: 60_000, warmJobs: 1_000, idleMs: 10_000, rounds: 3 },
};
export const QUICK: ScaleConfig = {
  depth: { depths: [1_000, 10_000], slice: 500, rounds: 2, warmJobs: 500, scriptJobs: 512, scriptRounds: 1 },
  queues: { counts: [1, 10, 100], jobs: 3_000, warmJobs: 200, idleMs: 2_000, rounds: 1 },
};

export async function measureDepth(options: Pick<BenchOptions, 'log' | 'progress'>, config: ScaleConfig['depth']): Promise<DepthMeasured> {
  const servers: DepthQueue[] = [];
  try {
    for (const depth of config.depths) servers.push(await DepthQueue.open(depth));
    const m: DepthMeasured = { depths: config.depths, slice: config.slice, scriptJobs: config.scriptJobs, scriptRounds: config.scriptRounds, rounds: [], fills: new Map(), scripts: new Map() };
    for (const s of servers) {
      await s.warm(config.warmJobs);
      options.log(`scale: filling the queue to ${fmtInt(s.depth)} pending`);
      const fill = await s.fill();
      m.fills.set(s.depth, fill);
      options.log(`scale: ${fmtInt(s.depth)} pending in ${fill.seconds.toFixed(1)} s (${fmtInt(s.depth / fill.seconds)} jobs/s), ${fmtInt((fill.after.used - fill.before.used) / s.depth)} bytes each`);
      // An untimed slice at this depth, so the first timed one is not the first after a fill.
      await s.topUp(config.slice);
      await s.slice(config.slice);
    }
    const bar = options.progress('scale depth rounds', config.rounds);
    try {
      for (let r = 0; r < config.rounds; r++) {
        const round = new Map<number, SliceResult>();
        const order = rotate(servers, r);
        // Every top-up first, then the timed slices back to back: the depths compared within a
        // round are measured within a second or so of each other, under the same outside load.
        for (const s of order) await s.topUp(config.slice);
        for (const s of order) round.set(s.depth, await s.slice(config.slice));
        m.rounds.push(round);
        const line = config.depths.map((d) => `${fmtInt(d)}: ${fmtInt(config.slice / round.get(d)!.seconds)}`).join(', ');
        options.log(`scale depth round ${r + 1}/${config.rounds}  jobs/s at ${line}`);
        bar.tick();
      }
    } finally {
      bar.done();
    }
    for (const s of servers) m.scripts.set(s.depth, { lease: [], complete: [] });
    for (let r = 0; r < config.scriptRounds; r++) {
      for (const s of rotate(servers, r)) {
        const times = await s.scriptTimes(config.scriptJobs);
        const all = m.scripts.get(s.depth)!;
        all.lease.push(...times.lease);
        all.complete.push(...times.complete);
      }
    }
    return m;
  } finally {
    for (const s of servers) await s.close();
  }
}

export async function measureQueues(options: Pick<BenchOptions, 'log' | 'progress'>, config: ScaleConfig['queues'], cliEntry: string): Promise<QueuesMeasured> {
  const server = await startPrivateRedis();
  const admin = new Redis(server.url);
  try {
    await admin.ping();
    const m: QueuesMeasured = { counts: config.counts, config, rounds: [], baseline: [] };
    for (let r = 0; r < config.rounds; r++) {
      await admin.flushall();
      m.baseline.push(await idleWindow(admin, config.idleMs));
      const round = new Map<number, QueuesPhase>();
      const bar = options.progress(`scale queues round ${r + 1}/${config.rounds}`, config.counts.length);
      try {
        for (const q of rotate(config.counts, r)) {
          const p = await runQueuesPhase({ admin, redisUrl: server.url, cliEntry, cwd: ROOT }, q, `r${r + 1}-${q}`, config);
          round.set(q, p);
          options.log(
            `scale queues round ${r + 1}/${config.rounds}  ${String(q).padStart(3)} queues: ${fmtInt(p.jobs / p.drainSeconds)} jobs/s, ${p.connectionsIdle.length} connections, idle CPU ${((p.idle.supervisorCpuSeconds! / p.idle.seconds) * 100).toFixed(2)}%`,
          );
          bar.tick();
        }
      } finally {
        bar.done();
      }
      m.rounds.push(round);
    }
    return m;
  } finally {
    await admin.quit().catch(() => admin.disconnect()); // Quit fails if the server already died; then just drop the socket.
    await server.destroy();
  }
}

export async function runScale(options: BenchOptions, config: ScaleConfig): Promise<BenchResult> {
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  const probe = await startPrivateRedis();
  let version = '?';
  try {
    const admin = new Redis(probe.url);
    version = await redisVersion(admin);
    admin.disconnect();
  } finally {
    await probe.destroy();
  }

  options.log(`scale: depth part (${config.depth.depths.map(fmtInt).join(', ')} pending)`);
  const depth = await measureDepth(options, config.depth);
  options.log('scale: queue-count part (building the supervisor)');
  const build = await buildForBench();
  let queues: QueuesMeasured;
  try {
    if (build.warnings) options.log(`scale: the build had compiler complaints (emitted anyway):\n${build.warnings.slice(0, 2000)}`);
    queues = await measureQueues(options, config.queues, build.cliEntry);
  } finally {
    build.remove();
  }

  return {
    name: 'scale',
    title: `Scale: deep queues and many queues${options.quick ? ' (quick run: small depths, 1 round of queues; not for comparison)' : ''}`,
    about: [
      `${started.toISOString()}, commit ${commit} (read at the start)`,
      machineLine(version),
      loadLine(loadBefore),
      `depth: ${config.depth.depths.map(fmtInt).join(', ')} pending jobs, one redis-server each, ${config.depth.rounds} rounds of one ${fmtInt(config.depth.slice)}-job slice per depth (every depth topped up first, then the timed slices back to back, in an order rotated every round) after a ${fmtInt(config.depth.warmJobs)}-job warm-up and one untimed slice`,
      `queues: one supervisor (2 threads) serving ${config.queues.counts.join(', ')} queues, ${config.queues.rounds} round${config.queues.rounds > 1 ? 's' : ''} (order rotated), ${fmtInt(config.queues.jobs)} jobs per drain, idle window ${config.queues.idleMs / 1000} s`,
      'why the queue API for depth: a supervisor cannot stop after exactly one slice of a deeper queue (it leases ahead), and its main thread, the bottleneck at tiny jobs, would hide a Redis-side cost of depth; the queue-count part uses the real supervisor',
    ],
    tables: [depthTable(depth), scriptTable(depth), memoryTable(depth), queuesDrainTable(queues), queuesIdleTable(queues)],
    targets: scaleTargets(depth),
  };
}

export const bench: Bench = { name: 'scale', run: (options) => runScale(options, options.quick ? QUICK : FULL) };
