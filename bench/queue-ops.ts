import os from 'node:os';
import { Redis } from 'ioredis';
import { DEFAULT_JOB_OPTIONS } from '../src/index.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { commandStatsProbe, nullProbe, perJob, sumCounts, topCommands, type CommandStats, type Probe } from './lib/commandstats.js';
import { monitorProbe, type MonitorTally } from './lib/monitor.js';
import type { Bench, BenchOptions, BenchResult } from './lib/report.js';
import { gitCommit, loadLine, machineLine, redisVersion } from './lib/env.js';
import { fmtInt, fmtPerJob, fmtRate, fmtRatio, median, rotate } from './lib/stats.js';
import type { Table } from './lib/table.js';
import { openWorkload, type System, type Target, type WorkloadSpec } from './lib/workloads.js';

/** Multiples of the largest batch, so every batch size sends only full batches. */
const FULL = { jobs: 20_480, rounds: 5, auditJobs: 2_048 };
const QUICK = { jobs: 2_048, rounds: 1, auditJobs: 512 };
const WARMUP_JOBS = 512;
const BATCHES = [1, 16, 128] as const;
const CONSUMERS = [1, 2] as const;
const ENQUEUE_SYSTEMS: readonly System[] = ['troupe', 'bullmq', 'bee-queue'];
/** Past this many completed jobs, Troupe's complete() also trims (default retention). */
const TROUPE_KEEP_COMPLETED = DEFAULT_JOB_OPTIONS.keepCompleted.count ?? Number.POSITIVE_INFINITY;
/** A phase slower than this makes a round drag on a noisy box; worth a warning to scale down. */
const SLOW_PHASE_S = 10;

interface Phase extends WorkloadSpec {
  id: string;
  label: string;
}

function phaseLabel(p: WorkloadSpec): string {
  const many = p.batch > 1;
  const who = `${p.consumers} consumer${p.consumers > 1 ? 's' : ''}`;
  if (p.kind === 'drain') {
    return p.system === 'troupe' ? `Troupe lease(${p.batch})+complete, ${who}` : `BullMQ getNextJob+moveToCompleted, ${who}`;
  }
  if (p.system === 'troupe') return many ? `Troupe enqueueMany(${p.batch})` : 'Troupe enqueue()';
  if (p.system === 'bullmq') return many ? `BullMQ addBulk(${p.batch})` : 'BullMQ add()';
  return many ? `bee-queue saveAll(${p.batch})` : 'bee-queue save()';
}

function phase(kind: WorkloadSpec['kind'], system: System, batch: number, consumers: number): Phase {
  const spec = { kind, system, batch, consumers };
  return { ...spec, id: `${kind}-${system}-b${batch}-c${consumers}`, label: phaseLabel(spec) };
}

/**
 * Every phase of one round. Peers run back to back for each configuration, in an order that
 * rotates with the round, so drift on the machine hits them alike and none is always first.
 */
function roundPhases(round: number): Phase[] {
  const phases: Phase[] = [];
  for (const batch of BATCHES) {
    for (const system of rotate(ENQUEUE_SYSTEMS, round)) phases.push(phase('enqueue', system, batch, 1));
  }
  for (const batch of BATCHES) {
    for (const consumers of CONSUMERS) {
      // BullMQ leases one job per call, so it only has a batch-1 counterpart.
      const systems: System[] = batch === 1 ? rotate(['troupe', 'bullmq'], round) : ['troupe'];
      for (const system of systems) phases.push(phase('drain', system, batch, consumers));
    }
  }
  return phases;
}

interface Measurement<T> {
  seconds: number;
  counts: T;
}

async function measure<T>(admin: Redis, target: Target, p: Phase, queueName: string, jobs: number, probe: Probe<T>): Promise<Measurement<T>> {
  // Every phase starts from an empty keyspace, so earlier phases' data cannot slow later ones.
  await admin.flushall();
  const workload = await openWorkload(p, target, queueName, jobs);
  try {
    await workload.prepare();
    await probe.start();
    const started = performance.now();
    await workload.run();
    const seconds = (performance.now() - started) / 1000;
    const counts = await probe.stop();
    await workload.verify();
    return { seconds, counts };
  } finally {
    await workload.close();
  }
}

