/**
 * Tiny jobs end to end: a queue pre-filled with no-op jobs, drained by each system's consumer in
 * a process of its own (Troupe's supervisor with 2 threads; the limit, the bare mechanism Troupe
 * is built on; BullMQ inline and sandboxed on worker threads; bee-queue). Throughput, CPU, RSS and
 * Redis commands per job, side by side in one run. Then Troupe against the limit alone, in
 * alternating rounds of a larger drain: how close Troupe comes to what its mechanism allows.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { commandStatsProbe, perJob, sumCounts, topCommands, type CommandStats } from './lib/commandstats.js';
import { buildForBench } from './lib/e2e-build.js';
import { gitCommit, loadLine, machineLine, redisVersion } from './lib/env.js';
import { runPhase, WARM_JOBS, type PhaseContext, type PhaseResult, type SystemUnderTest } from './lib/e2e-phase.js';
import { ENQUEUE_BATCH } from './lib/e2e-producers.js';
import { monitorProbe, type MonitorTally } from './lib/monitor.js';
import type { Bench, BenchOptions, BenchResult, TargetResult } from './lib/report.js';
import { KIB_PER_MIB } from './lib/rss-proc.js';
import { fmtInt, fmtPerJob, fmtRate, fmtRatio, median, rotate } from './lib/stats.js';
import type { Table } from './lib/table.js';

/** 30k: BullMQ's sandbox drains ~3-4k jobs/s here, and the whole bench must stay near 5 minutes. */
const FULL = { jobs: 30_000, rounds: 5, auditJobs: 2_000 };
const QUICK = { jobs: 5_000, rounds: 1, auditJobs: 500 };
/** Troupe against the limit: the issue's drain of 100k pre-filled tiny jobs, A/B alternated. */
const LIMIT_FULL = { jobs: 100_000, rounds: 5 };
const LIMIT_QUICK = { jobs: 10_000, rounds: 1 };

const TROUPE: SystemUnderTest = { id: 'troupe', label: 'Troupe, 2 threads', short: 'Troupe', kind: 'troupe', concurrency: 2 };
/** The bare mechanism (bench/lib/e2e-limit.ts): Lua lease/complete per batch of 128, one Piscina task per batch. */
const LIMIT: SystemUnderTest = { id: 'limit', label: 'limit: bare Lua + Piscina, 2 threads', short: 'limit', kind: 'limit', concurrency: 2 };
const BULL_INLINE: SystemUnderTest = { id: 'bullmq-inline', label: 'BullMQ inline, conc 100', short: 'BullMQ inline', kind: 'bullmq-inline', concurrency: 100 };
const BULL_SANDBOX_2: SystemUnderTest = { id: 'bullmq-sandboxed-2', label: 'BullMQ sandboxed, 2 threads', short: 'BullMQ sbx 2', kind: 'bullmq-sandboxed', concurrency: 2 };
const BULL_SANDBOX_8: SystemUnderTest = { id: 'bullmq-sandboxed-8', label: 'BullMQ sandboxed, 8 threads', short: 'BullMQ sbx 8', kind: 'bullmq-sandboxed', concurrency: 8 };
const BEE: SystemUnderTest = { id: 'bee-queue', label: 'bee-queue, conc 100', short: 'bee-queue', kind: 'bee-queue', concurrency: 100 };
const SYSTEMS = [TROUPE, LIMIT, BULL_INLINE, BULL_SANDBOX_2, BULL_SANDBOX_8, BEE] as const;
/** The limit section's pair; rotate() swaps who goes first every round (A/B, B/A, ...). */
const LIMIT_PAIR = [TROUPE, LIMIT] as const;

const GOALS = { sandboxed: 5, inline: 2, bee: 1.5, clientCommandsPerJob: 1, limit: 0.6, supervisorUsPerJob: 10, redisUsPerJob: 12 };
/** Issue 14: the whole trip of tiny jobs, bulk enqueue then drain, against the two fastest peers. */
const WHOLE_TRIP_GOALS = { bee: 2, inline: 3 };

type Round = Map<string, PhaseResult<CommandStats>>;

