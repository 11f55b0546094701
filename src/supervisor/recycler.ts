import type { ThreadTaskResult } from '../threads/protocol.js';
import type { SupervisorConfig } from './config.js';
import type { Logger } from './logger.js';
import type { ThreadPool } from './pool.js';

/** Tasks in a row a thread's heap must stay high before it is retired (one spike is not a leak). */
const HIGH_HEAP_STREAK = 3;

/**
 * Retires threads between jobs: after maxJobsPerThread jobs, or when the heap stays above
 * recycleHeapMb. A leaking processor then costs a thread start now and then instead of a
 * supervisor that grows until it is killed (BullMQ #2422, #3110).
 */
export class ThreadRecycler {
  private readonly highHeap = new Map<number, number>();

  constructor(
    private readonly config: SupervisorConfig,
    private readonly logger: Logger,
  ) {}

  /** `pool`: the pool the task ran in (the CPU threads, or the I/O thread). */
  afterTask(result: ThreadTaskResult, pool: ThreadPool): void {
    const { maxJobsPerThread, recycleHeapMb } = this.config;
    let reason: string | undefined;
    if (maxJobsPerThread > 0 && result.jobsRun >= maxJobsPerThread) reason = `ran ${result.jobsRun} jobs (--max-jobs-per-thread ${maxJobsPerThread})`;
    if (!reason && recycleHeapMb > 0) {
      const streak = result.heapUsedBytes > recycleHeapMb * 1024 * 1024 ? (this.highHeap.get(result.threadId) ?? 0) + 1 : 0;
      this.highHeap.set(result.threadId, streak);
      if (streak >= HIGH_HEAP_STREAK) reason = `heap ${Math.round(result.heapUsedBytes / 1048576)} MiB stayed above --recycle-heap-mb ${recycleHeapMb}`;
    }
    if (!reason) return;
    this.highHeap.delete(result.threadId);
    if (pool.retire(result.threadId)) {
      this.logger.info({ threadId: result.threadId, reason }, 'retiring thread');
    }
  }
}
