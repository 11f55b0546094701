import { CELL_INDEX, CELL_LIMIT_SOURCE, CELL_STARTED_AT, CELL_TIMEOUT_MS } from '../threads/protocol.js';
import { LIMIT_SOURCES, type TimeLimit } from '../threads/time-limit.js';

/** Extra time after a job's limit for it to stop by itself (it sees its signal abort) before the thread is killed. */
export function killGraceMs(timeoutMs: number): number {
  return Math.min(1000, Math.max(100, Math.round(timeoutMs * 0.2)));
}

const NOT_STARTED_RECHECK_MS = 50;
const NO_LIMIT_RECHECK_MS = 1000;

/** The limit the thread published for the job it is running now (see the cell layout in protocol.ts). */
export function publishedLimit(cell: BigInt64Array): TimeLimit {
  const source = LIMIT_SOURCES[Number(Atomics.load(cell, CELL_LIMIT_SOURCE))] ?? 'default';
  return { ms: Number(Atomics.load(cell, CELL_TIMEOUT_MS)), source };
}

/**
 * Times each job of a task from when its thread started it, by the limit the thread applies
 * (both read from the shared cell), and calls `kill(index, limit)` when the running job
 * overstays its limit plus grace. A job waiting in the prefetch buffer is never timed: the task
 * is only submitted to a free thread.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly cell: BigInt64Array,
    private readonly jobCount: number,
    private readonly kill: (index: number, limit: TimeLimit) => void,
  ) {
    this.check();
  }

  private check(): void {
    if (this.stopped) return;
    // The index first: the thread writes start and limit before it (protocol.ts).
    const index = Number(Atomics.load(this.cell, CELL_INDEX));
    if (index >= this.jobCount) return;
    if (index < 0) return this.arm(NOT_STARTED_RECHECK_MS);
    const limit = publishedLimit(this.cell);
    if (limit.ms <= 0) return this.arm(NO_LIMIT_RECHECK_MS);
    const startedAt = Number(Atomics.load(this.cell, CELL_STARTED_AT));
    const remaining = startedAt + limit.ms + killGraceMs(limit.ms) - Date.now();
    if (remaining > 0) return this.arm(remaining);
    // The job may have moved on while this ran: kill only if the same job is still running.
    if (Number(Atomics.load(this.cell, CELL_INDEX)) !== index) return this.check();
    this.stopped = true;
    this.kill(index, limit);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
