/** The scale bench's tables and target, from what it measured (pure: data in, tables out). */
import { perJob, topCommands } from './commandstats.js';
import type { TargetResult } from './report.js';
import type { DepthFill, ScriptTimes, SliceResult } from './scale-depth.js';
import { commandsPerSecond, type IdleWindow, type QueuesConfig, type QueuesPhase } from './scale-queues.js';
import { byLastCommand } from './scale-redis.js';
import { fmtInt, fmtPerJob, fmtRate, fmtRatio, median } from './stats.js';
import type { Table } from './table.js';

/** Lease+complete at the deepest queue against the shallowest (the issue: "must not slow down with depth"). */
export const DEPTH_GOAL = 0.9;

export interface DepthMeasured {
  depths: number[];
  slice: number;
  scriptJobs: number;
  scriptRounds: number;
  /** One slice per depth per round, the depths in an order rotated every round. */
  rounds: Array<Map<number, SliceResult>>;
  fills: Map<number, DepthFill>;
  scripts: Map<number, ScriptTimes>;
}

export interface QueuesMeasured {
  counts: number[];
  config: QueuesConfig;
  rounds: Array<Map<number, QueuesPhase>>;
  /** Redis with no supervisor connected, one idle window per round. */
  baseline: IdleWindow[];
}

const MIB = 1024 * 1024;
const us = (seconds: number, jobs: number) => (seconds / jobs) * 1e6;

function spreadNote(rounds: number): string {
  return `median of ${rounds} round${rounds > 1 ? 's' : ''}${rounds > 1 ? '; ±: half the min-max range, relative to the median' : ''}`;
}

/** One figure of `key`'s result in every round. */
function perRound<P>(rounds: ReadonlyArray<ReadonlyMap<number, P>>, key: number, pick: (p: P) => number): number[] {
  return rounds.map((r) => pick(r.get(key)!));
}

/** `key`'s rate over `base`'s, paired within each round (adjacent in time), median over rounds. */
function pairedRatio<P>(rounds: ReadonlyArray<ReadonlyMap<number, P>>, base: number, key: number, seconds: (p: P) => number): number {
  return median(rounds.map((r) => seconds(r.get(base)!) / seconds(r.get(key)!)));
}

const sliceRates = (m: DepthMeasured, depth: number): number[] => perRound(m.rounds, depth, (s) => s.jobs / s.seconds);

/** This depth's rate over the smallest depth's, paired within each round, median over rounds. */
export function depthRatio(m: DepthMeasured, depth: number): number {
  return pairedRatio(m.rounds, m.depths[0]!, depth, (s) => s.seconds);
}

const sliceMedian = (m: DepthMeasured, depth: number, pick: (s: SliceResult) => number): number => median(perRound(m.rounds, depth, pick));

export function depthTable(m: DepthMeasured): Table {
  return {
    title: `Lease+complete with N jobs pending: slices of ${fmtInt(m.slice)} jobs, lease ${128} + complete per call, one client`,
    headers: ['pending', 'jobs/s', '÷ smallest depth', 'lease µs/job (client)', 'complete µs/job (client)', 'Redis CPU µs/job', 'Redis CPU ÷ smallest', 'script time µs/job', 'commands/job'],
    textColumns: [],
    rows: m.depths.map((d) => [
      fmtInt(d),
      fmtRate(sliceRates(m, d)),
      d === m.depths[0] ? '—' : fmtRatio(depthRatio(m, d)),
      fmtPerJob(sliceMedian(m, d, (s) => us(s.leaseSeconds, s.jobs))),
      fmtPerJob(sliceMedian(m, d, (s) => us(s.completeSeconds, s.jobs))),
      fmtPerJob(sliceMedian(m, d, (s) => us(s.redisCpuSeconds, s.jobs))),
      d === m.depths[0] ? '—' : fmtRatio(median(m.rounds.map((r) => r.get(d)!.redisCpuSeconds / r.get(m.depths[0]!)!.redisCpuSeconds))),
      fmtPerJob(sliceMedian(m, d, (s) => perJob(s.counts, s.jobs).scriptUsec)),
      fmtPerJob(sliceMedian(m, d, (s) => perJob(s.counts, s.jobs).total)),
    ]),
    notes: [
      `each depth on a redis-server of its own (so the keyspace is that depth's alone), one queue filled once to N pending no-op jobs; at the start of every round each depth gets ${fmtInt(m.slice)} jobs more (untimed), then the timed slices run back to back, each from N + ${fmtInt(m.slice)} down to N pending (the pending count is checked before and after)`,
      'a slice: QueueConsumer.lease(owner, 128) then complete(128 results) until the slice is done, one client in the bench process, completed jobs removed at once (keepCompleted { count: 0 }); these are the lease and complete scripts a supervisor\'s lease loop and acker call, without the supervisor\'s own CPU in the way',
      '÷ smallest depth: this depth\'s rate over the smallest depth\'s, paired within each round (the depths ran back to back, in an order rotated every round), median over rounds; Redis CPU ÷ smallest: the same for Redis CPU per job, which outside load moves less than wall-clock rates',
      'lease / complete µs/job (client): time inside those calls as the bench saw it (round trip, Redis, decoding) per job; Redis CPU: INFO cpu used_cpu_user + used_cpu_sys over the slice; script time: INFO commandstats usec of EVALSHA (lease and complete together; it includes what the scripts ran)',
      spreadNote(m.rounds.length),
    ],
  };
}

