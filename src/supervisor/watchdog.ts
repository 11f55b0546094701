import { CELL_INDEX, CELL_STARTED_AT } from '../threads/protocol.js';

/** Extra time after a job's limit for it to stop by itself (it sees its signal abort) before the thread is killed. */
export function killGraceMs(timeoutMs: number): number {
  return Math.min(1000, Math.max(100, Math.round(timeoutMs * 0.2)));
}

const NOT_STARTED_RECHECK_MS = 50;
const NO_LIMIT_RECHECK_MS = 1000;

/**
 * Times each job of a task from when its thread started it (read from the shared cell), and
 * calls `kill(index)` when the running job overstays its limit plus grace. A job waiting in
 * the prefetch buffer is never timed: the task is only submitted to a free thread.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly cell: BigInt64Array,
    private readonly timeouts: readonly number[],
    private readonly kill: (index: number) => void,
  ) {
    this.check();
  }

  private check(): void {
    if (this.stopped) return;
    const index = Number(Atomics.load(this.cell, CELL_INDEX));
    if (index >= this.timeouts.length) return;
    if (index < 0) return this.arm(NOT_STARTED_RECHECK_MS);
    const limit = this.timeouts[index]!;
    if (limit <= 0) return this.arm(NO_LIMIT_RECHECK_MS);
    const startedAt = Number(Atomics.load(this.cell, CELL_STARTED_AT));
    const remaining = startedAt + limit + killGraceMs(limit) - Date.now();
    if (remaining > 0) return this.arm(remaining);
    this.stopped = true;
    this.kill(index);
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
