import type { EncodedPayload } from '../queue/codec.js';
import type { QueueConsumer } from '../queue/consumer.js';
import type { ErrorInfo } from '../queue/errors.js';
import type { FollowUpJob } from '../processors/contract.js';
import type { FollowUpBatch, FollowUpEnqueuer } from './follow-ups.js';
import type { HeldJob } from './held-job.js';
import type { Disposition, SupervisorEvents } from './events.js';
import type { Logger } from './logger.js';
import type { SupervisorStats } from './stats.js';

type Ack =
  | { kind: 'complete'; held: HeldJob; result: unknown; followUps: FollowUpJob[]; encoded?: EncodedPayload }
  | { kind: 'fail'; held: HeldJob; error: ErrorInfo | Error; unrecoverable: boolean; retryAfterMs?: number }
  | { kind: 'release'; held: HeldJob };

const MAX_BATCH = 128;
const MAX_RETRY_DELAY_MS = 5000;


/** A plain object that keeps name, code and stack when handed to QueueConsumer.fail. */
function asError(info: ErrorInfo | Error): Error {
  if (info instanceof Error) return info;
  const err = new Error(info.message);
  err.name = info.name;
  if (info.stack) err.stack = info.stack;
  if (info.code) (err as Error & { code?: string }).code = info.code;
  return err;
}

/**
 * Collects outcomes of one queue and writes them in batches: one complete, one fail and one
 * release call per flush, however many jobs finished since the last one. A failed write is
 * retried with back-off (Redis restarting): outcomes are never dropped, and a lease that
 * expired meanwhile is reported as lost by Redis, not guessed here.
 */
export class Acker {
  private pending: Ack[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private failures = 0;

  constructor(
    private readonly consumer: QueueConsumer,
    private readonly followUps: FollowUpEnqueuer,
    private readonly stats: SupervisorStats,
    private readonly logger: Logger,
    private readonly onSettled: (held: HeldJob) => void,
    private readonly events: SupervisorEvents,
  ) {}

  private settled(acks: readonly Ack[], disposition: (id: string) => Disposition): void {
    const at = Date.now();
    for (const { held } of acks) this.events.emit('settled', { job: held.job, disposition: disposition(held.job.id), at });
  }

  push(ack: Ack): void {
    ack.held.state = 'acking';
    this.pending.push(this.checkResult(ack));
    this.schedule();
  }

  /**
   * A result Redis would refuse (too large, not JSON) would fail its whole batch on every retry;
   * it becomes the job's own unrecoverable failure instead, with the reason.
   */
  private checkResult(ack: Ack): Ack {
    if (ack.kind !== 'complete') return ack;
    try {
      return { ...ack, encoded: this.consumer.encodeResult(ack.result, ack.held.job.id) };
    } catch (err) {
      const error = new Error(`the processor's result cannot be stored: ${err instanceof Error ? err.message : String(err)}`);
      error.name = 'ResultError';
      (error as Error & { code?: string }).code = 'RESULT_INVALID';
      return { kind: 'fail', held: ack.held, error, unrecoverable: true };
    }
  }

  /** Resolves once everything pushed so far is written. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
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
    const batch = this.pending.splice(0, MAX_BATCH * 3);
    this.flushing = this.write(batch)
      .then(async (unwritten) => {
        const written = batch.filter((a) => !unwritten.includes(a));
        for (const ack of written) this.onSettled(ack.held);
        if (unwritten.length === 0) {
          this.failures = 0;
          return;
        }
        this.failures += 1;
        this.pending.unshift(...unwritten);
        await new Promise((r) => setTimeout(r, Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** this.failures)));
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
    const completes = batch.filter((a): a is Extract<Ack, { kind: 'complete' }> => a.kind === 'complete');
    const fails = batch.filter((a): a is Extract<Ack, { kind: 'fail' }> => a.kind === 'fail');
    const releases = batch.filter((a): a is Extract<Ack, { kind: 'release' }> => a.kind === 'release');
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
        this.logger.warn({ err, queue: this.consumer.name, jobs: acks.length }, `writing ${what} to Redis failed; will retry`);
        unwritten.push(...acks);
      }
    };
    await Promise.all([
      attempt(completes, 'completion', async () => {
        const withFollowUps: FollowUpBatch[] = completes
          .filter((a) => a.followUps.length > 0)
          .map((a) => ({ parentQueue: a.held.job.queue, parentId: a.held.job.id, jobs: a.followUps }));
        if (withFollowUps.length > 0) await this.followUps.enqueue(withFollowUps);
        const lost = await this.consumer.complete(completes.map((a) => ({ lease: a.held.job.lease, result: a.result, ...(a.encoded ? { encoded: a.encoded } : {}) })));
        this.stats.completed += completes.length - lost.length;
        const lostSet = new Set(lost);
        this.settled(completes, (id) => (lostSet.has(id) ? 'lost' : 'completed'));
        return lost;
      }),
      attempt(fails, 'failure', async () => {
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
      }),
      attempt(releases, 'release', async () => {
        const lost = await this.consumer.release(releases.map((a) => a.held.job.lease));
        this.stats.released += releases.length - lost.length;
        const lostSet = new Set(lost);
        this.settled(releases, (id) => (lostSet.has(id) ? 'lost' : 'released'));
        return lost;
      }),
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
}