const MIB = (kb: number) => (kb / KIB_PER_MIB).toFixed(0);

interface Measured {
  rounds: Round[];
  audit: Map<string, MonitorTally>;
  jobs: number;
  auditJobs: number;
  /** Troupe against the limit alone, at LIMIT_FULL / LIMIT_QUICK's size. */
  limit: { rounds: Round[]; jobs: number };
}

function rates(m: Measured, id: string): number[] {
  return m.rounds.map((r) => m.jobs / r.get(id)!.drainSeconds);
}

/** Troupe's rate over the peer's, paired within each round (adjacent in time), median over rounds. */
function ratio(m: Measured, peer: string): number {
  return median(m.rounds.map((r) => r.get(peer)!.drainSeconds / r.get(TROUPE.id)!.drainSeconds));
}

/** The same pairing over enqueue + drain time: the whole trip a batch of tiny jobs makes. */
function wholeTripRatio(m: Measured, peer: string): number {
  const trip = (p: PhaseResult<CommandStats>) => p.enqueueSeconds + p.drainSeconds;
  return median(m.rounds.map((r) => trip(r.get(peer)!) / trip(r.get(TROUPE.id)!)));
}

function wholeTripRate(m: Measured, id: string): number {
  return median(m.rounds.map((r) => m.jobs / (r.get(id)!.enqueueSeconds + r.get(id)!.drainSeconds)));
}

function med(m: Measured, id: string, pick: (p: PhaseResult<CommandStats>) => number): number {
  return median(m.rounds.map((r) => pick(r.get(id)!)));
}

/** BullMQ's better sandboxed configuration in this run (concurrency 8 usually helps it on 2 cores). */
function bestSandbox(m: Measured): SystemUnderTest {
  return median(rates(m, BULL_SANDBOX_8.id)) > median(rates(m, BULL_SANDBOX_2.id)) ? BULL_SANDBOX_8 : BULL_SANDBOX_2;
}

const usPerJob = (seconds: number, jobs: number) => (seconds / jobs) * 1e6;

/** One figure per job in the limit section, for either system. */
const LIMIT_FIGURES = {
  mainCpu: (p: PhaseResult<CommandStats>, jobs: number) => usPerJob(p.mainThreadCpuSeconds, jobs),
  restCpu: (p: PhaseResult<CommandStats>, jobs: number) => usPerJob(p.consumerCpuSeconds - p.mainThreadCpuSeconds, jobs),
  redisCpu: (p: PhaseResult<CommandStats>, jobs: number) => usPerJob(p.redisCpuSeconds, jobs),
  scriptTime: (p: PhaseResult<CommandStats>, jobs: number) => perJob(p.counts, jobs).scriptUsec,
  scriptCalls: (p: PhaseResult<CommandStats>, jobs: number) => perJob(p.counts, jobs).scriptCalls,
  commands: (p: PhaseResult<CommandStats>, jobs: number) => perJob(p.counts, jobs).total,
};
type LimitFigure = (p: PhaseResult<CommandStats>, jobs: number) => number;

function limitMedian(m: Measured, id: string, figure: LimitFigure): number {
  return median(m.limit.rounds.map((r) => figure(r.get(id)!, m.limit.jobs)));
}

/** Troupe's figure over the limit's, paired within each round, median over rounds. */
function limitRatio(m: Measured, figure: LimitFigure): number {
  return median(m.limit.rounds.map((r) => figure(r.get(TROUPE.id)!, m.limit.jobs) / figure(r.get(LIMIT.id)!, m.limit.jobs)));
}

/** Troupe's drain rate over the limit's, per round (the limit section's headline). */
function limitRateRatios(m: Measured): number[] {
  return m.limit.rounds.map((r) => r.get(LIMIT.id)!.drainSeconds / r.get(TROUPE.id)!.drainSeconds);
}

function limitRates(m: Measured, id: string): number[] {
  return m.limit.rounds.map((r) => m.limit.jobs / r.get(id)!.drainSeconds);
}

