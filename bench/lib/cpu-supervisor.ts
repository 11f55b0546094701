/**
 * A real Troupe supervisor inside the bench process (the cpu and latency benches both use it):
 * the same Supervisor, processor table and services `troupe supervise` builds, with HTTP, the
 * scheduler and periodic metrics lines off so the bench's own queue is all it does. Logs go to
 * stderr at `warn`, so stdout stays the result tables.
 */
import { pino } from 'pino';
import { defaultConfig, type SupervisorConfig } from '../../src/supervisor/config.js';
import { buildSupervisor } from '../../src/runtime/build-supervisor.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';

export interface BenchSupervisorOptions {
  redisUrl: string;
  queue: string;
  threads: number;
  /** Default 1, as `troupe supervise` has it. */
  tasksPerThread?: number;
  plugins?: string[];
}

export function benchSupervisorConfig(options: BenchSupervisorOptions): SupervisorConfig {
  return {
    ...defaultConfig(),
    redisUrl: options.redisUrl,
    queues: [options.queue],
    threads: options.threads,
    minThreads: options.threads,
    tasksPerThread: options.tasksPerThread ?? 1,
    plugins: options.plugins ?? [],
    httpPort: 0,
    scheduler: false,
    metricsInterval: 0,
    logLevel: 'warn',
  };
}

/** Built and started; the caller stops it (in a finally). */
export async function startBenchSupervisor(options: BenchSupervisorOptions): Promise<Supervisor> {
  const config = benchSupervisorConfig(options);
  const logger = pino({ level: config.logLevel, base: { pid: process.pid, bench: true } }, pino.destination(2));
  const supervisor = await buildSupervisor(config, { logger });
  await supervisor.start();
  return supervisor;
}
