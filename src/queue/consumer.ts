import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { backoffDelay, decodeBackoff } from './backoff.js';
import { encodePayload, type EncodedPayload, type PayloadType } from './codec.js';
import { duplicateForBlocking, type RedisClient } from './connection.js';
import { closeContext, createContext, type ContextOptions, type QueueContext } from './context.js';
import { toErrorInfo, ValidationError } from './errors.js';
import type { Priority } from './keys.js';
import { Lease } from './lease.js';
import { WakeHub } from './wake-hub.js';
import { decodeCount, decodeData, decodeDataType, decodeMetadata, decodePriority, decodeProcessor, decodeStoredBackoff, CorruptFieldError, FieldProblems } from './stored-fields.js';
import type { BackoffPolicy } from './options.js';

/** A job handed to a consumer, with everything needed to run it (one round trip, no second read). */
export interface LeasedJob<D = unknown> {
  readonly queue: string;
  readonly id: string;
  readonly lease: Lease;
  readonly processor: string;
  readonly data: D;
  readonly dataType: PayloadType;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly enqueuedAt: number;
  /** When a delayed job or a retry fell due (0 when it was never delayed): waits count from here. */
  readonly dueAt: number;
  readonly leasedAt: number;
  readonly priority: Priority;
  readonly backoff: BackoffPolicy;
  readonly metadata?: Record<string, unknown>;
  /** Set when stored fields cannot be decoded (each problem named): the job must not run. */
  readonly corrupt?: readonly string[];
}

export interface LeaseBatch<D = unknown> {
  jobs: Array<LeasedJob<D>>;
  /** Paused by an operator (pause()) or, until `resourcePausedUntil`, for an unavailable resource. */
  paused: boolean;
  resourcePausedUntil: number | null;
  /** When the earliest delayed job falls due (epoch ms), or null when none is waiting. */
  nextDueAt: number | null;
}

export interface Failure {
  job: LeasedJob;
  error: unknown;
  /** Straight to dead, whatever attempts remain (bad input, corrupt file, ...). */
  unrecoverable?: boolean;
  /** Overrides the back-off policy for this retry. */
  retryAfterMs?: number;
}

export interface FailOutcome {
  lost: string[];
  dead: string[];
  retried: string[];
}

/** Fields per job in the lease reply (see lua/lease.lua). */
/** Reply values per leased job (lease.lua): id, meta (fields joined by NUL), data. */
const LEASE_VALUES = 3;
/** Fields in a leased job's meta string, in lease.lua's order. */
const META_FIELDS = 11;
const META_SEP = '\0';
/**
 * The most jobs one lease call may take (`lease(owner, max)` refuses more), so one script call
 * never holds Redis for long. It also bounds the delayed jobs one lease call promotes and the
 * expired leases one reclaim call takes back. How many a supervisor asks for is its own choice
 * (LEASE_LOOP_BATCH in src/supervisor/lease-loop.ts).
 */
export const MAX_LEASE_PER_CALL = 1000;
/** Error stacks are kept for diagnosis, not as a place to store megabytes. */
const MAX_STACK_CHARS = 8192;

const str = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value));

/**
 * The consumer side of the lease protocol, used by supervisors: lease, renew, complete, fail,
 * release, reclaim, and a blocking wait that an enqueue wakes.
 */
export class QueueConsumer {
  readonly name: string;
  private readonly context: QueueContext;
  private blocking: RedisClient | undefined;
  private hub: WakeHub | undefined;

  constructor(name: string, options: ContextOptions = {}) {
    this.context = createContext(name, options);
    this.name = name;
  }

  get scriptReloads(): number {
    return this.context.scripts.reloads;
  }

  /** Lease call ids: unique per consumer object, so a repeat of one call is recognisable. */
  private readonly callPrefix = `${randomBytes(6).toString('hex')}-`;
  private leaseCalls = 0;
  /** Per lane: the id of a lease call that failed without an answer (it may have run). */
  private readonly unansweredLease = new Map<number, string>();