function limitTable(m: Measured): Table {
  const figures = [LIMIT_FIGURES.mainCpu, LIMIT_FIGURES.restCpu, LIMIT_FIGURES.redisCpu, LIMIT_FIGURES.scriptTime, LIMIT_FIGURES.scriptCalls, LIMIT_FIGURES.commands];
  const row = (s: SystemUnderTest) => [s.label, fmtRate(limitRates(m, s.id)), ...figures.map((f) => fmtPerJob(limitMedian(m, s.id, f)))];
  const perRound = limitRateRatios(m).map((r) => r.toFixed(2));
  return {
    title: `Troupe at the mechanism's limit: drain of ${fmtInt(m.limit.jobs)} pre-filled no-op jobs, 2 threads`,
    headers: ['', 'drain jobs/s', 'main thread CPU µs/job', 'rest of consumer CPU µs/job', 'Redis CPU µs/job', 'Redis script time µs/job', 'script calls/job', 'commands/job'],
    rows: [row(TROUPE), row(LIMIT), ['Troupe ÷ limit', fmtRatio(median(limitRateRatios(m))), ...figures.map((f) => fmtRatio(limitRatio(m, f)))]],
    notes: [
      'limit: the mechanism Troupe is built on and nothing around it (bench/lib/e2e-limit.ts): 2 lanes, each a loop of lease 128 (one Lua script: LPOP, a fencing token per job, ZADD to the active set) → one Piscina task running the 128 jobs on one of 2 threads → complete 128 (one Lua script: token check, DEL, ZREM); jobs are JSON-decoded in the thread and run by the peers\' no-op processor',
      'it has no priorities, delays, retries, timeouts, renewals, reclaiming, events, metrics or retention; the gap to it is what the runtime costs on this path',
      `each phase as in the table above (own process, FLUSHALL, ${WARM_JOBS} warm-up jobs, paused, then filled); the two alternate, who goes first swapping every round; drain timed from resume to the last job finished in Redis`,
      `Troupe ÷ limit: drain rate, then each per-job figure, Troupe's over the limit's within each round, median over rounds; drain per round: ${perRound.join(', ')}`,
      'main thread: the consumer process\'s main thread (Troupe: the supervisor, its event loop and what GC runs there) from /proc/<pid>/task/<pid>/schedstat; rest: all its other threads (the 2 job threads, libuv, V8 helpers) from /proc/<pid>/stat',
      'Redis CPU: INFO cpu used_cpu_user + used_cpu_sys over the drain; script time, script calls, commands: INFO commandstats over the drain (script time includes the commands a script runs)',
      spreadNote(m.limit.rounds.length),
    ],
  };
}

function auditPerJob(m: Measured, id: string): { client: number; inScript: number } {
  const tally = m.audit.get(id)!;
  return { client: sumCounts(tally.topLevel) / m.auditJobs, inScript: sumCounts(tally.inScript) / m.auditJobs };
}

function spreadNote(rounds: number): string {
  return `median of ${rounds} round${rounds > 1 ? 's' : ''}${rounds > 1 ? '; ±: half the min-max range, relative to the median' : ''}`;
}

