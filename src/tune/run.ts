import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis } from '../queue/connection.js';
import type { JobSpec } from '../queue/job-args.js';
import { Queue } from '../queue/queue.js';
import { connectionSpec, type SupervisorConfig } from '../supervisor/config.js';
import { resolveRedis } from '../supervisor/local-redis.js';
import type { Logger } from '../supervisor/logger.js';
import { loadProcessors } from '../runtime/build-supervisor.js';
import { hasCode } from '../errors.js';
import { SupervisorErrorCode } from '../supervisor/task-failure.js';
import { deleteQueueKeys } from './cleanup.js';
import { TuneInputError } from './input-error.js';
import { chooseKnee, type KneeChoice } from './knee.js';
import { measure, type Measurement } from './measure.js';
import { combineRounds, roundOrder } from './rounds.js';
import { prefillFor, rateAfterDryRun, sweep, warmupSeconds, type TunePoint } from './plan.js';
import { checkSampleFits, type Sample } from './sample.js';

/** Re-measurements of one configuration whose queue ran dry early. */
const MAX_DRY_RETRIES = 2;

/** What tune reports its steps to: one tick per configuration measured, done() at the end. */
export interface TuneProgress {
  tick(n?: number): void;
  done(): void;
}

export interface TuneSettings {
  processor: string;
  sample: Sample;
  /** The user's supervisor settings (flags, env, config file); threads and tasks are swept. */
  config: SupervisorConfig;
  /** A Redis URL was given: use it or fail, never start a private one. */
  redisGiven: boolean;
  maxThreads: number;
  maxTasksPerThread: number;
  seconds: number;
  /** Sweeps to run; each configuration's figures are the medians over them. */
  rounds: number;
  queueName: string;
  logger: Logger;
  signal: AbortSignal;
  /** A progress display for `total` steps (the CLI passes its progress bar). */
  progress(total: number): TuneProgress;
}

export interface TuneResult {
  processor: string;
  sample: { path: string; kind: Sample['kind']; bytes: number };
  cores: number;
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  /** One row per configuration measured, in sweep order (medians when rounds > 1). */
  rows: Measurement[];
  choice: KneeChoice;
  /** Every job of the first configuration failed, so the rest were not run. */
  stoppedEarly: boolean;
  /** The last error of a failed sample job, when any failed. */
  firstError?: string;
}

async function findProcessor(settings: TuneSettings) {
  const table = await loadProcessors(settings.config);
  const entry = table.entries().find(([name]) => name === settings.processor);
  if (!entry) {
    const names = table.entries().map(([name]) => name);
    throw new TuneInputError(
      `unknown processor "${settings.processor}"; known here: ${names.join(', ')}. ` +
        'A plugin\'s processor needs its module: --plugin ./my-processor.mjs (or TROUPE_PLUGINS, or "plugins" in the config file)',
    );
  }
  return { table, processor: entry[1].processor };
}

/**
 * Measures the processor on the sample at every configuration of the sweep and picks the knee.
 * Input problems (unknown processor, a sample the processor refuses) are usage errors raised
 * before any Redis is touched. The tune queue's keys, and a private Redis if one was started,
 * are removed whatever happens, including an abort.
 */
export async function runTune(settings: TuneSettings): Promise<TuneResult> {
  const { table, processor } = await findProcessor(settings);
  checkSampleFits(processor, settings.sample);

  const dataDir = mkdtempSync(join(tmpdir(), 'troupe-tune-redis-'));
  const points = sweep(settings.maxThreads, settings.maxTasksPerThread);
  const warmup = warmupSeconds(settings.seconds);
  // Every measurement per configuration (one per round), and all of them in order for prefill estimates.
  const byPoint: Measurement[][] = points.map(() => []);
  const measured: Measurement[] = [];
  let stoppedEarly = false;
  let firstError: string | undefined;
  const redis = await resolveRedis(connectionSpec(settings.config), settings.redisGiven, settings.logger, dataDir).catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const client = createRedis({ ...connectionSpec(settings.config), url: redis.url }, { maxRetriesPerRequest: 3 });
  client.on('error', (err: Error) => settings.logger.warn({ err }, 'tune: Redis connection error; reconnecting'));
  const queue = new Queue(settings.queueName, { connection: client });
  const base: SupervisorConfig = { ...settings.config, redisUrl: redis.url, queues: [settings.queueName], processes: 1 };
  // One attempt: a failure is the configuration's to answer for, not a retry that lands later.
  const job: JobSpec = { processor: settings.processor, data: settings.sample.data, options: { attempts: 1 } };
  const progress = settings.progress(points.length * settings.rounds);
  const measureAt = (point: TunePoint, prefill: number) =>
    measure(point, {
      base,
      processors: table,
      logger: settings.logger,
      queue,
      job,
      payloadBytes: settings.sample.bytes,
      prefill,
      warmupMs: warmup * 1000,
      windowMs: settings.seconds * 1000,
      signal: settings.signal,
    });
  try {
    sweeping: for (let round = 0; round < settings.rounds; round++) {
      for (const index of roundOrder(points.map((_, i) => i), round)) {
        const point = points[index]!;
        let prefill = prefillFor(point, measured, settings.seconds, warmup);
        let row = await measureAt(point, prefill);
        // A window the queue cut to under half is measured again with the rate it revealed.
        for (let retry = 0; retry < MAX_DRY_RETRIES && row.ranDry && !row.toppedUp && row.windowSeconds < settings.seconds / 2; retry++) {
          const rate = rateAfterDryRun(row.jobsPerSec, prefill, warmup, row.windowSeconds);
          prefill = prefillFor(point, [{ ...point, jobsPerSec: rate }], settings.seconds, warmup);
          settings.logger.info({ point, prefill }, 'tune: the queue ran dry early; measuring again with more jobs queued');
          row = await measureAt(point, prefill);
        }
        byPoint[index]!.push(row);
        measured.push(row);
        progress.tick();
        // A sample that fails every run at the cheapest configuration will fail at all of them.
        if (measured.length === 1 && row.completed === 0 && row.failed > 0) {
          stoppedEarly = true;
          break sweeping;
        }
      }
    }
    if (measured.some((r) => r.failed > 0)) {
      // Jobs cut off by a stop after the window are dead too (one attempt); they are not the cause.
      const dead = (await queue.listDead({ limit: 20 })).find((job) => job.error && !hasCode(job.error, SupervisorErrorCode.Shutdown));
      if (dead?.error) firstError = `${dead.error.code ?? dead.error.name}: ${dead.error.message}`;
    }
  } finally {
    progress.done();
    try {
      await deleteQueueKeys(client, settings.queueName);
    } catch (err) {
      settings.logger.error({ err, queue: settings.queueName }, `tune: could not delete the tune queue's keys; remove keys matching troupe:{${settings.queueName}}:* by hand`);
    }
    await queue.close();
    client.disconnect();
    await redis.stop?.();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const rows = points.flatMap((point, i) => (byPoint[i]!.length > 0 ? [combineRounds(point, byPoint[i]!)] : []));
  return {
    processor: settings.processor,
    sample: { path: settings.sample.path, kind: settings.sample.kind, bytes: settings.sample.bytes },
    cores: availableParallelism(),
    seconds: settings.seconds,
    rounds: settings.rounds,
    warmupSeconds: warmup,
    rows,
    choice: chooseKnee(rows),
    stoppedEarly,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
