import type { JobSpec } from '../queue/job-args.js';
import type { Queue } from '../queue/queue.js';
import { Periodic } from '../supervisor/timers.js';

/** Copies of the sample in Redis at once are capped by bytes, so a 5 MB PDF is not queued 10,000 times. */
export const BYTES_BUDGET = 128 * 1024 * 1024;
/** Jobs per enqueueMany call: one round trip each, short enough not to stall Redis for long. */
const ENQUEUE_CHUNK = 1000;
/** How often a byte-capped queue is topped up during a window. */
const TOP_UP_MS = 25;

/**
 * Puts copies of the sample job in the tune queue. Enqueueing costs the producer's event loop
 * about 0.1 ms per job (measured here), far more than a tiny job costs to run, so the queue is
 * filled *before* a configuration runs and nothing is enqueued while it is measured. Only when
 * the sample is so big that enough copies would not fit the byte budget is the queue topped up
 * during the window; such jobs are few and slow, so the producer's cost is small next to theirs.
 */
export class Feeder {
  /** Most copies of the sample the queue may hold. */
  readonly cap: number;
  private topUp: Periodic | undefined;
  error: unknown;

  constructor(
    private readonly queue: Queue,
    private readonly job: JobSpec,
    payloadBytes: number,
    minimum: number,
    /** Filling a queue for tiny jobs takes seconds; an interrupt must not wait for it. */
    private readonly signal: AbortSignal,
  ) {
    this.cap = Math.max(minimum, Math.floor(BYTES_BUDGET / Math.max(1, payloadBytes)));
  }

  async pending(): Promise<number> {
    return (await this.queue.counts()).pending;
  }

  /** Enqueues copies until `target` (at most `cap`) are pending; returns how many are. */
  async fill(target: number): Promise<number> {
    const goal = Math.min(this.cap, target);
    const pending = await this.pending();
    for (let sent = 0; sent < goal - pending; sent += ENQUEUE_CHUNK) {
      this.signal.throwIfAborted();
      const n = Math.min(ENQUEUE_CHUNK, goal - pending - sent);
      await this.queue.enqueueMany(Array.from({ length: n }, () => this.job));
    }
    return Math.max(pending, goal);
  }

  /** Keeps the queue at `cap` during a window, for samples too big to queue enough of up front. */
  startTopUp(): void {
    this.topUp = new Periodic(TOP_UP_MS, async () => {
      try {
        await this.fill(this.cap);
      } catch (err) {
        // Kept for the measurement to report: a window without its producer measures nothing.
        this.error ??= err;
      }
    });
    this.topUp.start();
  }

  async stop(): Promise<void> {
    await this.topUp?.stop();
  }
}
