import type { QueueConsumer } from '../queue/consumer.js';
import { isOutOfMemoryReply } from '../queue/redis-memory.js';
import { ErrorBackoff, Sleeper } from './timers.js';
import type { Dispatcher } from './dispatcher.js';
import type { Logger } from './logger.js';

/**
 * Most jobs one lease loop asks for per call; the queue would allow up to MAX_LEASE_PER_CALL
 * (src/queue/consumer.ts). 128 is the largest batch the queue-ops bench measures lease+complete
 * at (1, 16 and 128: docs/benchmarks.md, "queue-ops"); the default --prefetch (512) is filled by
 * several calls, two in flight while a backlog lasts.
 */
const LEASE_LOOP_BATCH = 128;
/** Longest a blocked wait lasts before the loop looks again (paused queues, clock drift). */
const MAX_IDLE_WAIT_MS = 5000;
/**
 * While a backlog lasts, a second lease call runs beside the first, so Redis is leasing the next
 * batch while the main thread hands out the last one. With one call in flight both sat idle in
 * turn: a drain of 100,000 tiny jobs ran 2-14% faster with two (3 alternated pairs, compiled).
 */
const LANES = 2;
/** The call ahead is made only for at least this many jobs; fewer are not worth a round trip. */
const MIN_AHEAD = 32;

/**
 * One per queue: leases as many jobs as the dispatcher has room for, and when the queue is
 * empty blocks on its wake key (an enqueue wakes it) or until the next delayed job is due.
 * Lane 0 does all of that; while the last lease came back full (a backlog), lane 1 leases too,
 * each call asking only for what the dispatcher wants beyond the calls already in flight.
 */
export class LeaseLoop {
  /** The last lease call was refused because Redis was full (logged once per episode). */
  private outOfMemory = false;
  /**
   * Why lease calls have been failing, and how many did, since the last success. A cause is
   * logged once when it starts (or changes), not on every retry: an ACL that lost a command
   * (NOPERM) or a Redis that is down would otherwise log a warning every few seconds.
   */
  private failing: { cause: string; failures: number } | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly errors = new ErrorBackoff();
  private readonly sleeper = new Sleeper();
  private resolveStopped: (() => void) | undefined;
  private readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
  /** Jobs asked for by lease calls still in flight. */
  private asked = 0;
  /** The last lease call came back full: more jobs are likely waiting. */
  private backlog = false;
  private backlogSeen: (() => void) | undefined;

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly dispatcher: Dispatcher,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = true;
    const ahead = Array.from({ length: LANES - 1 }, (_, i) => this.runAhead(i + 1));
    this.loop = Promise.all([this.run(), ...ahead]).then(() => undefined);
  }

  /** What a lease call should ask for now: the dispatcher's room, less what calls in flight asked for. */
  private wantNow(): number {
    return Math.min(LEASE_LOOP_BATCH, Math.max(0, this.dispatcher.wanted() - this.asked));
  }

  private async leaseFor(want: number, lane: number) {
    this.asked += want;
    try {
      const batch = await this.consumer.lease(this.owner, want, this.leaseMs, lane);
      this.backlog = batch.jobs.length === want;
      if (this.backlog) this.backlogSeen?.();
      return batch;
    } catch (err) {
      this.backlog = false;
      throw err;
    } finally {
      this.asked -= want;
    }
  }

  /**
   * Stops leasing. A blocked wait on the wake key is left to end on its own (closing the
   * consumer ends it), so stop() only waits for the lease calls in flight.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.resolveStopped?.();
    this.backlogSeen?.();
    this.sleeper.interrupt();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const want = this.wantNow();
        if (want === 0) {
          await Promise.race([this.dispatcher.capacityChanged(), this.stopped]);
          continue;
        }
        const batch = await this.leaseFor(want, 0);
        this.errors.reset();
        if (this.outOfMemory) {
          this.outOfMemory = false;
          this.logger.info({ queue: this.consumer.name }, 'Redis has room again: leasing resumed');
        } else if (this.failing) {
          this.logger.info({ queue: this.consumer.name, failedCalls: this.failing.failures }, 'leasing resumed');
        }
        this.failing = undefined;
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
          // A Redis error's code (NOPERM, LOADING, ...) is its cause; the rest of the text varies
          // by the command refused (EVALSHA, then EVAL on the reload), which is one cause still.
          const message = err instanceof Error ? err.message : String(err);
          const cause = /^[A-Z]{3,}\b/.exec(message)?.[0] ?? message;
          if (this.failing?.cause !== cause) {
            this.logger.warn({ err, queue: this.consumer.name, retryInMs: delay }, 'leasing failed (Redis unreachable?); retrying until it succeeds (said once per cause)');
            this.failing = { cause, failures: 0 };
          } else {
            this.logger.debug({ err, queue: this.consumer.name, retryInMs: delay }, 'leasing failed again');
          }
          this.failing.failures += 1;
        }
        await this.sleeper.sleep(delay);
      }
    }
  }

  /**
   * A lane beside run(): leases only while a backlog lasts, and never blocks on the wake key (lane
   * 0 does). A failed call ends the backlog; lane 0 meets the same failure and reports it.
   */
  private async runAhead(lane: number): Promise<void> {
    while (this.running) {
      if (!this.backlog) {
        await Promise.race([new Promise<void>((resolve) => (this.backlogSeen = resolve)), this.stopped]);
        this.backlogSeen = undefined;
        continue;
      }
      const want = this.wantNow();
      if (want < MIN_AHEAD) {
        await Promise.race([this.dispatcher.capacityChanged(), this.stopped]);
        continue;
      }
      try {
        const batch = await this.leaseFor(want, lane);
        // Leased during stop or not, the dispatcher holds them (its shutdown releases them).
        this.dispatcher.add(batch.jobs);
      } catch (err) {
        if (this.running) this.logger.debug({ err, queue: this.consumer.name, lane }, 'lease call ahead failed; lane 0 retries');
      }
    }
  }
}
