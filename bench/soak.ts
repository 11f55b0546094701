/**
 * Soak: one `troupe supervise` (compiled, as deployed) fed at a steady offered rate for minutes,
 * with its RSS, V8 heap and Redis used_memory sampled over time, and a verdict on whether RSS
 * levelled off: the Theil–Sen slope (median of pairwise slopes) through the last half of the samples.
 *
 *   TROUPE_SOAK_SECONDS   run length (default 300; quick mode 40)
 *   TROUPE_SOAK_RATE      offered jobs per second (default 500; quick mode 200)
 *   TROUPE_SOAK_HEAP_DIR  when set, heap snapshots of the supervisor are written there at a
 *                         quarter of the run and at its end (SIGUSR2), to diff what grew
 *
 * The mix is 90% `echo` of a small object and 10% `sleep` of 20 ms (so some jobs are always in
 * flight and renewed), default retention (the last 10,000 completed jobs kept), and /metrics
 * scraped at every sample, as a Prometheus would. The producer runs in the bench process and
 * catches up if it falls behind (the offered total is rate × elapsed).
 *
 * Not one of `npm run bench`'s benches (bench/run.ts does not know it: it takes minutes on purpose);
 * run it alone:
 *   TROUPE_SOAK_SECONDS=600 node --import tsx bench/soak.ts [--quick]
 * which prints the tables and writes bench/results/soak.md with its chart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { Queue } from '../src/queue/index.js';
import { freePort, startPrivateRedis } from '../test/helpers/redis-server.js';
import { buildForBench } from './lib/e2e-build.js';
import { gitCommit, loadLine, machineLine, redisVersion } from './lib/env.js';
import { renderResultText, writeReport, type Bench, type BenchOptions, type BenchResult, type TargetResult } from './lib/report.js';
import { progressConsole } from '../src/cli/progress.js';
import { fitLine } from './lib/rss-idle.js';
import { KIB_PER_MIB, readProcStatus } from './lib/rss-proc.js';
import type { Table } from './lib/table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE = fileURLToPath(new URL('./lib/soak-probe.mjs', import.meta.url));
const QUEUE = 'soak';
const THREADS = 2;
const ENQUEUE_BATCH = 128;
const PRODUCER_TICK_MS = 100;
const START_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** RSS counts as level when the last half's fitted line rises less than this per minute... */
const LEVEL_MIB_PER_MIN = 0.5;
/** ...and a verdict needs this long a run: warm-up alone (first GCs, pool start) takes a minute or two. */
const MIN_JUDGED_SECONDS = 300;

