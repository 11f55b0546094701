/**
 * Idle memory per process and per thread: a Troupe supervisor (the CLI) at 1, 2 and 4 threads,
 * against BullMQ's sandboxed and inline workers, bee-queue, raw Piscina and bare node, each in
 * a process of its own, warm (its threads started by jobs) and settled. RSS under load is in
 * the end-to-end bench (peak RSS of each consumer during its drain).
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { buildForBench, type BenchBuild } from './lib/e2e-build.js';
import { gitCommit, loadLine, machineLine, redisVersion } from './lib/env.js';
import { openProducer } from './lib/e2e-producers.js';
import type { ConsumerKind } from './lib/e2e-protocol.js';
import type { Bench, BenchOptions, BenchResult, TargetResult } from './lib/report.js';
import { fitLine, idleOfConsumer, idleOfProcess, SETTLE_MS, until } from './lib/rss-idle.js';
import { KIB_PER_MIB, type ProcStatus } from './lib/rss-proc.js';
import { halfSpreadPct, median, rotate } from './lib/stats.js';
import type { Table } from './lib/table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FULL = { samples: 3 };
const QUICK = { samples: 1 };
/** Warm-up jobs wait this long, so jobs given at once overlap and land on different threads. */
const WARM_JOB_MS = 200;
const WARM_TIMEOUT_MS = 60_000;
const TROUPE_THREADS = [1, 2, 4] as const;

interface Context {
  build: BenchBuild;
  redisUrl: string;
}

interface Subject {
  id: string;
  label: string;
  /** For the chart's axis, where groups are narrow. */
  short: string;
  /** Worker threads that run jobs ('—' for inline consumers). */
  threads: string;
  measure(ctx: Context, queue: string): Promise<ProcStatus>;
}

/** A consumer child (e2e-child): `warmJobs` overlapping jobs start its threads before it reports ready. */
function consumer(id: string, label: string, short: string, kind: ConsumerKind, concurrency: number, threads: string, warmJobs: number): Subject {
  return {
    id,
    label,
    short,
    threads,
    measure: async (ctx, queue) => {
      // Piscina has no queue: its child runs its warm-up tasks itself.
      if (kind !== 'piscina') {
        const producer = openProducer(kind, ctx.redisUrl, queue);
        try {
          await producer.enqueue(warmJobs, WARM_JOB_MS);
        } finally {
          await producer.close();
        }
      }
      return idleOfConsumer(ctx.build.childEntry, { kind, redisUrl: ctx.redisUrl, queue, concurrency, warmJobs, processorFile: ctx.build.processorFile });
    },
  };
}

/**
 * `troupe supervise` as users run it: compiled (the bench build's CLI, plain node, as from
 * dist/), or from source through tsx, as the tests and examples start it.
 */
function troupeCli(threads: number, fromSource: boolean): Subject {
  return {
    id: `troupe-${threads}${fromSource ? '-tsx' : ''}`,
    label: `Troupe supervisor, ${threads} thread${threads > 1 ? 's' : ''}${fromSource ? ', tsx' : ''}`,
    short: fromSource ? 'Troupe tsx' : `Troupe ${threads}`,
    threads: String(threads),
    measure: async (ctx, queue) => {
      const flags = ['supervise', '--queues', queue, '--threads', String(threads), '--min-threads', String(threads)];
      flags.push('--redis-url', ctx.redisUrl, '--http-port', '0', '--no-scheduler', '--log-level', 'warn');
      const args = fromSource ? ['--import', 'tsx', 'src/cli/main.ts', ...flags] : [ctx.build.cliEntry, ...flags];
      const producer = openProducer('troupe', ctx.redisUrl, queue);
      try {
        await producer.enqueue(threads, WARM_JOB_MS);
        const warm = () => until(() => producer.drained(), WARM_TIMEOUT_MS, `the supervisor to run its ${threads} warm-up jobs`);
        return await idleOfProcess(process.execPath, args, warm, SETTLE_MS, ROOT);
      } finally {
        await producer.close();
      }
    },
  };
}

const BARE: Subject = {
  id: 'bare-node',
  label: 'bare node -e (floor)',
  short: 'node',
  threads: '—',
  measure: () => idleOfProcess(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], async () => {}),
};
const TROUPE_2 = troupeCli(2, false);
const BULL_SANDBOX_2 = consumer('bullmq-sandboxed-2', 'BullMQ sandboxed, 2 threads', 'Bull sbx 2', 'bullmq-sandboxed', 2, '2', 2);

const SUBJECTS: readonly Subject[] = [
  BARE,
  consumer('piscina-2', 'raw Piscina, 2 threads', 'Piscina 2', 'piscina', 2, '2', 2),
  ...TROUPE_THREADS.map((t) => (t === 2 ? TROUPE_2 : troupeCli(t, false))),
  troupeCli(2, true),
  BULL_SANDBOX_2,
  consumer('bullmq-inline', 'BullMQ inline, conc 100', 'Bull inl', 'bullmq-inline', 100, '—', 2),
  consumer('bee-queue', 'bee-queue, conc 100', 'bee-queue', 'bee-queue', 100, '—', 2),
];

const mib = (kb: number) => kb / KIB_PER_MIB;
type Samples = Map<string, ProcStatus[]>;

function idleMib(samples: Samples, id: string): number[] {
  return samples.get(id)!.map((s) => mib(s.rssKb));
}