function throughputTable(m: Measured): Table {
  return {
    title: `Tiny jobs end to end: drain of ${fmtInt(m.jobs)} pre-filled no-op jobs, jobs/s`,
    headers: ['system', 'drain jobs/s', 'Troupe / it', 'enqueue jobs/s', 'consumer CPU µs/job', 'Redis CPU µs/job', 'RSS ready MiB', 'RSS peak MiB', 'OS threads'],
    rows: SYSTEMS.map((s) => [
      s.label,
      fmtRate(rates(m, s.id)),
      s === TROUPE ? '—' : fmtRatio(ratio(m, s.id)),
      fmtRate(m.rounds.map((r) => m.jobs / r.get(s.id)!.enqueueSeconds)),
      fmtInt(med(m, s.id, (p) => (p.consumerCpuSeconds / m.jobs) * 1e6)),
      fmtInt(med(m, s.id, (p) => (p.redisCpuSeconds / m.jobs) * 1e6)),
      MIB(med(m, s.id, (p) => p.readyRssKb)),
      MIB(med(m, s.id, (p) => p.peakRssKb)),
      String(med(m, s.id, (p) => p.osThreads)),
    ]),
    notes: [
      'drain: from resuming the warm, paused consumer to its report that the last job finished in Redis; each consumer runs in its own process (compiled, no TypeScript loader), started before the fill',
      `each phase: FLUSHALL, ${WARM_JOBS} warm-up jobs run and the consumer paused (Troupe: queue pause; BullMQ: worker.pause(); bee-queue: worker closed and a fresh one connected), then the measured jobs enqueued in batches of ${ENQUEUE_BATCH} (enqueueMany / the limit\'s enqueue script / addBulk / saveAll, one client, sequential awaits); the limit has no pause in Redis: its lanes stop once the warm-up jobs are gone`,
      'retention: completed jobs removed at once by every system (Troupe keepCompleted { count: 0 }, the limit deletes the job hash, BullMQ removeOnComplete: true, bee-queue removeOnSuccess: true); other options are the libraries\' defaults (Troupe: no scheduler, no HTTP endpoint; bee-queue worker getEvents: false)',
      'Troupe / it: Troupe\'s drain rate over that system\'s, paired within each round (the systems ran back to back, in an order rotated every round), median over rounds; against the limit (the bare mechanism, see the next table) it is below 1 by design',
      'consumer CPU: the consumer process (all its threads) during the drain, from /proc/<pid>/stat; Redis CPU: INFO cpu used_cpu_user + used_cpu_sys over the drain',
      'RSS ready: after warm-up, paused; RSS peak: VmHWM reset when ready, over enqueue and drain (also sampled every 100 ms); OS threads: /proc status Threads at the end (Node itself has 7)',
      spreadNote(m.rounds.length),
    ],
  };
}

function commandsTable(m: Measured): Table {
  return {
    title: 'Redis commands per job during the drain',
    headers: ['system', 'client-sent', 'in scripts', 'all executed', 'script calls', 'other executed'],
    rows: SYSTEMS.map((s) => {
      const audit = auditPerJob(m, s.id);
      const per = m.rounds.map((r) => perJob(r.get(s.id)!.counts, m.jobs));
      return [
        s.label,
        fmtPerJob(audit.client),
        fmtPerJob(audit.inScript),
        fmtPerJob(median(per.map((p) => p.total))),
        fmtPerJob(median(per.map((p) => p.scriptCalls))),
        fmtPerJob(median(per.map((p) => p.otherCommands))),
      ];
    }),
    notes: [
      `client-sent: commands the consumer sent to Redis, an EVALSHA counting 1 (MONITOR, a separate untimed drain of ${fmtInt(m.auditJobs)} jobs); in scripts: the redis.call()s those scripts ran (MONITOR source "lua")`,
      `all executed / script calls / other: INFO commandstats over the timed drain (CONFIG RESETSTAT first), ${fmtInt(m.jobs)} jobs, median over rounds; other = commands run inside scripts plus any sent directly`,
      'every command counts, also inside a pipeline or MULTI: bee-queue finishes a job with MULTI, LREM, SREM, HDEL, PUBLISH, EXEC (one round trip, six commands)',
      'Troupe\'s resume (MULTI HDEL RPUSH LTRIM EXEC, 5 commands) falls inside its timed window; 5 / jobs is below the precision shown',
    ],
  };
}

function detailTable(m: Measured): Table {
  const last = m.rounds[m.rounds.length - 1]!;
  return {
    title: 'Commands per job by name',
    headers: ['system', 'client-sent (MONITOR)', 'all executed, last round (top 10)'],
    rows: SYSTEMS.map((s) => [s.label, topCommands(m.audit.get(s.id)!.topLevel, m.auditJobs, 6), topCommands(last.get(s.id)!.counts.calls, m.jobs, 10)]),
    textColumns: [0, 1, 2],
  };
}

