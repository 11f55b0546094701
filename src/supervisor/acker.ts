import type { QueueConsumer } from '../queue/consumer.js';
import type { ErrorInfo } from '../queue/errors.js';
import type { FollowUpBatch, FollowUpEnqueuer } from './follow-ups.js';
import type { HeldJob } from './held-job.js';
import type { Disposition, SupervisorEvents } from './events.js';
import type { Logger } from './logger.js';
import type { Ack } from './outcomes.js';
import type { SupervisorStats } from './stats.js';
import { isOutOfMemoryReply } from '../queue/redis-memory.js';
import { ErrorBackoff } from './timers.js';

type AckOf<K extends Ack['kind']> = Extract<Ack, { kind: K }>;

/** Outcomes of one kind written in one call; a flush takes up to this many of each kind. */
export const MAX_ACK_BATCH = 128;
const ACK_KINDS = 4;

/** A plain object that keeps name, code and stack when handed to QueueConsumer.fail. */
function asError(info: ErrorInfo | Error): Error {
  if (info instanceof Error) return info;
  const err = new Error(info.message);
  err.name = info.name;
  if (info.stack) err.stack = info.stack;
  if (info.code) (err as Error & { code?: string }).code = info.code;
  return err;
}

const ofKind = <K extends Ack['kind']>(batch: readonly Ack[], kind: K): AckOf<K>[] => batch.filter((a): a is AckOf<K> => a.kind === kind);

/**
 * The only writer of job outcomes to Redis and the only emitter of `settled`. Collects one
 * queue's acks and writes them in batches: one complete, one fail and one release call per
 * flush however many jobs finished since the last one (resource pauses, rare, one call each).
 * A failed write is retried with back-off (Redis restarting): outcomes are never dropped, and
 * a lease that expired meanwhile is reported as lost by Redis, not guessed here.
 */
export class Acker {
  private pending: Ack[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly backoff = new ErrorBackoff(100, 5000);
  /** Set while writes fail (Redis out of memory, unreachable, read-only): since when, and why. */
  private failing: { since: number; cause: string } | undefined;

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly followUps: FollowUpEnqueuer,
    private readonly stats: SupervisorStats,
    private readonly logger: Logger,
    private readonly onSettled: (held: HeldJob) => void,
    private readonly events: SupervisorEvents,
  ) {}

  push(ack: Ack): void {
    ack.held.state = 'acking';
    this.pending.push(ack);
    this.schedule();
  }

  /** Outcomes waiting to be written, and why writing them fails, when it does (for /health). */
  get writeState(): { unwritten: number; failingSince?: number; cause?: string } {
    return { unwritten: this.pending.length, ...(this.failing ? { failingSince: this.failing.since, cause: this.failing.cause } : {}) };
  }