export function scriptTable(m: DepthMeasured): Table {
  const smallest = m.scripts.get(m.depths[0]!)!;
  return {
    title: 'Server time per script call with N jobs pending (SLOWLOG, untimed slices)',
    headers: ['pending', 'lease µs/call', 'lease µs/job', 'lease ÷ smallest', 'complete µs/call', 'complete µs/job', 'complete ÷ smallest'],
    textColumns: [],
    rows: m.depths.map((d) => {
      const t = m.scripts.get(d)!;
      const lease = median(t.lease);
      const complete = median(t.complete);
      const first = d === m.depths[0];
      return [
        fmtInt(d),
        lease.toFixed(0),
        fmtPerJob(lease / 128),
        first ? '—' : fmtRatio(lease / median(smallest.lease)),
        complete.toFixed(0),
        fmtPerJob(complete / 128),
        first ? '—' : fmtRatio(complete / median(smallest.complete)),
      ];
    }),
    notes: [
      `${m.scriptRounds} further slice${m.scriptRounds > 1 ? 's' : ''} of ${fmtInt(m.scriptJobs)} jobs per depth (order rotated) with slowlog-log-slower-than 0, which logs every command with the time Redis spent executing it (no network, no queueing, but wall-clock time: a Redis descheduled by outside load is charged); lease calls are told from completes by the owner name among their arguments; median over all those calls, each of 128 jobs`,
      'untimed and apart from the slices above: Redis 7 also logs each command a script runs, and that logging falls inside the script\'s own time, so these figures are higher than the scripts\' cost in the slices above; it is the same work at every depth, so the ratios stand',
    ],
  };
}

export function memoryTable(m: DepthMeasured): Table {
  return {
    title: 'Redis memory with N jobs pending',
    headers: ['pending', 'fill jobs/s', 'used_memory MiB', 'bytes per pending job', 'used_memory_rss MiB', 'RSS bytes per job'],
    textColumns: [],
    rows: m.depths.map((d) => {
      const f = m.fills.get(d)!;
      return [
        fmtInt(d),
        fmtInt(d / f.seconds),
        (f.after.used / MIB).toFixed(1),
        fmtInt((f.after.used - f.before.used) / d),
        (f.after.rss / MIB).toFixed(1),
        fmtInt((f.after.rss - f.before.rss) / d),
      ];
    }),
    notes: [
      'bytes per pending job: INFO memory used_memory after the fill minus before it (queue warm and empty), over N; the job is { processor: "noop", data: { n } } with the default options but keepCompleted { count: 0 }',
      'fill: Queue.enqueueMany in calls of 1,000 jobs into the paused queue, one client, sequential awaits, timed once per depth (not alternated: a figure for scale, not a comparison)',
    ],
  };
}

const phaseRates = (m: QueuesMeasured, q: number): number[] => perRound(m.rounds, q, (p) => p.jobs / p.drainSeconds);

/** This queue count's drain rate over one queue's, paired within each round, median over rounds. */
export function queuesRatio(m: QueuesMeasured, q: number): number {
  return pairedRatio(m.rounds, m.counts[0]!, q, (p) => p.drainSeconds);
}

const phaseMedian = (m: QueuesMeasured, q: number, pick: (p: QueuesPhase) => number): number => median(perRound(m.rounds, q, pick));