type Round = Map<string, Measurement<CommandStats>>;

/** Runs phases one after another under one progress bar. */
async function phaseGroup(options: BenchOptions, label: string, phases: readonly Phase[], each: (p: Phase) => Promise<unknown>): Promise<void> {
  const bar = options.progress(label, phases.length);
  try {
    for (const p of phases) {
      await each(p);
      bar.tick();
    }
  } finally {
    bar.done();
  }
}

/** Bar charts of the two throughput tables: jobs/s per system at each batch size (medians). */
function buildCharts(rounds: Round[], jobs: number): NonNullable<BenchResult['charts']> {
  const rate = (id: string) => median(rounds.map((r) => jobs / r.get(id)!.seconds));
  const name: Record<System, string> = { troupe: 'Troupe', bullmq: 'BullMQ', 'bee-queue': 'bee-queue' };
  const drainGroups = BATCHES.flatMap((batch) => CONSUMERS.map((consumers) => ({ batch, consumers })));
  return [
    {
      file: 'enqueue',
      chart: {
        kind: 'bar',
        title: `Enqueue: jobs/s by batch size (${fmtInt(jobs)} jobs, median)`,
        xLabel: 'jobs per call (batch)',
        yLabel: 'jobs/s',
        categories: BATCHES.map(String),
        series: ENQUEUE_SYSTEMS.map((system) => ({ name: name[system], points: BATCHES.map((b, i) => [i, rate(phase('enqueue', system, b, 1).id)] as const) })),
      },
    },
    {
      file: 'drain',
      chart: {
        kind: 'bar',
        title: `Lease+complete: jobs/s by batch size and consumers (${fmtInt(jobs)} jobs, median)`,
        xLabel: 'jobs per lease (batch) × consumers',
        yLabel: 'jobs/s',
        categories: drainGroups.map((g) => `b${g.batch} × ${g.consumers}`),
        series: [
          { name: 'Troupe', points: drainGroups.map((g, i) => [i, rate(phase('drain', 'troupe', g.batch, g.consumers).id)] as const) },
          // BullMQ has no batch lease: it has a bar at batch 1 only.
          { name: 'BullMQ', points: drainGroups.map((g, i) => [i, g.batch === 1 ? rate(phase('drain', 'bullmq', 1, g.consumers).id) : Number.NaN] as const) },
        ],
      },
    },
  ];
}

