/**
 * Latency under paced load: Troupe vs BullMQ (inline and sandboxed Worker). Each system's
 * capacity is measured first in this run, by several producer processes flooding it hard enough
 * that the consumer, not the producers, sets the rate (the report says which did); then the same
 * producers share one open-loop schedule of single-job enqueues at 25, 50 and 75% of that
 * capacity, and at rates common to all, and every job's wait and end-to-end latency go into HDR
 * histograms.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { capacityOf, medianCapacity, type Capacity, type MeasuredCapacity } from './lib/latency-capacity.js';
import { BULLMQ_INLINE_CONCURRENCY, CONSUMER_LABEL, openConsumer, THREADS, type ConsumerSystem, type LatencyConsumer } from './lib/latency-consumers.js';
import { aggregate, interleaveRounds, type PhaseSpec, type RoundResult } from './lib/latency-aggregate.js';
import { fmtMs, recordAll } from './lib/latency-record.js';
import { capacityTable, capacityWarnings, commonRateTable, commonRateTargets, COMMON_RATE, e2eChart, latencyTarget, ownCapacityTarget, ownLoadTable, roundsTable } from './lib/latency-tables.js';
import { ProducerPool } from './lib/paced-pool.js';
import { producerCount } from './lib/paced-split.js';
import { commonRates, levelRates, wallNow } from './lib/paced-schedule.js';
import type { Bench, BenchOptions, BenchResult } from './lib/report.js';
import { loadLine, machineLine, redisVersion } from './lib/env.js';
import { fmtInt } from './lib/stats.js';

/** Each level runs `rounds` × `roundMs` per system: 10 s in all (FULL), 2 s (QUICK). */
const FULL = { roundMs: 2_000, rounds: 5, capacityJobs: 20_000, capacityRounds: 3, warmupJobs: 5_000 };
const QUICK = { roundMs: 1_000, rounds: 2, capacityJobs: 2_000, capacityRounds: 2, warmupJobs: 2_000 };
type Config = typeof FULL;
const FRACTIONS = [0.25, 0.5, 0.75] as const;
/** BullMQ latency is commonly quoted at 200 jobs/s: measure there too. */
const FIXED_RATES = [COMMON_RATE] as const;
const SYSTEMS: readonly ConsumerSystem[] = ['troupe', 'bullmq-inline', 'bullmq-sandboxed'];
/**
 * The capacity flood: bulk enqueues (Troupe enqueueMany, BullMQ addBulk), `batch` jobs a call,
 * `window` calls in flight per producer. Single enqueues cannot saturate Troupe on 2 cores: with
 * 1 to 4 producers of 16 single calls in flight, jobs completed as fast as they were sent
 * (15–22k/s, producers and Redis taking the CPU), while bulk arrivals backlog it at ~35k/s.
 * 256 a call rather than 128: alternated under load, producers sent ~50k/s instead of ~45k and
 * left the consumer more CPU. Every job still carries its send stamp (a call's jobs share it),
 * so capacity is still jobs / (first send → last completion).
 */
const FLOOD = { window: 4, batch: 256 } as const;
/** The warm-up's single-job flood, which also warms the producers' one-job-a-call path the levels use. */
const SINGLE = { window: 16, batch: 1 } as const;
/**
 * Producer processes, for the capacity flood and, sharing one schedule, for the paced levels.
 * One process enqueueing single jobs tops out below Troupe's drain rate on a 2-core machine, and
 * one bulk producer only just outruns it (sends ~5% faster than completions, under the verdict's 10%).
 */
const PRODUCERS_ENV = 'TROUPE_LATENCY_PRODUCERS';
const DEFAULT_PRODUCERS = 3;
/** A paced run starts this long after it is requested, so every producer gets the message first. */
const LEAD_MS = 300;
/** A phase's jobs must all complete within this after the last send; more means something is stuck. */
const DRAIN_TIMEOUT_MS = 120_000;

/** Sends `jobs` as fast as the producers go and waits for all of them. */
async function flood(pool: ProducerPool, c: LatencyConsumer, processor: string, jobs: number, shape: { window: number; batch: number }) {
  c.begin();
  const send = await pool.flood(c.queue, processor, jobs, shape.window, shape.batch);
  if (send.failed > 0) throw new Error(`${c.system}: ${send.failed} enqueues failed: ${send.firstError}`);
  await c.waitFor(jobs, DRAIN_TIMEOUT_MS);
  return send;
}