function targets(m: Measured): TargetResult[] {
  const sandbox = bestSandbox(m);
  const versus = (peer: SystemUnderTest, goal: number, what: string): TargetResult => {
    const r = ratio(m, peer.id);
    return {
      target: `tiny jobs vs ${what}`,
      goal: `>= ${goal}x`,
      measured: `${fmtRatio(r)} (${fmtInt(median(rates(m, TROUPE.id)))} vs ${fmtInt(median(rates(m, peer.id)))} jobs/s${peer === sandbox ? `, ${peer.label}, BullMQ's better sandbox` : ''})`,
      met: r >= goal,
    };
  };
  const wholeTrip = (peer: SystemUnderTest, goal: number, what: string): TargetResult => {
    const r = wholeTripRatio(m, peer.id);
    return {
      target: `tiny jobs end to end (bulk enqueue + drain) vs ${what}`,
      goal: `>= ${goal}x`,
      measured: `${fmtRatio(r)} (${fmtInt(wholeTripRate(m, TROUPE.id))} vs ${fmtInt(wholeTripRate(m, peer.id))} jobs/s over enqueue + drain)`,
      met: r >= goal,
    };
  };
  const audit = auditPerJob(m, TROUPE.id);
  const limitJobs = fmtInt(m.limit.jobs);
  const versusLimit = median(limitRateRatios(m));
  const mainCpu = limitMedian(m, TROUPE.id, LIMIT_FIGURES.mainCpu);
  const redisCpu = limitMedian(m, TROUPE.id, LIMIT_FIGURES.redisCpu);
  return [
    {
      target: `drain of ${limitJobs} tiny jobs, 2 threads, vs the bare mechanism (limit row, same run)`,
      goal: `>= ${GOALS.limit}x`,
      measured: `${fmtRatio(versusLimit)} (${fmtInt(median(limitRates(m, TROUPE.id)))} vs ${fmtInt(median(limitRates(m, LIMIT.id)))} jobs/s)`,
      met: versusLimit >= GOALS.limit,
    },
    {
      target: 'supervisor CPU per tiny job (main thread), in that drain',
      goal: `<= ${GOALS.supervisorUsPerJob} µs`,
      measured: `${fmtPerJob(mainCpu)} µs (limit: ${fmtPerJob(limitMedian(m, LIMIT.id, LIMIT_FIGURES.mainCpu))} µs)`,
      met: mainCpu <= GOALS.supervisorUsPerJob,
    },
    {
      target: 'Redis CPU per tiny job, in that drain',
      goal: `<= ${GOALS.redisUsPerJob} µs`,
      measured: `${fmtPerJob(redisCpu)} µs (limit: ${fmtPerJob(limitMedian(m, LIMIT.id, LIMIT_FIGURES.redisCpu))} µs)`,
      met: redisCpu <= GOALS.redisUsPerJob,
    },
    versus(sandbox, GOALS.sandboxed, 'BullMQ sandboxed'),
    versus(BULL_INLINE, GOALS.inline, 'BullMQ inline'),
    versus(BEE, GOALS.bee, 'bee-queue'),
    wholeTrip(BEE, WHOLE_TRIP_GOALS.bee, 'bee-queue'),
    wholeTrip(BULL_INLINE, WHOLE_TRIP_GOALS.inline, 'BullMQ inline'),
    {
      target: 'Redis commands per job at saturation (client-sent, EVALSHA = 1)',
      goal: `<= ${GOALS.clientCommandsPerJob}`,
      measured: `${fmtPerJob(audit.client)} client-sent; ${fmtPerJob(audit.inScript)} run inside scripts (MONITOR, full-speed drain)`,
      met: audit.client <= GOALS.clientCommandsPerJob,
    },
  ];
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const limitConfig = options.quick ? LIMIT_QUICK : LIMIT_FULL;
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  options.log('end-to-end: compiling the sources for the consumer processes');
  const build = await buildForBench();
  if (build.warnings) options.log(`end-to-end: the compiler complained but emitted (work in progress elsewhere?):\n${build.warnings.split('\n').slice(0, 5).join('\n')}`);
  const server = await startPrivateRedis();
  const admin = new Redis(server.url);
  try {
    const ctx: PhaseContext = { admin, redisUrl: server.url, build };
    const measured: Measured = { rounds: [], audit: new Map(), jobs: config.jobs, auditJobs: config.auditJobs, limit: { rounds: [], jobs: limitConfig.jobs } };
    for (let r = 1; r <= config.rounds; r++) {
      const round: Round = new Map();
      const bar = options.progress(`end-to-end round ${r}/${config.rounds}`, SYSTEMS.length);
      for (const system of rotate(SYSTEMS, r - 1)) {
        const result = await runPhase(ctx, system, `e2e-${system.id}-r${r}`, config.jobs, commandStatsProbe(admin));
        round.set(system.id, result);
        bar.tick();
        options.log(`end-to-end round ${r}  ${system.label.padEnd(30)} ${fmtInt(config.jobs / result.drainSeconds).padStart(8)} jobs/s  ${result.drainSeconds.toFixed(2)} s`);
      }
      bar.done();
      measured.rounds.push(round);
    }
    for (let r = 1; r <= limitConfig.rounds; r++) {
      const round: Round = new Map();
      const bar = options.progress(`end-to-end vs the limit, round ${r}/${limitConfig.rounds}`, LIMIT_PAIR.length);
      for (const system of rotate(LIMIT_PAIR, r - 1)) {
        const result = await runPhase(ctx, system, `e2e-limit-${system.id}-r${r}`, limitConfig.jobs, commandStatsProbe(admin));
        round.set(system.id, result);
        bar.tick();
        options.log(
          `end-to-end vs limit ${r}  ${system.label.padEnd(30)} ${fmtInt(limitConfig.jobs / result.drainSeconds).padStart(8)} jobs/s  ${result.drainSeconds.toFixed(2)} s  main thread ${fmtPerJob(usPerJob(result.mainThreadCpuSeconds, limitConfig.jobs))} µs/job  Redis ${fmtPerJob(usPerJob(result.redisCpuSeconds, limitConfig.jobs))} µs/job`,
        );
      }
      bar.done();
      measured.limit.rounds.push(round);
    }
    options.log(`end-to-end: MONITOR audit (${config.auditJobs} jobs per system, untimed)`);
    for (const system of SYSTEMS) {
      measured.audit.set(system.id, (await runPhase(ctx, system, `e2e-${system.id}-audit`, config.auditJobs, monitorProbe(admin))).counts);
    }
    const sandbox = bestSandbox(measured);
    return {
      name: 'end-to-end',
      title: `Tiny jobs end to end: Troupe vs the limit, BullMQ and bee-queue${options.quick ? ' (quick run: 1 round, few jobs; not for comparison)' : ''}`,
      about: [
        `${started.toISOString()}, commit ${commit} (read at the start)`,
        machineLine(await redisVersion(admin)),
        loadLine(loadBefore),
        `${config.rounds} round${config.rounds > 1 ? 's' : ''} of ${fmtInt(config.jobs)} jobs per system; BullMQ sandboxed runs at 2 and 8 threads and the targets use its better one (${sandbox.label})`,
        `then Troupe against the limit alone: ${limitConfig.rounds} round${limitConfig.rounds > 1 ? 's' : ''} of ${fmtInt(limitConfig.jobs)} jobs each, alternating; Troupe / limit ${fmtRatio(median(limitRateRatios(measured)))}`,
      ],
      tables: [throughputTable(measured), limitTable(measured), commandsTable(measured)],
      detailTables: [detailTable(measured)],
      targets: targets(measured),
      charts: [
        {
          file: 'throughput',
          chart: {
            title: `No-op jobs drained, jobs/s (${fmtInt(config.jobs)} jobs, median)`,
            xLabel: 'system (sbx n: BullMQ sandboxed on n worker threads; Troupe and the limit on 2)',
            yLabel: 'jobs/s',
            kind: 'bar',
            categories: SYSTEMS.map((s) => s.short),
            series: [{ name: 'drain jobs/s', points: SYSTEMS.map((s, i) => [i, median(rates(measured, s.id))] as const) }],
          },
        },
      ],
    };
  } finally {
    await admin.quit().catch(() => admin.disconnect()); // Quit fails if the server already died; then just drop the socket.
    await server.destroy();
    build.remove();
  }
}

export const bench: Bench = { name: 'end-to-end', run };