function buildTables(rounds: Round[], audit: Map<string, MonitorTally>, jobs: number, auditJobs: number): { tables: Table[]; details: Table[] } {
  const canonical = roundPhases(0);
  const byId = (kind: WorkloadSpec['kind'], system: System, batch: number, consumers: number) => phase(kind, system, batch, consumers).id;
  const rates = (id: string) => rounds.map((r) => jobs / r.get(id)!.seconds);
  // Ratios pair the runs of one round (adjacent in time), then take the median over rounds.
  const ratio = (a: string, b: string) => median(rounds.map((r) => r.get(b)!.seconds / r.get(a)!.seconds));
  const spreadNote = `median of ${rounds.length} round${rounds.length > 1 ? 's' : ''}${rounds.length > 1 ? '; ±: half the min-max range, relative to the median' : ''}`;

  const enqueue: Table = {
    title: `Enqueue throughput, jobs/s (${fmtInt(jobs)} jobs of { n: i }, one client, sequential awaits)`,
    headers: ['batch', 'Troupe', 'BullMQ', 'bee-queue', 'Troupe/BullMQ', 'Troupe/bee-queue'],
    rows: BATCHES.map((b) => {
      const [t, m, q] = ENQUEUE_SYSTEMS.map((s) => byId('enqueue', s, b, 1)) as [string, string, string];
      return [String(b), fmtRate(rates(t)), fmtRate(rates(m)), fmtRate(rates(q)), fmtRatio(ratio(t, m)), fmtRatio(ratio(t, q))];
    }),
    notes: [
      'batch 1: enqueue() / add() / createJob().save(); batch > 1: enqueueMany() / addBulk() / saveAll()',
      spreadNote,
      'ratios: median of per-round ratios (the peers ran back to back within each round)',
    ],
  };

  const drain: Table = {
    title: `Lease+complete throughput, jobs/s (${fmtInt(jobs)} pre-filled jobs, drained until empty)`,
    headers: ['batch', 'consumers', 'Troupe', 'BullMQ manual (b1)', 'Troupe/BullMQ b1'],
    textColumns: [],
    rows: BATCHES.flatMap((b) =>
      CONSUMERS.map((c) => {
        const t = byId('drain', 'troupe', b, c);
        const m = byId('drain', 'bullmq', 1, c);
        return [String(b), String(c), fmtRate(rates(t)), b === 1 ? fmtRate(rates(m)) : '—', fmtRatio(ratio(t, m))];
      }),
    ),
    notes: [
      'Troupe: loop consumer.lease(owner, batch, 30000) then consumer.complete(...) until a lease comes back empty',
      'BullMQ: Worker({ autorun: false }), loop getNextJob(token, { block: false }) then job.moveToCompleted(null, token, false); it has no batch lease, so Troupe batch 16/128 is compared with its batch-1 rate (same consumer count)',
      '2 consumers: separate QueueConsumer / Worker instances with their own connections, in one Node process',
      spreadNote,
    ],
  };

  const commandRows = canonical.map((p) => {
    const per = rounds.map((r) => perJob(r.get(p.id)!.counts, jobs));
    const tally = audit.get(p.id);
    return [
      p.label,
      fmtPerJob(median(per.map((x) => x.scriptCalls))),
      fmtPerJob(median(per.map((x) => x.otherCommands))),
      fmtPerJob(median(per.map((x) => x.total))),
      median(per.map((x) => x.scriptUsec)).toFixed(1),
      tally ? fmtPerJob(sumCounts(tally.topLevel) / auditJobs) : '—',
      tally ? fmtPerJob(sumCounts(tally.inScript) / auditJobs) : '—',
    ];
  });
  const commands: Table = {
    title: 'Redis commands per job',
    headers: ['phase', 'script calls', 'other cmds', 'total cmds', 'Redis µs', 'client-sent (MONITOR)', 'in-script (MONITOR)'],
    rows: commandRows,
    notes: [
      `script calls / other / total: INFO commandstats over the timed window (CONFIG RESETSTAT first), ${fmtInt(jobs)} jobs, median over rounds; script calls = evalsha + eval; other = commands run inside scripts plus any sent directly`,
      'Redis µs: server time in script calls per job (commandstats usec, which includes the commands a script runs); Redis is single-threaded, so this bounds throughput at 1e6 / µs jobs/s',
      `client-sent / in-script: a separate untimed pass of ${fmtInt(auditJobs)} jobs under MONITOR, which tells a client's commands (round trips if unpipelined) from those a script ran (source "lua")`,
      'pipelining is not visible here: BullMQ addBulk and bee-queue saveAll send their N script calls in one pipeline (one network round trip, N script calls per batch); Troupe enqueueMany sends one script call per batch of up to 1000',
      ...(jobs > TROUPE_KEEP_COMPLETED && auditJobs <= TROUPE_KEEP_COMPLETED
        ? [`Troupe keeps the newest ${fmtInt(TROUPE_KEEP_COMPLETED)} completed jobs: past that, every complete call also trims (ZRANGE + DEL + ZREMRANGEBYRANK). The timed runs get there, the smaller audit does not, hence total > client-sent + in-script for Troupe lease+complete`]
        : []),
    ],
  };

  const last = rounds[rounds.length - 1]!;
  const details: Table = {
    title: 'Per-phase detail (commands per job from the last round; client-sent commands from the MONITOR pass)',
    headers: ['phase', 'median s', 'client-sent', 'all commands executed (top 10)'],
    rows: canonical.map((p) => {
      const tally = audit.get(p.id);
      return [
        p.label,
        median(rounds.map((r) => r.get(p.id)!.seconds)).toFixed(2),
        tally ? topCommands(tally.topLevel, auditJobs, 5) : '',
        topCommands(last.get(p.id)!.counts.calls, jobs, 10),
      ];
    }),
    textColumns: [0, 2, 3],
  };
  return { tables: [enqueue, drain, commands], details: [details] };
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  const server = await startPrivateRedis();
  const admin = new Redis(server.url);
  try {
    const target: Target = { url: server.url, host: '127.0.0.1', port: server.port };
    const version = await redisVersion(admin);
    const name = (tag: string, p: Phase) => `qo-${tag}-${p.id}`;

    // Loads every script into the server and warms the JIT, so neither shows up in round 1.
    options.log(`queue-ops: warm-up (${WARMUP_JOBS} jobs per phase)`);
    await phaseGroup(options, 'queue-ops warm-up', roundPhases(0), (p) => measure(admin, target, p, name('warm', p), Math.min(WARMUP_JOBS, config.jobs), nullProbe()));

    const rounds: Round[] = [];
    for (let r = 1; r <= config.rounds; r++) {
      const round: Round = new Map();
      const roundStart = performance.now();
      await phaseGroup(options, `queue-ops round ${r}/${config.rounds}`, roundPhases(r), async (p) => {
        const m = await measure(admin, target, p, name(`r${r}`, p), config.jobs, commandStatsProbe(admin));
        round.set(p.id, m);
        const slow = m.seconds > SLOW_PHASE_S ? '  (slow: consider fewer jobs)' : '';
        options.log(`queue-ops round ${r}/${config.rounds}  ${p.label.padEnd(52)} ${fmtInt(config.jobs / m.seconds).padStart(8)} jobs/s  ${m.seconds.toFixed(2)} s${slow}`);
      });
      rounds.push(round);
      options.log(`queue-ops round ${r}/${config.rounds} done in ${((performance.now() - roundStart) / 1000).toFixed(1)} s`);
    }

    options.log(`queue-ops: MONITOR audit (${config.auditJobs} jobs per phase, untimed)`);
    const audit = new Map<string, MonitorTally>();
    await phaseGroup(options, 'queue-ops MONITOR audit', roundPhases(0), async (p) => {
      audit.set(p.id, (await measure(admin, target, p, name('audit', p), config.auditJobs, monitorProbe(admin))).counts);
    });

    const { tables, details } = buildTables(rounds, audit, config.jobs, config.auditJobs);
    return {
      name: 'queue-ops',
      title: `Queue operations: Troupe vs BullMQ vs bee-queue${options.quick ? ' (quick run: 1 round, few jobs; not for comparison)' : ''}`,
      about: [
        `${started.toISOString()}, commit ${commit} (read at the start)`,
        machineLine(version),
        loadLine(loadBefore),
        `${config.rounds} round${config.rounds > 1 ? 's' : ''} of ${fmtInt(config.jobs)} jobs per phase after a ${WARMUP_JOBS}-job warm-up; FLUSHALL and a fresh queue name before every phase`,
        `library defaults otherwise: Troupe keeps the newest ${fmtInt(TROUPE_KEEP_COMPLETED)} completed jobs (trimming in complete), BullMQ keeps every completed job, bee-queue producer only (isWorker: false)`,
      ],
      tables,
      detailTables: details,
      charts: buildCharts(rounds, config.jobs),
    };
  } finally {
    await admin.quit().catch(() => admin.disconnect()); // Quit fails if the server already died; then just drop the socket.
    await server.destroy();
  }
}

export const bench: Bench = { name: 'queue-ops', run };