export interface SoakSettings {
  durationMs: number;
  rate: number;
  sampleMs: number;
  heapDir: string | undefined;
}

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${name}=${raw} is not a positive number; give seconds (TROUPE_SOAK_SECONDS=600) or jobs per second (TROUPE_SOAK_RATE=500)`);
  return n;
}

export function soakSettings(quick: boolean): SoakSettings {
  const durationMs = positiveEnv('TROUPE_SOAK_SECONDS', quick ? 40 : 300) * 1000;
  // About 60 samples over the run, never more often than every 2 s.
  const sampleMs = Math.max(2000, Math.round(durationMs / 60 / 1000) * 1000);
  return { durationMs, rate: positiveEnv('TROUPE_SOAK_RATE', quick ? 200 : 500), sampleMs, heapDir: process.env.TROUPE_SOAK_HEAP_DIR || undefined };
}

export interface SoakSample {
  /** Seconds since the producer started. */
  t: number;
  rssMib: number;
  heapUsedMib: number;
  heapTotalMib: number;
  externalMib: number;
  redisMib: number;
  offered: number;
  completed: number;
  backlog: number;
  lagMs: number;
}

export interface Levelling {
  /** Theil–Sen slope of RSS over the last half, MiB per minute: the verdict's figure. */
  lastHalfMibPerMin: number;
  /** The least-squares slope of the same points, for comparison: one GC dip pulls it. */
  lastHalfLeastSquaresMibPerMin: number;
  firstHalfMibPerMin: number;
  heapLastHalfMibPerMin: number;
  levelled: boolean;
}

/**
 * Theil–Sen: the median of the slopes between every pair of points. RSS under a GC is a
 * sawtooth with now and then one deep dip (V8 shrinking its heap: -40 MiB for one sample); a
 * least-squares line through a half that starts on such a dip reads it as growth, the median
 * of pairwise slopes does not (up to 29% of the points can be outliers).
 */
export function medianSlope(points: ReadonlyArray<readonly [number, number]>): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]![0] - points[i]![0];
      if (dx !== 0) slopes.push((points[j]![1] - points[i]![1]) / dx);
    }
  }
  if (slopes.length === 0) return Number.NaN;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

/** Whether RSS stopped growing: the last half's Theil–Sen slope under LEVEL_MIB_PER_MIN. */
export function levelling(samples: readonly SoakSample[]): Levelling {
  const half = Math.floor(samples.length / 2);
  const points = (part: readonly SoakSample[], pick: (s: SoakSample) => number) => part.map((s) => [s.t / 60, pick(s)] as const);
  const last = samples.slice(half);
  const lastHalfMibPerMin = medianSlope(points(last, (s) => s.rssMib));
  return {
    lastHalfMibPerMin,
    lastHalfLeastSquaresMibPerMin: fitLine(points(last, (s) => s.rssMib)).slope,
    firstHalfMibPerMin: medianSlope(points(samples.slice(0, half + 1), (s) => s.rssMib)),
    heapLastHalfMibPerMin: medianSlope(points(last, (s) => s.heapUsedMib)),
    levelled: lastHalfMibPerMin < LEVEL_MIB_PER_MIN,
  };
}

interface Probe {
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** The probe file's last complete line (the supervisor appends one a second). */
function lastProbe(file: string): Probe | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // Not written yet: the supervisor is still starting.
  }
  const lines = text.trimEnd().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]!) as Probe;
  } catch {
    return undefined; // A line caught half-written; the next sample reads a whole one.
  }
}

/** The sum of a Prometheus family's samples (all label sets). */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function redisUsedMib(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN) / 1024 / 1024;
}

const mib = (bytes: number) => bytes / 1024 / 1024;

class SupervisorChild {
  readonly exited: Promise<number | null>;
  output = '';

  constructor(readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-8000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, sleep(STOP_TIMEOUT_MS).then(() => 'timeout' as const)]);
    if (code !== 'timeout') return code;
    this.child.kill('SIGKILL');
    throw new Error(`the supervisor did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM; its last output:\n${this.output}`);
  }
}

/** Open-loop producer: every tick, enqueues up to rate × elapsed jobs in total. */
class Producer {
  offered = 0;
  failed = 0;
  firstError: string | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly queue: Queue, private readonly rate: number) {}

  start(began: number): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const due = Math.floor(((performance.now() - began) / 1000) * this.rate);
        while (this.offered < due && !this.stopped) {
          const size = Math.min(ENQUEUE_BATCH, due - this.offered);
          const jobs = Array.from({ length: size }, (_, k) => {
            const n = this.offered + k;
            return n % 10 === 9 ? { processor: 'sleep', data: { ms: 20 } } : { processor: 'echo', data: { n, text: 'soak' } };
          });
          try {
            await this.queue.enqueueMany(jobs);
          } catch (err) {
            // Counted and reported; a failed batch must not end the soak.
            this.failed += size;
            this.firstError ??= err instanceof Error ? err.message : String(err);
          }
          this.offered += size;
        }
        await sleep(PRODUCER_TICK_MS);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

function sampleRow(s: SoakSample): string[] {
  return [fmt(s.t, 0), fmt(s.rssMib), fmt(s.heapUsedMib), fmt(s.heapTotalMib), fmt(s.externalMib), fmt(s.redisMib), String(s.completed), String(s.backlog), fmt(s.lagMs, 0)];
}

const SAMPLE_HEADERS = ['t s', 'RSS MiB', 'heap used MiB', 'heap total MiB', 'external MiB', 'Redis used MiB', 'completed', 'backlog', 'loop lag ms'];

/** About a dozen rows for the terminal: evenly spaced, first and last included. */
function thin<T>(items: readonly T[], rows = 12): T[] {
  if (items.length <= rows) return [...items];
  return Array.from({ length: rows }, (_, i) => items[Math.round((i * (items.length - 1)) / (rows - 1))]!);
}

function summaryTable(samples: readonly SoakSample[], level: Levelling, settings: SoakSettings): Table {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const peak = Math.max(...samples.map((s) => s.rssMib));
  const seconds = last.t - first.t;
  // The last half is the part after warm-up that the verdict reads; its spread shows the GC's sawtooth.
  const lastHalf = samples.slice(Math.floor(samples.length / 2));
  const lastHalfRss = lastHalf.map((s) => s.rssMib);
  const mean = lastHalfRss.reduce((a, b) => a + b, 0) / lastHalfRss.length;
  return {
    title: 'Soak: did the supervisor level off?',
    headers: ['measure', 'value'],
    rows: [
      ['offered rate, jobs/s', String(settings.rate)],
      ['completed per second (mean)', fmt((last.completed - first.completed) / Math.max(1, seconds), 0)],
      ['RSS first → last (peak), MiB', `${fmt(first.rssMib)} → ${fmt(last.rssMib)} (${fmt(peak)})`],
      [`RSS last half (from ${fmt(lastHalf[0]!.t, 0)} s): mean (min–max), MiB`, `${fmt(mean)} (${fmt(Math.min(...lastHalfRss))}–${fmt(Math.max(...lastHalfRss))})`],
      ['RSS slope, first half, MiB/min', fmt(level.firstHalfMibPerMin, 2)],
      ['RSS slope, last half, MiB/min', fmt(level.lastHalfMibPerMin, 2)],
      ['RSS slope, last half, least squares, MiB/min', fmt(level.lastHalfLeastSquaresMibPerMin, 2)],
      ['heap used first → last, MiB', `${fmt(first.heapUsedMib)} → ${fmt(last.heapUsedMib)}`],
      ['heap used slope, last half, MiB/min', fmt(level.heapLastHalfMibPerMin, 2)],
      ['Redis used_memory first → last, MiB', `${fmt(first.redisMib)} → ${fmt(last.redisMib)}`],
      ['backlog at the end, jobs', String(last.backlog)],
      [
        'RSS levelled off',
        (level.levelled ? `yes (last half under ${LEVEL_MIB_PER_MIN} MiB/min)` : `no (last half ${fmt(level.lastHalfMibPerMin, 2)} MiB/min)`) +
          (seconds < MIN_JUDGED_SECONDS ? `; too short a run to judge (under ${MIN_JUDGED_SECONDS / 60} min)` : ''),
      ],
    ],
    textColumns: [0, 1],
    notes: [
      `slopes: Theil–Sen (median of the pairwise slopes) through the samples of that half (${samples.length} samples, one every ${settings.sampleMs / 1000} s); least squares shown for comparison, which a single GC dip pulls`,
      'heap: process.memoryUsage() of the supervisor main thread, appended once a second by bench/lib/soak-probe.mjs (loaded with --import)',
    ],
  };
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const settings = soakSettings(options.quick);
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  options.log(`soak: compiling the sources; then ${settings.durationMs / 1000} s at ${settings.rate} jobs/s`);
  const build = await buildForBench();
  if (build.warnings) options.log(`soak: the compiler complained but emitted:\n${build.warnings.split('\n').slice(0, 5).join('\n')}`);
  const server = await startPrivateRedis();
  const admin = new Redis(server.url);
  const queue = new Queue(QUEUE, { connection: server.url });
  const scratch = mkdtempSync(join(os.tmpdir(), 'troupe-soak-'));
  const probeFile = join(scratch, 'memory.jsonl');
  let supervisor: SupervisorChild | undefined;
  try {
    const port = await freePort();
    const nodeFlags = ['--import', PROBE];
    if (settings.heapDir) nodeFlags.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${settings.heapDir}`);
    const flags = ['supervise', '--queues', QUEUE, '--threads', String(THREADS), '--min-threads', String(THREADS), '--redis-url', server.url];
    flags.push('--http-port', String(port), '--no-scheduler', '--log-level', 'warn');
    supervisor = new SupervisorChild(
      spawn(process.execPath, [...nodeFlags, build.cliEntry, ...flags], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: '', TROUPE_SOAK_PROBE: probeFile, TROUPE_SOAK_PROBE_MS: '1000' },
      }),
    );
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const scrape = async () => (await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!supervisor.running) throw new Error(`the supervisor exited while starting: ${supervisor.output}`);
      try {
        await scrape();
        break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`the supervisor's /metrics did not answer within ${START_TIMEOUT_MS} ms: ${supervisor.output}`);
      await sleep(200);
    }

    const producer = new Producer(queue, settings.rate);
    const samples: SoakSample[] = [];
    const began = performance.now();
    producer.start(began);
    const total = Math.ceil(settings.durationMs / settings.sampleMs);
    const bar = options.progress('soak samples', total);
    let snapshotsTaken = 0;
    try {
      for (let k = 0; k <= total; k++) {
        await sleep(Math.max(0, began + k * settings.sampleMs - performance.now()));
        if (!supervisor.running) throw new Error(`the supervisor exited during the soak: ${supervisor.output}`);
        const rssMib = readProcStatus(supervisor.pid).rssKb / KIB_PER_MIB;
        const text = await scrape();
        const probe = lastProbe(probeFile);
        const counts = await queue.counts();
        const sample: SoakSample = {
          t: (performance.now() - began) / 1000,
          rssMib,
          heapUsedMib: probe ? mib(probe.heapUsed) : Number.NaN,
          heapTotalMib: probe ? mib(probe.heapTotal) : Number.NaN,
          externalMib: probe ? mib(probe.external) : Number.NaN,
          redisMib: await redisUsedMib(admin),
          offered: producer.offered,
          completed: metricSum(text, 'troupe_jobs_completed_total'),
          backlog: counts.pending + counts.active + counts.delayed,
          lagMs: metricSum(text, 'troupe_event_loop_lag_seconds') * 1000,
        };
        samples.push(sample);
        if (k > 0) bar.tick();
        if (k % 6 === 0) options.log(`soak ${fmt(sample.t, 0)} s: RSS ${fmt(rssMib)} MiB, heap ${fmt(sample.heapUsedMib)} MiB, Redis ${fmt(sample.redisMib)} MiB, backlog ${sample.backlog}`);
        if (settings.heapDir && (k === Math.round(total / 4) || k === total)) {
          supervisor.child.kill('SIGUSR2');
          snapshotsTaken += 1;
        }
      }
    } finally {
      bar.done();
      await producer.stop();
    }
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    for (;;) {
      const c = await queue.counts();
      if (c.pending + c.active + c.delayed === 0) break;
      if (Date.now() > drainDeadline) throw new Error(`the backlog did not drain within ${DRAIN_TIMEOUT_MS} ms of the producer stopping (${c.pending} pending, ${c.active} active)`);
      await sleep(200);
    }
    const code = await supervisor.stop();
    if (producer.failed > 0) options.log(`soak: ${producer.failed} enqueues failed, first: ${producer.firstError}`);
    const level = levelling(samples);
    const target: TargetResult = {
      target: `supervisor RSS levels off at ${settings.rate} jobs/s`,
      goal: `last-half slope < ${LEVEL_MIB_PER_MIN} MiB/min`,
      measured: `${fmt(level.lastHalfMibPerMin, 2)} MiB/min over the last ${fmt((samples[samples.length - 1]!.t - samples[Math.floor(samples.length / 2)]!.t) / 60, 1)} min (RSS ${fmt(samples[0]!.rssMib)} → ${fmt(samples[samples.length - 1]!.rssMib)} MiB)`,
      met: level.levelled,
    };
    const seconds = settings.durationMs / 1000;
    return {
      name: 'soak',
      title: `Soak: supervisor memory over ${seconds >= 120 ? `${fmt(seconds / 60, 0)} min` : `${seconds} s`} at ${settings.rate} jobs/s${options.quick ? ' (quick run; too short to judge levelling)' : ''}`,
      about: [
        `${started.toISOString()}, commit ${commit} (read at the start)`,
        machineLine(await redisVersion(admin)),
        loadLine(loadBefore),
        `troupe supervise compiled (as from dist/), ${THREADS} threads, default retention (10,000 completed kept), /metrics scraped every ${settings.sampleMs / 1000} s; 90% echo, 10% sleep 20 ms`,
        `offered ${producer.offered} jobs (${producer.failed} enqueues failed); the supervisor exited ${code} on SIGTERM after the backlog drained`,
        ...(settings.heapDir ? [`${snapshotsTaken} heap snapshots written to ${settings.heapDir}`] : []),
      ],
      tables: [summaryTable(samples, level, settings), { title: 'Samples (about a dozen, evenly spaced)', headers: SAMPLE_HEADERS, rows: thin(samples).map(sampleRow) }],
      detailTables: [{ title: 'Every sample', headers: SAMPLE_HEADERS, rows: samples.map(sampleRow) }],
      targets: [target],
      charts: [
        {
          file: 'memory',
          chart: {
            title: `Supervisor memory during the soak (${settings.rate} jobs/s)`,
            xLabel: 'seconds',
            yLabel: 'MiB',
            kind: 'line',
            series: [
              { name: 'RSS', points: samples.map((s) => [s.t, s.rssMib] as const) },
              { name: 'heap used', points: samples.map((s) => [s.t, s.heapUsedMib] as const) },
              { name: 'Redis used_memory', points: samples.map((s) => [s.t, s.redisMib] as const) },
            ],
          },
        },
      ],
    };
  } finally {
    if (supervisor?.running) supervisor.child.kill('SIGKILL');
    await queue.close().catch(() => undefined); // The server may be gone already; nothing left to close then.
    await admin.quit().catch(() => admin.disconnect());
    await server.destroy();
    rmSync(scratch, { recursive: true, force: true });
    build.remove();
  }
}

export const bench: Bench = { name: 'soak', run };

// Run alone (`node --import tsx bench/soak.ts`); `bench` above is the same run in the shape
// bench/run.ts takes, should it ever be listed there.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const terminal = progressConsole(process.stderr);
  run({ quick: process.argv.includes('--quick'), log: terminal.log, progress: terminal.progress }).then(
    (result) => {
      process.stdout.write(`${renderResultText(result)}\n`);
      const [path] = writeReport(fileURLToPath(new URL('./results/', import.meta.url)), result);
      terminal.log(`soak: report in ${path}`);
      // Exit rather than wait: a client retrying a server that is gone would keep the process alive.
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