  /** Outcome writes that reached the master but fewer replicas than durability asks (see docs/operations.md). */
  notReplicated = 0;

  /**
   * Outcome writes wait for replicas when durability is on. A write that was not confirmed in
   * time is still applied, so it is counted (and logged by the caller), never retried: a retry
   * would be refused as "lease lost" and hide the real cause.
   */
  private async replicated(name: 'complete' | 'fail' | 'release' | 'pause-for-resource', args: ReadonlyArray<string | number | Buffer>, jobs: number): Promise<unknown> {
    const { reply, replicas } = await this.context.scripts.runReplicated(name, args);
    const durability = this.context.scripts.durability;
    if (durability && replicas < durability.replicas) this.notReplicated += jobs;
    return reply;
  }

  /**
   * `lane`: calls of one owner that may be in flight at the same time each take their own lane
   * (0, 1, ...), so each has its own record of its last call and a repeat of one is recognised
   * while the other runs.
   */
  async lease<D = unknown>(owner: string, max: number, leaseMs: number, lane = 0): Promise<LeaseBatch<D>> {
    if (!Number.isInteger(max) || max < 1 || max > MAX_LEASE_PER_CALL) throw new ValidationError('max', `must be a whole number from 1 to ${MAX_LEASE_PER_CALL}, got ${max}`);
    if (!Number.isInteger(leaseMs) || leaseMs < 100) throw new ValidationError('leaseMs', `must be a whole number of at least 100, got ${leaseMs}`);
    const now = this.context.clock();
    // A call that got no answer keeps its id for the next one: if it did run, Redis hands
    // back what it leased instead of leasing more (lease.lua).
    const callId = this.unansweredLease.get(lane) ?? `${this.callPrefix}${(this.leaseCalls += 1)}`;
    this.unansweredLease.delete(lane);
    let reply: unknown[];
    try {
      reply = (await this.context.scripts.runBuffer(
        'lease',
        [this.context.keys.prefix, now, owner, max, leaseMs, MAX_LEASE_PER_CALL, callId],
        `${this.context.keys.prefix}last-lease:${owner}${lane === 0 ? '' : `#${lane}`}`,
      )) as unknown[];
    } catch (err) {
      this.unansweredLease.set(lane, callId);
      throw err;
    }
    const status = Number(str(reply[0]));
    const due = Number(str(reply[1]));
    if (status === 2) return { jobs: [], paused: true, resourcePausedUntil: due, nextDueAt: due };
    const paused = status === 0;
    const jobs: Array<LeasedJob<D>> = [];
    for (let i = 2; i + LEASE_VALUES - 1 < reply.length; i += LEASE_VALUES) {
      jobs.push(this.decodeLeased<D>(str(reply[i]), str(reply[i + 1]).split(META_SEP), reply[i + 2] as Buffer, now, leaseMs));
    }
    return { jobs, paused, resourcePausedUntil: null, nextDueAt: due < 0 ? null : due };
  }

  /**
   * One job of a lease reply. A field that cannot be decoded does not throw (that would strand
   * the whole batch, leased to nobody): the job comes back marked `corrupt`, with every problem
   * named, and its supervisor fails it without running it. The common case decodes straight
   * through; only a job that failed is decoded again, field by field, to name every problem.
   * A stored field holding a NUL byte shifts the fields after it: token and attempt come first
   * and from the script, so the lease is still right, and the rest is reported as damaged.
   */
  private decodeLeased<D>(id: string, meta: string[], data: Buffer, now: number, leaseMs: number): LeasedJob<D> {
    if (meta.length !== META_FIELDS) {
      const unreadable = `a stored field holds a NUL byte (the lease reply had ${meta.length} fields where ${META_FIELDS} were expected)`;
      return this.leasedJob<D>(id, meta, data, now, leaseMs, new FieldProblems(unreadable));
    }
    try {
      return this.leasedJob<D>(id, meta, data, now, leaseMs, undefined);
    } catch (err) {
      if (!(err instanceof CorruptFieldError)) throw err;
      return this.leasedJob<D>(id, meta, data, now, leaseMs, new FieldProblems());
    }
  }