export function queuesDrainTable(m: QueuesMeasured): Table {
  return {
    title: `One supervisor serving 1 to ${m.counts[m.counts.length - 1]} queues: drain of ${fmtInt(m.config.jobs)} no-op jobs spread evenly`,
    headers: ['queues', 'drain jobs/s', '÷ 1 queue', 'supervisor CPU µs/job', 'main thread µs/job', 'Redis CPU µs/job', 'script calls/job', 'commands/job'],
    textColumns: [],
    rows: m.counts.map((q) => [
      String(q),
      fmtRate(phaseRates(m, q)),
      q === m.counts[0] ? '—' : fmtRatio(queuesRatio(m, q)),
      fmtPerJob(phaseMedian(m, q, (p) => us(p.supervisorCpuSeconds, p.jobs))),
      fmtPerJob(phaseMedian(m, q, (p) => us(p.mainThreadCpuSeconds, p.jobs))),
      fmtPerJob(phaseMedian(m, q, (p) => us(p.redisCpuSeconds, p.jobs))),
      fmtPerJob(phaseMedian(m, q, (p) => perJob(p.drainCounts, p.jobs).scriptCalls)),
      fmtPerJob(phaseMedian(m, q, (p) => perJob(p.drainCounts, p.jobs).total)),
    ]),
    notes: [
      `\`troupe supervise --queues q1,...,qN --threads 2 --min-threads 2 --no-scheduler --http-port 0\`, compiled (the bench build, plain node, as from dist/), a fresh process per phase on a private redis-server (FLUSHALL first); ${fmtInt(m.config.warmJobs)} warm-up jobs (at least one per queue) drained, the queues paused, the measured jobs enqueued (enqueueMany, 128 per call), then timed from resuming every queue until the queues' events streams show every job completed`,
      'the bench reads those streams on one connection (XREAD BLOCK over every queue\'s stream), one entry per complete call; its XREADs are in the Redis figures, as are the resume calls',
      '÷ 1 queue: this phase\'s rate over the 1-queue phase\'s, paired within each round (the queue counts ran in an order rotated every round), median over rounds',
      'supervisor CPU: the whole process (all threads) from /proc/<pid>/stat; main thread from /proc/<pid>/task/<pid>/schedstat; Redis CPU: INFO cpu; script calls and commands: INFO commandstats over the drain',
      spreadNote(m.rounds.length),
    ],
  };
}

function idleRedisRow(label: string, windows: readonly IdleWindow[], supervisor: { connections: string; byCommand: string; cpu: string }): string[] {
  const last = windows[windows.length - 1]!;
  const seconds = last.seconds;
  const perSecond = new Map([...last.counts.calls].map(([name, n]) => [name, n / seconds]));
  return [
    label,
    supervisor.connections,
    supervisor.byCommand,
    supervisor.cpu,
    `${median(windows.map((w) => (w.redisCpuSeconds / w.seconds) * 100)).toFixed(2)}%`,
    median(windows.map(commandsPerSecond)).toFixed(1),
    topCommands(perSecond, 1, 6) || '—',
  ];
}

export function queuesIdleTable(m: QueuesMeasured): Table {
  const rows = [idleRedisRow('no supervisor (Redis alone)', m.baseline, { connections: '—', byCommand: '—', cpu: '—' })];
  for (const q of m.counts) {
    const phases = m.rounds.map((r) => r.get(q)!);
    const last = phases[phases.length - 1]!;
    const warm = median(phases.map((p) => p.connectionsWarm.length));
    const idle = median(phases.map((p) => p.connectionsIdle.length));
    rows.push(
      idleRedisRow(`${q} queue${q > 1 ? 's' : ''}`, phases.map((p) => p.idle), {
        connections: warm === idle ? String(idle) : `${warm} warm, ${idle} idle`,
        byCommand: byLastCommand(last.connectionsIdle),
        cpu: `${median(phases.map((p) => (p.idle.supervisorCpuSeconds! / p.idle.seconds) * 100)).toFixed(2)}%`,
      }),
    );
  }
  const idleS = (m.config.idleMs / 1000).toFixed(0);
  return {
    title: `The supervisor idle with empty queues: connections, CPU and Redis commands over ${idleS} s`,
    headers: ['', 'supervisor connections', 'by last command', 'supervisor CPU, % of a core', 'Redis CPU, % of a core', 'Redis commands/s', 'commands/s by name'],
    textColumns: [0, 1, 2, 6],
    rows,
    notes: [
      'supervisor connections: the CLIENT LIST entries that appeared after the supervisor started (the bench opened its own before), read once its warm-up jobs had drained and again at the end of the idle window; by last command: those of the idle read, grouped by the command each last ran (CLIENT LIST cmd), from the last round',
      `idle window: ${idleS} s after the drain and a ${2} s settle, queues empty and not paused, the bench sending nothing but INFO (which the command counts leave out); supervisor CPU: every thread's /proc/<pid>/task/<tid>/schedstat (nanoseconds; the 10 ms ticks of /proc/<pid>/stat are too coarse here), Redis CPU from INFO cpu, commands from INFO commandstats (CONFIG RESETSTAT first)`,
      'no supervisor: the same window on the same Redis before each round\'s phases, with only the bench\'s idle connections: what Redis costs by itself',
      spreadNote(m.rounds.length),
    ],
  };
}

export function scaleTargets(m: DepthMeasured): TargetResult[] {
  const smallest = m.depths[0]!;
  const deepest = m.depths[m.depths.length - 1]!;
  const ratio = depthRatio(m, deepest);
  return [
    {
      target: `lease+complete at ${fmtInt(deepest)} pending vs ${fmtInt(smallest)} (queue API, batches of 128)`,
      goal: `>= ${DEPTH_GOAL}x`,
      measured: `${fmtRatio(ratio)} (${fmtInt(median(sliceRates(m, deepest)))} vs ${fmtInt(median(sliceRates(m, smallest)))} jobs/s)`,
      met: ratio >= DEPTH_GOAL,
    },
  ];
}
