/**
 * CPU-bound jobs: the built-in `cpu` processor with { ms: 5 } at 1 … availableParallelism()
 * threads, through a real Troupe supervisor and through a bare Piscina pool running the same
 * function, against the physical limit of threads / 5 ms. What is left between Troupe and
 * Piscina is the runtime's cost per job: leasing, dispatch, acknowledgement.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { physicalLimit, pctOf, threadCounts } from './lib/cpu-limit.js';
import { piscinaRunner, troupeRunner, type CpuRunner, type RunMeasure } from './lib/cpu-runners.js';
import type { Bench, BenchOptions, BenchResult, TargetResult } from './lib/report.js';
import { loadLine, machineLine, redisVersion } from './lib/env.js';
import { fmtInt, fmtRate, median, rotate } from './lib/stats.js';
import type { Table } from './lib/table.js';

const JOB_MS = 5;
const FULL = { jobs: 2_000, rounds: 5, warmupJobs: 100 };
const QUICK = { jobs: 200, rounds: 2, warmupJobs: 40 };
const SYSTEMS = ['troupe', 'troupe2', 'piscina'] as const;
type System = (typeof SYSTEMS)[number];
type TroupeSystem = Exclude<System, 'piscina'>;
const TROUPE_SYSTEMS: readonly TroupeSystem[] = ['troupe', 'troupe2'];
const LABEL: Record<System, string> = { troupe: 'Troupe', troupe2: 'Troupe tpt 2', piscina: 'raw Piscina' };
/**
 * Troupe runs twice: as shipped (--tasks-per-thread 1) and with 2 tasks per thread. With
 * synchronous CPU jobs the second task waits in the thread's own queue and starts the moment
 * the first ends, hiding the hop back to the supervisor, as raw Piscina's internal queue does.
 */
const TASKS_PER_THREAD: Record<TroupeSystem, number> = { troupe: 1, troupe2: 2 };
/** Issue 8: CPU-bound jobs through Troupe reach at least this share of raw Piscina. */
const TARGET_PCT = 97;
/** Issue 14: as shipped (--tasks-per-thread 1), at 1 and 2 threads. */
const DEFAULT_SETTINGS_TARGET_PCT = 98;
const DEFAULT_SETTINGS_THREADS = [1, 2];

interface ThreadResult {
  threads: number;
  rounds: Array<Record<System, RunMeasure>>;
}