async function measureCapacity(options: BenchOptions, config: Config, pool: ProducerPool, c: LatencyConsumer): Promise<MeasuredCapacity> {
  // Threads up, scripts loaded, JIT warm, for both job kinds, before anything is timed: the
  // first thousand single-job round trips through a fresh supervisor ran at half speed.
  await flood(pool, c, 'noop', config.warmupJobs, FLOOD);
  await flood(pool, c, 'latency-probe', config.warmupJobs, SINGLE);
  await c.cleanup();
  const probes: Capacity[] = [];
  for (let r = 0; r < config.capacityRounds; r++) {
    const send = await flood(pool, c, 'noop', config.capacityJobs, FLOOD);
    const probe = capacityOf(c.stamps(), send.sendingMs);
    probes.push(probe);
    await c.cleanup();
    options.log(`latency: ${CONSUMER_LABEL[c.system]} capacity probe ${r + 1}/${config.capacityRounds}: ${fmtInt(probe.drainRate)} jobs/s (producers sent ${fmtInt(probe.sendRate)}/s; set by the ${probe.limitedBy})`);
  }
  return medianCapacity(probes);
}

async function runRound(config: Config, pool: ProducerPool, c: LatencyConsumer, spec: PhaseSpec, round: number): Promise<RoundResult> {
  c.begin();
  const send = await pool.paced(c.queue, 'latency-probe', spec.rate, config.roundMs, wallNow() + LEAD_MS);
  if (send.failed > 0) throw new Error(`${c.system}: ${send.failed} of ${send.sent} enqueues failed: ${send.firstError}`);
  await c.waitFor(send.sent, DRAIN_TIMEOUT_MS);
  const loadAvg = os.loadavg()[0]!;
  const times = await c.collect();
  if (times.length !== send.sent) throw new Error(`${c.system}: ${send.sent} jobs sent, ${times.length} came back with all their stamps`);
  await c.cleanup();
  return { spec, round, send, recorder: recordAll(times), loadAvg };
}

