import type { QueueConsumer } from '../queue/consumer.js';
import { isOutOfMemoryReply } from '../queue/redis-memory.js';
import { ErrorBackoff, Sleeper } from './timers.js';
import type { Dispatcher } from './dispatcher.js';
import type { Logger } from './logger.js';

/**
 * Most jobs one lease loop asks for per call; the queue would allow up to MAX_LEASE_PER_CALL
 * (src/queue/consumer.ts). 128 is also the default --prefetch and the largest batch the
 * queue-ops bench measures lease+complete at (1, 16 and 128: docs/benchmarks.md, "queue-ops").
 * The measurement first cited for it (a knee of Node CPU per job) is not in this repository.
 */
const LEASE_LOOP_BATCH = 128;
/** Longest a blocked wait lasts before the loop looks again (paused queues, clock drift). */
const MAX_IDLE_WAIT_MS = 5000;

/**
 * One per queue: leases as many jobs as the dispatcher has room for, and when the queue is
 * empty blocks on its wake key (an enqueue wakes it) or until the next delayed job is due.
 */
export class LeaseLoop {
  /** The last lease call was refused because Redis was full (logged once per episode). */
  private outOfMemory = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly errors = new ErrorBackoff();
  private readonly sleeper = new Sleeper();
  private resolveStopped: (() => void) | undefined;
  private readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly dispatcher: Dispatcher,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Stops leasing. A blocked wait on the wake key is left to time out on its own connection
   * (closing that connection ends it), so stop() only waits for an in-flight lease call.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.resolveStopped?.();
    this.sleeper.interrupt();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const want = Math.min(LEASE_LOOP_BATCH, this.dispatcher.wanted());
        if (want === 0) {
          await Promise.race([this.dispatcher.capacityChanged(), this.stopped]);
          continue;
        }
        const batch = await this.consumer.lease(this.owner, want, this.leaseMs);
        this.errors.reset();
        if (this.outOfMemory) {
          this.outOfMemory = false;
          this.logger.info({ queue: this.consumer.name }, 'Redis has room again: leasing resumed');
        }
        if (!this.running) {
          // Leased during stop: hand them straight to the dispatcher, whose shutdown releases them.
          this.dispatcher.add(batch.jobs);
          return;
        }
        if (batch.jobs.length > 0) {
          this.dispatcher.add(batch.jobs);
          continue;
        }
        const untilDue = batch.nextDueAt === null ? MAX_IDLE_WAIT_MS : batch.nextDueAt - Date.now();
        const wait = Math.max(1, Math.min(MAX_IDLE_WAIT_MS, untilDue));
        const woken = this.consumer.waitForWork(wait);
        // stop() closes the wait's connection, which rejects it after the race is decided;
        // while running, a rejection reaches the catch below through the race.
        woken.catch((err: unknown) => {
          if (!this.running) this.logger.debug({ err, queue: this.consumer.name }, 'wake-up wait ended by shutdown');
        });
        await Promise.race([woken, this.stopped]);
      } catch (err) {
        if (!this.running) return;
        const delay = this.errors.next();
        if (isOutOfMemoryReply(err)) {
          // Said once per episode: the retries go on quietly until a lease succeeds.
          if (!this.outOfMemory) this.logger.warn({ queue: this.consumer.name }, 'Redis is out of memory (OOM): leasing stopped until it has room again (free memory, shorten retention, or raise maxmemory)');
          this.outOfMemory = true;
        } else {
          this.logger.warn({ err, queue: this.consumer.name, retryInMs: delay }, 'leasing failed (Redis unreachable?); retrying');
        }
        await this.sleeper.sleep(delay);
      }
    }
  }
}