async function measureThreads(options: BenchOptions, config: typeof FULL, redisUrl: string, threads: number): Promise<ThreadResult> {
  const runners = new Map<System, CpuRunner>();
  try {
    for (const system of TROUPE_SYSTEMS) {
      runners.set(system, await troupeRunner(redisUrl, `cpu-t${threads}-${system}`, threads, TASKS_PER_THREAD[system]));
    }
    runners.set('piscina', await piscinaRunner(threads));
    // Threads started, modules loaded, the burn loop optimised: round 1 then measures steady state.
    for (const system of SYSTEMS) await runners.get(system)!.run(config.warmupJobs, { ms: JOB_MS });
    const rounds: ThreadResult['rounds'] = [];
    const bar = options.progress(`cpu ${threads} thread${threads > 1 ? 's' : ''}`, config.rounds * SYSTEMS.length);
    for (let r = 0; r < config.rounds; r++) {
      const round = {} as Record<System, RunMeasure>;
      // Alternating which goes first, so drift on a shared machine hits both alike.
      for (const system of rotate(SYSTEMS, r)) {
        const m = await runners.get(system)!.run(config.jobs, { ms: JOB_MS });
        round[system] = m;
        bar.tick();
        options.log(`cpu ${threads}T round ${r + 1}/${config.rounds}  ${LABEL[system].padEnd(11)} ${fmtInt(config.jobs / m.seconds).padStart(6)} jobs/s  ${fmtInt(m.iterationsPerJob)} iterations/job`);
      }
      rounds.push(round);
    }
    bar.done();
    return { threads, rounds };
  } finally {
    // Both are stopped even when one fails to, so no thread or supervisor outlives the bench.
    for (const [system, runner] of runners) {
      await runner.close().catch((err: unknown) => options.log(`cpu: stopping ${LABEL[system]} failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
}

function buildResult(results: ThreadResult[], config: typeof FULL, cores: number, quick: boolean, about: string[]): BenchResult {
  const rates = (t: ThreadResult, s: System) => t.rounds.map((r) => config.jobs / r[s].seconds);
  // Within a round the two ran back to back, so their ratio is paired before taking the median.
  const share = (t: ThreadResult, s: TroupeSystem = best) => median(t.rounds.map((r) => r.piscina.seconds / r[s].seconds));
  const limit = (t: ThreadResult) => physicalLimit(t.threads, cores, JOB_MS);
  const worstShare = (s: TroupeSystem) => Math.min(...results.map((t) => median(t.rounds.map((r) => r.piscina.seconds / r[s].seconds))));
  // The target is judged on the better of the two settings; the table shows both.
  const best: TroupeSystem = worstShare('troupe2') > worstShare('troupe') ? 'troupe2' : 'troupe';
  const roundsNote = `median of ${config.rounds} rounds of ${fmtInt(config.jobs)} jobs; ±: half the min-max range, relative to the median`;

  const main: Table = {
    title: `CPU-bound jobs (cpu processor, { ms: ${JOB_MS} }), jobs/s`,
    headers: ['threads', 'Troupe', 'Troupe tpt 2', 'raw Piscina', 'Troupe % of Piscina', 'tpt 2 % of Piscina', 'limit', 'tpt 2 % of limit', 'Piscina % of limit'],
    textColumns: [],
    rows: results.map((t) => {
      const [tr2, pi] = [median(rates(t, 'troupe2')), median(rates(t, 'piscina'))];
      return [
        String(t.threads),
        fmtRate(rates(t, 'troupe')),
        fmtRate(rates(t, 'troupe2')),
        fmtRate(rates(t, 'piscina')),
        `${(share(t, 'troupe') * 100).toFixed(1)}%`,
        `${(share(t, 'troupe2') * 100).toFixed(1)}%`,
        fmtInt(limit(t)),
        pctOf(tr2, limit(t)),
        pctOf(pi, limit(t)),
      ];
    }),
    notes: [
      roundsNote,
      'Troupe: as shipped, --tasks-per-thread 1; tpt 2: --tasks-per-thread 2, which `troupe tune cpu` finds for CPU-bound jobs (a thread\'s next job is already queued in it when the current one ends)',
      '% of Piscina: median over rounds of the paired ratio (they ran back to back in each round); overhead = 100% minus it',
      `limit: min(threads, cores) / ${JOB_MS} ms = ${1000 / JOB_MS} jobs/s per busy core (${cores} cores here)`,
    ],
  };

  const work: Table = {
    title: 'Work done per job (burn-loop iterations in a 5 ms job; fewer means the job thread lost CPU to something else)',
    headers: ['threads', 'Troupe', 'Troupe tpt 2', 'raw Piscina', 'Troupe % of Piscina', 'tpt 2 % of Piscina'],
    textColumns: [],
    rows: results.map((t) => {
      const it = (s: System) => median(t.rounds.map((r) => r[s].iterationsPerJob));
      return [String(t.threads), fmtInt(it('troupe')), fmtInt(it('troupe2')), fmtInt(it('piscina')), pctOf(it('troupe'), it('piscina')), pctOf(it('troupe2'), it('piscina'))];
    }),
    notes: [
      'the cpu processor burns for 5 ms of wall-clock time, not a fixed amount of work, so CPU taken from a job thread (by the supervisor\'s main thread, Redis, or other processes) shows here rather than in jobs/s',
      'Troupe: read back from the job results in Redis after each round; Piscina: the results returned to the pool',
    ],
  };

  const worst = results.reduce((w, t) => (share(t) < share(w) ? t : w), results[0]!);
  const targets: TargetResult[] = [
    {
      target: `CPU jobs (${JOB_MS} ms) vs raw Piscina, every thread count`,
      goal: `>= ${TARGET_PCT}%`,
      measured:
        `${LABEL[best]}: ` +
        results.map((t) => `${t.threads}T ${(share(t) * 100).toFixed(1)}%`).join(', ') +
        ` (${fmtInt(median(rates(worst, best)))} vs ${fmtInt(median(rates(worst, 'piscina')))} jobs/s at ${worst.threads}T); as shipped (tpt 1): ` +
        results.map((t) => `${t.threads}T ${(share(t, 'troupe') * 100).toFixed(1)}%`).join(', '),
      met: results.every((t) => share(t) * 100 >= TARGET_PCT),
    },
    (() => {
      const judged = results.filter((t) => DEFAULT_SETTINGS_THREADS.includes(t.threads));
      return {
        target: `CPU jobs (${JOB_MS} ms) vs raw Piscina at default settings (tpt 1), ${DEFAULT_SETTINGS_THREADS.join(' and ')} threads`,
        goal: `>= ${DEFAULT_SETTINGS_TARGET_PCT}%`,
        measured: judged.length === 0 ? 'not measured' : judged.map((t) => `${t.threads}T ${(share(t, 'troupe') * 100).toFixed(1)}%`).join(', '),
        met: judged.length === DEFAULT_SETTINGS_THREADS.length && judged.every((t) => share(t, 'troupe') * 100 >= DEFAULT_SETTINGS_TARGET_PCT),
      };
    })(),
  ];

  return {
    name: 'cpu',
    title: `CPU-bound jobs: Troupe vs raw Piscina vs the physical limit${quick ? ' (quick run: few jobs; not for comparison)' : ''}`,
    about,
    tables: [main, work],
    targets,
    charts: [
      {
        file: 'throughput',
        chart: {
          kind: 'line',
          title: `${JOB_MS} ms CPU jobs: jobs/s by threads`,
          xLabel: 'threads',
          yLabel: 'jobs/s',
          series: [
            { name: 'Troupe', points: results.map((t) => [t.threads, median(rates(t, 'troupe'))] as const) },
            { name: 'Troupe tpt 2', points: results.map((t) => [t.threads, median(rates(t, 'troupe2'))] as const) },
            { name: 'raw Piscina', points: results.map((t) => [t.threads, median(rates(t, 'piscina'))] as const) },
            { name: `limit (cores / ${JOB_MS} ms)`, points: results.map((t) => [t.threads, limit(t)] as const) },
          ],
        },
      },
    ],
  };
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const cores = os.availableParallelism();
  const started = new Date();
  const loadBefore = os.loadavg();
  const server = await startPrivateRedis();
  try {
    const admin = new Redis(server.url);
    const version = await redisVersion(admin);
    await admin.quit();
    const results: ThreadResult[] = [];
    for (const threads of threadCounts(cores)) results.push(await measureThreads(options, config, server.url, threads));
    return buildResult(results, config, cores, options.quick, [
      `${started.toISOString()}; ${machineLine(version)}`,
      loadLine(loadBefore),
      `jobs: the built-in cpu processor, { ms: ${JOB_MS} } (a Math.imul loop timed by the clock, so V8 re-optimising it cannot change a job's length)`,
      `Troupe: a real Supervisor in the bench process (threads = min threads = T, tasks per thread 1 (as shipped) and 2, default prefetch and packing; HTTP, scheduler and metrics log lines off), draining ${fmtInt(config.jobs)} jobs enqueued into its paused queue; timed from resume() to the last completion written to Redis (supervisor 'settled' event)`,
      `raw Piscina: a pool with minThreads = maxThreads = T calling the cpu processor's run() (bench/lib/cpu-piscina-worker.ts), ${fmtInt(config.jobs)} tasks with 2 per thread in flight; timed from the first submit to the last result`,
      `${config.warmupJobs} warm-up jobs per system and thread count first; ${config.rounds} rounds, the three rotating which goes first`,
    ]);
  } finally {
    await server.destroy();
  }
}

export const bench: Bench = { name: 'cpu', run };