  /** `m`: lease.lua's meta fields. Without `problems` the first bad field throws. */
  private leasedJob<D>(id: string, m: string[], data: Buffer, now: number, leaseMs: number, problems: FieldProblems | undefined): LeasedJob<D> {
    const take = <T>(decode: () => T, fallback: T): T => (problems ? problems.take(decode, fallback) : decode());
    const dataType = take(() => decodeDataType(m[3]!), 'json');
    const metadata = take(() => decodeMetadata(m[9]!), undefined);
    const job: LeasedJob<D> = {
      queue: this.name,
      id,
      lease: new Lease(id, m[0]!, now + leaseMs),
      processor: take(() => decodeProcessor(m[2]!), ''),
      data: take(() => decodeData(data, dataType), null) as D,
      dataType,
      attempt: Number(m[1]),
      maxAttempts: take(() => decodeCount('maxAttempts', m[4]!, 1), 1),
      timeoutMs: take(() => decodeCount('timeoutMs', m[5]!), 0),
      enqueuedAt: take(() => decodeCount('enqueuedAt', m[6]!), now),
      dueAt: take(() => decodeCount('runAt', m[10]!), 0),
      leasedAt: now,
      priority: take(() => decodePriority(m[7]!), 'normal'),
      backoff: take(() => decodeStoredBackoff(m[8]!), decodeBackoff(undefined)),
      ...(metadata ? { metadata } : {}),
    };
    return problems && problems.list.length > 0 ? { ...job, corrupt: problems.list } : job;
  }

  /** Extends many leases in one call; returns the ids whose lease is lost (stop working on them). */
  async renew(owner: string, leases: readonly Lease[], leaseMs: number): Promise<string[]> {
    if (leases.length === 0) return [];
    const now = this.context.clock();
    const lost = (await this.context.scripts.run('renew', [
      this.context.keys.prefix, now, leaseMs, owner, ...leases.flatMap((l) => [l.id, l.token]),
    ])) as string[];
    const lostSet = new Set(lost);
    for (const lease of leases) if (!lostSet.has(lease.id)) lease.deadline = now + leaseMs;
    return lost;
  }

  /** Records results; returns the ids whose lease was lost (their results were discarded). */
  async complete(items: ReadonlyArray<{ lease: Lease; result?: unknown; encoded?: EncodedPayload }>): Promise<string[]> {
    if (items.length === 0) return [];
    const args: Array<string | number | Buffer> = [this.context.keys.prefix, this.context.clock(), this.context.eventsMaxLen];
    for (const { lease, result, encoded: given } of items) {
      const encoded = given ?? this.encodeResult(result, lease.id);
      args.push(lease.id, lease.token, encoded.value, encoded.type);
    }
    return (await this.replicated('complete', args, items.length)) as string[];
  }

  /** Encodes a result as complete() stores it; throws a ValidationError when it cannot be stored. */
  encodeResult(result: unknown, jobId: string): EncodedPayload {
    return encodePayload(result ?? null, this.context.maxPayloadBytes, `result of job ${jobId}`);
  }

  /** Records failures: each job retries after its back-off, or goes to dead on its last attempt. */
  async fail(failures: readonly Failure[]): Promise<FailOutcome> {
    if (failures.length === 0) return { lost: [], dead: [], retried: [] };
    const now = this.context.clock();
    const args: Array<string | number> = [this.context.keys.prefix, now, this.context.eventsMaxLen];
    for (const { job, error, unrecoverable, retryAfterMs } of failures) {
      const info = toErrorInfo(error, now, job.attempt);
      if (info.stack && info.stack.length > MAX_STACK_CHARS) info.stack = info.stack.slice(0, MAX_STACK_CHARS);
      // A processor-supplied delay is only a wish: a negative or non-number one must not turn a
      // retry into a death (-1 means unrecoverable to the script).
      const asked = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.max(0, Math.round(retryAfterMs)) : undefined;
      const delay = unrecoverable ? -1 : asked ?? backoffDelay(job.backoff, job.attempt, this.context.random);
      args.push(job.id, job.lease.token, JSON.stringify(info), delay);
    }
    const [lost, dead, retried] = (await this.replicated('fail', args, failures.length)) as [string[], string[], string[]];
    return { lost, dead, retried };
  }

