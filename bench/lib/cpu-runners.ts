/**
 * The two ways the cpu bench runs the same 5 ms jobs: a real Troupe supervisor draining
 * pre-enqueued jobs, and a bare Piscina pool calling the same processor function.
 */
import { Piscina } from 'piscina';
import { Queue } from '../../src/index.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { startBenchSupervisor } from './cpu-supervisor.js';

export interface CpuInput {
  ms: number;
}
interface CpuResult {
  ms: number;
  iterations: number;
  checksum: number;
}

export interface RunMeasure {
  seconds: number;
  /** Burn-loop iterations per job: how much CPU a 5 ms job actually got. */
  iterationsPerJob: number;
}

export interface CpuRunner {
  run(jobs: number, input: CpuInput): Promise<RunMeasure>;
  close(): Promise<void>;
}

const ENQUEUE_CHUNK = 1000;
/** Nothing in a round takes this long; a hang (a lost job) fails the bench instead of stalling it. */
const ROUND_TIMEOUT_MS = 300_000;

/** Resolves with performance.now() at the n-th settled job of `queue`; rejects on any outcome but completed. */
function nthSettled(supervisor: Supervisor, queue: string, n: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => finish(new Error(`only ${seen} of ${n} jobs settled within ${ROUND_TIMEOUT_MS / 1000} s`)), ROUND_TIMEOUT_MS);
    const listener = ({ job, disposition }: { job: { queue: string; id: string }; disposition: string }) => {
      if (job.queue !== queue) return;
      if (disposition !== 'completed') return finish(new Error(`job ${job.id} ended ${disposition}, not completed`));
      seen += 1;
      if (seen === n) finish(performance.now());
    };
    const finish = (outcome: number | Error) => {
      clearTimeout(timer);
      supervisor.events.off('settled', listener);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    supervisor.events.on('settled', listener);
  });
}

/**
 * A supervisor with `threads` threads on its own queue. Each run fills the paused queue, then
 * times from resume() to the last job settled in Redis, so enqueueing is outside the window and
 * the supervisor starts warm (its threads and scripts are loaded by the warm-up).
 */
export async function troupeRunner(redisUrl: string, queueName: string, threads: number, tasksPerThread = 1): Promise<CpuRunner> {
  const supervisor = await startBenchSupervisor({ redisUrl, queue: queueName, threads, tasksPerThread });
  const queue = new Queue<CpuInput, CpuResult>(queueName, { connection: redisUrl });
  return {
    async run(jobs, input) {
      await queue.pause();
      await queue.clear('completed');
      for (let start = 0; start < jobs; start += ENQUEUE_CHUNK) {
        const size = Math.min(ENQUEUE_CHUNK, jobs - start);
        await queue.enqueueMany(Array.from({ length: size }, () => ({ processor: 'cpu', data: input })));
      }
      const done = nthSettled(supervisor, queueName, jobs);
      const started = performance.now();
      await queue.resume();
      const seconds = ((await done) - started) / 1000;
      const finished = await queue.listJobs('completed', { limit: Math.min(jobs, 10_000) });
      if (finished.length !== Math.min(jobs, 10_000)) throw new Error(`troupe: expected ${jobs} completed jobs in Redis, found ${finished.length}`);
      const iterations = finished.reduce((sum, job) => sum + (job.result?.iterations ?? Number.NaN), 0);
      return { seconds, iterationsPerJob: iterations / finished.length };
    },
    async close() {
      await queue.close();
      await supervisor.stop();
    },
  };
}

/**
 * Piscina with min = max = `threads` running the cpu processor's run() directly. It keeps two
 * tasks per thread in flight, so a thread that finishes finds its next task already queued in
 * Piscina and never waits on the bench loop.
 */
export async function piscinaRunner(threads: number): Promise<CpuRunner> {
  const pool = new Piscina<CpuInput, CpuResult>({
    filename: new URL('./cpu-piscina-worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 600_000,
  });
  return {
    async run(jobs, input) {
      let next = 0;
      let iterations = 0;
      const lane = async () => {
        while (next < jobs) {
          next += 1;
          // Awaited first: `iterations += await …` would read the sum before the await and drop other lanes' additions.
          const result = await pool.run(input);
          iterations += result.iterations;
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: 2 * threads }, lane));
      return { seconds: (performance.now() - started) / 1000, iterationsPerJob: iterations / jobs };
    },
    close: () => pool.destroy(),
  };
}