  /** Resolves once everything pushed so far is written. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private settled(acks: readonly Ack[], disposition: (id: string) => Disposition): void {
    const at = Date.now();
    for (const { held } of acks) this.events.emit('settled', { job: held.job, disposition: disposition(held.job.id), at });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return this.flushing ?? Promise.resolve();
    const batch = this.pending.splice(0, MAX_ACK_BATCH * ACK_KINDS);
    this.flushing = this.write(batch)
      .then(async (unwritten) => {
        const written = batch.filter((a) => !unwritten.includes(a));
        for (const ack of written) this.onSettled(ack.held);
        if (unwritten.length === 0) {
          this.backoff.reset();
          this.failing = undefined;
          return;
        }
        this.pending.unshift(...unwritten);
        await new Promise((r) => setTimeout(r, this.backoff.next()));
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.schedule();
      });
    return this.flushing;
  }

  /**
   * Writes each kind in its own call; returns the acks whose call failed, to be retried. Kinds
   * are kept apart so a retry never re-sends an outcome Redis already took (it would come back
   * as a lost lease and be miscounted).
   */
  private async write(batch: Ack[]): Promise<Ack[]> {
    const completes = ofKind(batch, 'complete');
    const fails = ofKind(batch, 'fail');
    const releases = ofKind(batch, 'release');
    const pauses = ofKind(batch, 'pause');
    const unwritten: Ack[] = [];
    const notReplicatedBefore = this.consumer.notReplicated;
    const attempt = async (acks: Ack[], what: string, call: () => Promise<string[]>) => {
      if (acks.length === 0) return;
      try {
        const lost = await call();
        if (lost.length > 0) {
          this.stats.leaseLost += lost.length;
          this.logger.warn(
            { queue: this.consumer.name, lost },
            `lease lost before the ${what} was written: another supervisor re-ran or will re-run these jobs; this outcome was discarded`,
          );
        }
      } catch (err) {
        const cause = isOutOfMemoryReply(err) ? 'Redis is out of memory (OOM): it refuses writes until memory is freed or maxmemory raised' : err instanceof Error ? err.message : String(err);
        // One line per outage, not one per retry.
        if (!this.failing) this.logger.warn({ err, queue: this.consumer.name, jobs: acks.length }, `writing ${what} to Redis failed (${cause}); will retry until it succeeds`);
        this.failing ??= { since: Date.now(), cause };
        unwritten.push(...acks);
      }
    };
    await Promise.all([
      attempt(completes, 'completion', () => this.writeCompletes(completes)),
      attempt(fails, 'failure', () => this.writeFails(fails)),
      attempt(releases, 'release', () => this.writeReleases(releases)),
      ...pauses.map((pause) => attempt([pause], 'resource pause', () => this.writePause(pause))),
    ]);
    const notReplicated = this.consumer.notReplicated - notReplicatedBefore;
    if (notReplicated > 0) {
      this.stats.notReplicated += notReplicated;
      this.logger.warn(
        { queue: this.consumer.name, jobs: notReplicated },
        'outcomes written to the master but not confirmed by enough replicas in time (--redis-wait-replicas): a failover now could re-run these jobs',
      );
    }
    return unwritten;
  }

  private async writeCompletes(completes: AckOf<'complete'>[]): Promise<string[]> {
    const withFollowUps: FollowUpBatch[] = completes
      .filter((a) => a.followUps.length > 0)
      .map((a) => ({ parentQueue: a.held.job.queue, parentId: a.held.job.id, jobs: a.followUps }));
    if (withFollowUps.length > 0) await this.followUps.enqueue(withFollowUps);
    const lost = await this.consumer.complete(completes.map((a) => ({ lease: a.held.job.lease, encoded: a.encoded })));
    this.stats.completed += completes.length - lost.length;
    const lostSet = new Set(lost);
    this.settled(completes, (id) => (lostSet.has(id) ? 'lost' : 'completed'));
    return lost;
  }

  private async writeFails(fails: AckOf<'fail'>[]): Promise<string[]> {
    const outcome = await this.consumer.fail(
      fails.map((a) => ({
        job: a.held.job,
        error: asError(a.error),
        unrecoverable: a.unrecoverable,
        ...(a.retryAfterMs !== undefined ? { retryAfterMs: a.retryAfterMs } : {}),
      })),
    );
    this.stats.failed += fails.length - outcome.lost.length;
    this.stats.retried += outcome.retried.length;
    this.stats.dead += outcome.dead.length;
    const lostSet = new Set(outcome.lost);
    const deadSet = new Set(outcome.dead);
    this.settled(fails, (id) => (lostSet.has(id) ? 'lost' : deadSet.has(id) ? 'dead' : 'retried'));
    return outcome.lost;
  }

  private async writeReleases(releases: AckOf<'release'>[]): Promise<string[]> {
    const lost = await this.consumer.release(releases.map((a) => a.held.job.lease));
    this.stats.released += releases.length - lost.length;
    const lostSet = new Set(lost);
    this.settled(releases, (id) => (lostSet.has(id) ? 'lost' : 'released'));
    return lost;
  }

  private async writePause(pause: AckOf<'pause'>): Promise<string[]> {
    const { job } = pause.held;
    const { lost, pausedUntil, level } = await this.consumer.pauseForResource(job, {
      firstPauseMs: pause.firstPauseMs,
      maxPauseMs: pause.maxPauseMs,
      reason: pause.reason,
    });
    this.settled([pause], () => (lost ? 'lost' : 'paused'));
    if (lost) return [job.id];
    this.stats.resourcePauses += 1;
    this.logger.warn({ queue: job.queue, jobId: job.id, reason: pause.reason, pausedUntil: new Date(pausedUntil).toISOString(), level }, 'queue paused: a resource its jobs need is unavailable');
    return [];
  }
}