  /**
   * Gives jobs back to the front of their queue without a failure: on shutdown before they
   * started, or when a shared resource asked to wait. Returns the ids whose lease was lost.
   */
  async release(leases: readonly Lease[], options: { refundAttempt?: boolean } = {}): Promise<string[]> {
    if (leases.length === 0) return [];
    const refund = options.refundAttempt === false ? '0' : '1';
    return (await this.replicated('release', [
      this.context.keys.prefix, this.context.clock(), ...leases.flatMap((l) => [l.id, l.token, refund]),
    ], leases.length)) as string[];
  }

  /** Takes back expired leases: to pending, or to dead past the last attempt. */
  async reclaim(limit = MAX_LEASE_PER_CALL): Promise<{ requeued: string[]; dead: string[] }> {
    const [requeued, dead] = (await this.context.scripts.run('reclaim', [
      this.context.keys.prefix, this.context.clock(), limit, this.context.eventsMaxLen,
    ])) as [string[], string[]];
    return { requeued, dead };
  }

  /**
   * A resource every job of the queue needs is unavailable: gives the job back without using
   * an attempt and pauses the queue for all supervisors, growing the pause on repeated signals.
   */
  async pauseForResource(
    job: LeasedJob,
    options: { firstPauseMs: number; maxPauseMs: number; factor?: number; reason: string },
  ): Promise<{ lost: boolean; pausedUntil: number; level: number }> {
    const [status, pausedUntil, level] = (await this.replicated('pause-for-resource', [
      this.context.keys.prefix, this.context.clock(), job.id, job.lease.token,
      options.firstPauseMs, options.maxPauseMs, options.factor ?? 1.5, options.reason.slice(0, 1000),
    ], 1)) as [number, number, number];
    return { lost: status === 0, pausedUntil, level };
  }

  /** Stores progress for a running job; false when the lease is lost. */
  async progress(lease: Lease, value: unknown): Promise<boolean> {
    const encoded = encodePayload(value ?? null, 64 * 1024, 'progress');
    if (encoded.type === 'bytes') throw new ValidationError('progress', 'must be a JSON value (a number, string or object), not bytes');
    const stored = await this.context.scripts.run('progress', [this.context.keys.prefix, lease.id, lease.token, encoded.value]);
    return Number(stored) === 1;
  }

  /**
   * Blocks until an enqueue (or a release, retry or resume) signals work, or timeoutMs passes.
   * True when woken by a signal. Every consumer on one client waits through one blocking
   * connection (WakeHub), opened on first use; on a Redis Cluster, where one BLPOP cannot span
   * queues, each consumer opens its own.
   */
  async waitForWork(timeoutMs: number): Promise<boolean> {
    if (!(this.context.client instanceof Cluster)) {
      this.hub ??= WakeHub.for(this.context.client);
      return this.hub.wait(this.context.keys.wake, timeoutMs);
    }
    this.blocking ??= duplicateForBlocking(this.context.client);
    const seconds = Math.max(0.01, timeoutMs / 1000);
    const reply = await this.blocking.blpop(this.context.keys.wake, seconds);
    return reply !== null;
  }

  async close(): Promise<void> {
    this.hub?.release(this.context.keys.wake);
    this.hub = undefined;
    this.blocking?.disconnect();
    this.blocking = undefined;
    await closeContext(this.context);
  }
}