/** The phases of the run: own-capacity levels, then common rates. */
function planPhases(capacities: ReadonlyMap<ConsumerSystem, MeasuredCapacity>): PhaseSpec[] {
  const phases: PhaseSpec[] = [];
  for (const fraction of FRACTIONS) {
    for (const system of SYSTEMS) phases.push({ system, fraction, rate: levelRates(capacities.get(system)!.drainRate, [fraction])[0]! });
  }
  for (const rate of commonRates([...capacities.values()].map((c) => c.drainRate), FIXED_RATES)) {
    for (const system of SYSTEMS) phases.push({ system, rate });
  }
  return phases;
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const started = new Date();
  const loadBefore = os.loadavg();
  const producers = producerCount(process.env[PRODUCERS_ENV], DEFAULT_PRODUCERS, PRODUCERS_ENV);
  const server = await startPrivateRedis();
  const pool = ProducerPool.start(producers);
  const consumers = new Map<ConsumerSystem, LatencyConsumer>();
  try {
    const admin = new Redis(server.url);
    const version = await redisVersion(admin);
    await admin.quit();
    const offset = await pool.clockOffset();
    for (const system of SYSTEMS) {
      const c = await openConsumer(system, server.url, `lat-${system}`);
      consumers.set(system, c);
      await pool.open(c.producer, server.url, c.queue);
    }

    const capacities = new Map<ConsumerSystem, MeasuredCapacity>();
    for (const system of SYSTEMS) capacities.set(system, await measureCapacity(options, config, pool, consumers.get(system)!));
    const warnings = capacityWarnings(capacities);
    for (const w of warnings) options.log(`latency: WARNING: ${w}`);

    const plan = interleaveRounds(planPhases(capacities), SYSTEMS.length, config.rounds);
    const bar = options.progress('latency rounds', plan.length);
    const rounds: RoundResult[] = [];
    for (const { spec, round } of plan) {
      const r = await runRound(config, pool, consumers.get(spec.system)!, spec, round);
      rounds.push(r);
      bar.tick();
      const rep = r.recorder.report();
      const load = spec.fraction === undefined ? 'common' : `${Math.round(spec.fraction * 100)}%`;
      options.log(
        `latency r${round + 1} ${CONSUMER_LABEL[spec.system].padEnd(16)} ${load.padStart(6)} ${fmtInt(spec.rate).padStart(6)}/s  wait p50/p99 ${fmtMs(rep.wait.p50)}/${fmtMs(rep.wait.p99)} ms  e2e p99 ${fmtMs(rep.endToEnd.p99)} ms  producer late p99 ${fmtMs(rep.producerLate.p99)} ms  load ${r.loadAvg.toFixed(2)}`,
      );
    }
    bar.done();
    const rows = aggregate(rounds);

    const backwards = rows.reduce((n, r) => n + r.backwards, 0);
    return {
      name: 'latency',
      title: `Latency under paced load: Troupe vs BullMQ${options.quick ? ' (quick run: short levels; not for comparison)' : ''}`,
      about: [
        `${started.toISOString()}; ${machineLine(version)}`,
        loadLine(loadBefore),
        ...warnings.map((w) => `**WARNING: ${w}**`),
        `consumers, all in the bench process, one queue each: Troupe = a real Supervisor with ${THREADS} threads (default prefetch and packing; HTTP, scheduler and metrics log lines off) running a no-op plugin (bench/lib/latency-probe-plugin.mjs); BullMQ inline = Worker with an async function, concurrency ${BULLMQ_INLINE_CONCURRENCY}; BullMQ sandboxed = Worker with a processor file, useWorkerThreads, concurrency ${THREADS}`,
        `producers: ${producers} separate Node processes (bench/lib/paced-producer.ts; ${PRODUCERS_ENV}=${producers}${producers === DEFAULT_PRODUCERS ? ', the default' : ''}), the same for every system, so their CPU is not the consumers' event loop; the capacity flood sends ${FLOOD.batch} jobs per bulk call (Troupe enqueueMany(), BullMQ addBulk()), the paced levels one enqueue call per job (Troupe enqueue(), BullMQ add())`,
        `open loop: send times are fixed in advance, evenly spaced at the rate, and split across the ${producers} producers by slot (producer k sends jobs i ≡ k mod ${producers} of the one schedule); a producer never waits for a reply, and when behind it sends at once. Latency counts from the *scheduled* send time, so a stall is charged to every job it delayed (no coordinated omission); the producers' own lateness is shown separately`,
        `each level runs ${config.rounds} rounds of ${config.roundMs / 1000} s per system (${(config.rounds * config.roundMs) / 1000} s in all); round r of every level and system runs before round r + 1, with the systems' order rotating, so outside load on this shared machine hits one round rather than one system; every round's jobs complete before the next round starts`,
        `stamps: performance.timeOrigin + performance.now() (wall clock, µs resolution) in every process and thread; the scheduled and actual send times travel in the job's payload; the processor stamps its start into its result; completion is stamped where the consumer learns Redis took the outcome (Troupe: the supervisor's 'settled' event; BullMQ: the Worker's 'completed' event, after moveToFinished)`,
        `clock agreement: every producer's clock is within [${offset.low.toFixed(3)}, ${offset.high.toFixed(3)}] ms of the bench's (50 IPC pings); threads share the process clock; ${backwards} stamps across all phases ran backwards`,
        `histograms: HDR, whole µs, 3 significant digits (src/metrics/latency.ts)`,
      ],
      tables: [capacityTable(capacities, { producers, ...FLOOD, rounds: config.capacityRounds }), ownLoadTable(rows, config.rounds), commonRateTable(rows)],
      detailTables: [roundsTable(rounds)],
      targets: [latencyTarget(rows), ownCapacityTarget(rows, capacities.get('troupe')!), ...commonRateTargets(rows)],
      charts: [e2eChart(rows, SYSTEMS)],
    };
  } finally {
    // Each part is stopped even when another fails to, so nothing outlives the bench.
    const stopping = (what: string) => (err: unknown) => options.log(`latency: stopping ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    await pool.stop().catch(stopping('the producers'));
    for (const c of consumers.values()) await c.close().catch(stopping(CONSUMER_LABEL[c.system]));
    await server.destroy();
  }
}

export const bench: Bench = { name: 'latency', run };