function fmtMib(values: readonly number[]): string {
  if (values.length === 0) return '—';
  return `${median(values).toFixed(1)}${values.length > 1 ? ` ±${halfSpreadPct(values).toFixed(0)}%` : ''}`;
}

function idleTable(samples: Samples, count: number): Table {
  const floor = median(idleMib(samples, BARE.id));
  return {
    title: 'Idle RSS per consumer process, MiB',
    headers: ['process', 'job threads', 'idle RSS MiB', 'above bare node', 'OS threads'],
    rows: SUBJECTS.map((s) => [
      s.label,
      s.threads,
      fmtMib(idleMib(samples, s.id)),
      s === BARE ? '—' : `+${(median(idleMib(samples, s.id)) - floor).toFixed(1)}`,
      String(median(samples.get(s.id)!.map((x) => x.threads))),
    ]),
    notes: [
      `VmRSS from /proc/<pid>/status, ${SETTLE_MS / 1000} s after the process ran its warm-up jobs (one ${WARM_JOB_MS} ms job per thread, given at once, so every thread started; BullMQ's sandbox starts threads only for jobs)`,
      `each process on its own, one after another, in an order rotated every sample; median of ${count} sample${count > 1 ? 's' : ''}${count > 1 ? ' (±: half the min-max range, relative to the median)' : ''}`,
      'Troupe: `troupe supervise` compiled to plain JavaScript (as from dist/), no HTTP endpoint, no scheduler; "tsx": the same from source through tsx, whose loader adds its own thread and ~30 MiB',
      'BullMQ, bee-queue and Piscina: a small host process (bench/lib/e2e-child.ts, compiled) around the library, paused after warm-up; BullMQ sandboxed uses useWorkerThreads with a CommonJS processor file',
      'OS threads: /proc status Threads; bare Node has 7 (main, 4 libuv, V8 platform); each worker thread adds one, tsx adds its loader thread',
      'RSS under load: see the end-to-end bench (peak RSS of each consumer during its drain)',
    ],
  };
}

function perThreadTable(samples: Samples): Table {
  const points = TROUPE_THREADS.map((t) => [t, median(idleMib(samples, `troupe-${t}`))] as const);
  const { slope, intercept } = fitLine(points);
  return {
    title: 'Troupe supervisor: idle RSS by thread count',
    headers: ['threads', 'idle RSS MiB', 'fit MiB'],
    rows: points.map(([t, y]) => [String(t), y.toFixed(1), (intercept + slope * t).toFixed(1)]),
    notes: [
      `per thread (least-squares slope): ${slope.toFixed(1)} MiB; the supervisor without threads (intercept): ${intercept.toFixed(1)} MiB`,
      '--min-threads must be at least 1, so 0 threads is extrapolated, not measured',
    ],
  };
}

function target(samples: Samples): TargetResult {
  const troupe = median(idleMib(samples, TROUPE_2.id));
  const bull = median(idleMib(samples, BULL_SANDBOX_2.id));
  return {
    target: 'idle RSS, 2 threads: Troupe supervisor vs BullMQ sandboxed worker',
    goal: '<= BullMQ',
    measured: `${troupe.toFixed(1)} vs ${bull.toFixed(1)} MiB (${troupe <= bull ? '' : '+'}${(troupe - bull).toFixed(1)} MiB)`,
    met: troupe <= bull,
  };
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  options.log('resources: compiling the sources for the measured processes');
  const build = await buildForBench();
  if (build.warnings) options.log(`resources: the compiler complained but emitted:\n${build.warnings.split('\n').slice(0, 5).join('\n')}`);
  const server = await startPrivateRedis();
  const admin = new Redis(server.url);
  try {
    const ctx: Context = { build, redisUrl: server.url };
    const samples: Samples = new Map(SUBJECTS.map((s) => [s.id, []]));
    for (let k = 1; k <= config.samples; k++) {
      const bar = options.progress(`resources sample ${k}/${config.samples}`, SUBJECTS.length);
      for (const subject of rotate(SUBJECTS, k - 1)) {
        await admin.flushall();
        const status = await subject.measure(ctx, `rss-${subject.id}-s${k}`);
        samples.get(subject.id)!.push(status);
        bar.tick();
        options.log(`resources sample ${k}  ${subject.label.padEnd(36)} ${mib(status.rssKb).toFixed(1).padStart(7)} MiB  ${status.threads} OS threads`);
      }
      bar.done();
    }
    return {
      name: 'resources',
      title: `Resources: idle RSS per supervisor and per thread${options.quick ? ' (quick run: 1 sample; not for comparison)' : ''}`,
      about: [`${started.toISOString()}, commit ${commit} (read at the start)`, machineLine(await redisVersion(admin)), loadLine(loadBefore)],
      tables: [idleTable(samples, config.samples), perThreadTable(samples)],
      targets: [target(samples)],
      charts: [
        {
          file: 'idle-rss',
          chart: {
            title: 'Idle RSS per process, MiB (median)',
            xLabel: 'process (n: worker threads; Bull: BullMQ, sbx: sandboxed, inl: inline; tsx: Troupe 2 from source)',
            yLabel: 'MiB',
            kind: 'bar',
            categories: SUBJECTS.map((s) => s.short),
            series: [{ name: 'idle RSS', points: SUBJECTS.map((s, i) => [i, median(idleMib(samples, s.id))] as const) }],
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

export const bench: Bench = { name: 'resources', run };
