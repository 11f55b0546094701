import { randomUUID } from 'node:crypto';
import type { RedisClient } from './connection.js';
import { closeContext, createContext, type QueueContext } from './context.js';
import { ClosedError, ErrorCode, JobFailedError, JobNotFoundError, NotCancellableError, NotReplicatedError, ValidationError, WaitTimeoutError, type WaitSituation } from './errors.js';
import { QueueEvents, type EventListener } from './events.js';
import { buildJobArgs, type JobSpec } from './job-args.js';
import { parseJob, type JobRecord } from './job.js';
import { JOB_STATES, PRIORITIES, type JobState, type Priority } from './keys.js';
import { liveSupervisorsServing } from './live-supervisors.js';
import { describeEviction, EVICTION_FIX, evictingNodes, isOutOfMemoryReply, readMemory, RedisOutOfMemoryError } from './redis-memory.js';
import { validateJobOptions, type JobOptions, type QueueOptions } from './options.js';
import { waitSituation, type QueueStanding } from './wait-situation.js';

/** How long a timed-out wait gives Redis to say where the job stands before it reports without. */
const STANDING_READ_LIMIT_MS = 2000;

export type EnqueueOutcome = 'created' | 'exists' | 'coalesced' | 'cached';

export interface EnqueueResult {
  /** The job's id; for 'coalesced', the id of the in-flight job with the same dedupeKey. */
  id: string;
  state: JobState;
  outcome: EnqueueOutcome;
}

export interface QueueCounts {
  pending: number;
  delayed: number;
  active: number;
  completed: number;
  dead: number;
  /** Pending jobs per priority. */
  byPriority: Record<Priority, number>;
  paused: boolean;
  /** Set while a processor's "resource unavailable" signal holds the queue. */
  resourcePause: ResourcePause | null;
}

export interface ResourcePause {
  until: number;
  reason: string;
  /** How many times the pause grew in a row (0 = first). */
  level: number;
}

export interface ListOptions {
  offset?: number;
  limit?: number;
}

/** Enqueue batches go to Redis in script calls of at most this many jobs. */
export const ENQUEUE_CHUNK = 1000;
/** listJobs pages: the size when none is given, and the largest allowed. */
export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 10_000;
const ADMIN_BATCH = 1000;

export function validateState(state: unknown): JobState {
  if (!JOB_STATES.includes(state as JobState)) {
    throw new ValidationError('state', `${JSON.stringify(state)} is not a job state; use one of ${JOB_STATES.join(', ')}`, ErrorCode.UnknownState);
  }
  return state as JobState;
}

function listWindow(options: ListOptions): { offset: number; limit: number } {
  const offset = options.offset ?? 0;
  const limit = options.limit ?? LIST_DEFAULT_LIMIT;
  if (!Number.isInteger(offset) || offset < 0) throw new ValidationError('offset', `must be a whole number of at least 0, got ${offset}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) throw new ValidationError('limit', `must be a whole number from 1 to ${LIST_MAX_LIMIT}, got ${limit}`);
  return { offset, limit };
}

/** Redis nodes already warned about in this process: the warning is said once. */
const warnedEvicting = new Set<string>();

/**
 * A producer cannot stop Redis from evicting the jobs it enqueues, but it can say so once: read
 * the policy on the first enqueue, in the background (an INFO refused by an ACL says nothing).
 */
function warnIfEvicting(client: RedisClient): Promise<void> {
  return readMemory(client)
    .then((nodes) => {
      const fresh = evictingNodes(nodes).filter((n) => !warnedEvicting.has(n.node));
      if (fresh.length === 0) return;
      for (const n of fresh) warnedEvicting.add(n.node);
      process.emitWarning(`troupe: ${describeEviction(fresh)}: ${EVICTION_FIX}`, { code: 'TROUPE_REDIS_EVICTION' });
    })
    .catch(() => undefined);
}

/**
 * The producer and admin client of one queue: enqueue, inspect, pause, cancel, dead letters,
 * and waiting for results. Importable by any Node program; it never runs jobs.
 */
export class Queue<D = unknown, R = unknown> {
  readonly name: string;
  private readonly context: QueueContext;
  private readonly defaults: JobOptions;
  private events: QueueEvents | undefined;
  private closed = false;
  private evictionWarned: Promise<void> | undefined;

  constructor(name: string, options: QueueOptions = {}) {
    this.defaults = validateJobOptions(options.defaultJobOptions, 'defaultJobOptions');
    this.context = createContext(name, options);
    this.name = name;
  }

  /** The underlying client, for callers that want to share it. */
  get redis() {
    return this.context.client;
  }

  async enqueue(processor: string, data?: D, options?: JobOptions): Promise<EnqueueResult> {
    const [result] = await this.enqueueMany([{ processor, data, ...(options ? { options } : {}) }]);
    return result!;
  }

  /** All jobs are validated before anything is sent; up to 1000 jobs go in one round trip. */
  async enqueueMany(specs: ReadonlyArray<JobSpec<D>>): Promise<EnqueueResult[]> {
    this.assertOpen();
    if (!Array.isArray(specs)) throw new ValidationError('jobs', 'must be an array of { processor, data, options }');
    const now = this.context.clock();
    const built = specs.map((spec, i) => {
      try {
        return buildJobArgs(spec, this.defaults, now, this.context.maxPayloadBytes);
      } catch (err) {
        if (err instanceof ValidationError && specs.length > 1) {
          throw new ValidationError(`jobs[${i}].${err.field}`, err.detail, err.code);
        }
        throw err;
      }
    });
    this.evictionWarned ??= warnIfEvicting(this.context.client);
    const results: EnqueueResult[] = [];
    for (let start = 0; start < built.length; start += ENQUEUE_CHUNK) {
      const chunk = built.slice(start, start + ENQUEUE_CHUNK);
      let sent: { reply: string[]; replicas: number };
      try {
        sent = (await this.context.scripts.runReplicated('enqueue', [
          this.context.keys.prefix, now, this.context.eventsMaxLen, chunk.length, ...chunk.flatMap((job) => job.group),
        ])) as { reply: string[]; replicas: number };
      } catch (err) {
        if (!isOutOfMemoryReply(err)) throw err;
        const what = start === 0 ? `the enqueue of ${built.length} job(s)` : `jobs ${start + 1} to ${built.length} of ${built.length} (the first ${start} were stored)`;
        throw new RedisOutOfMemoryError(what, { cause: err });
      }
      const { reply, replicas } = sent;
      for (let i = 0; i + 2 < reply.length; i += 3) {
        results.push({ id: reply[i]!, outcome: reply[i + 1] as EnqueueOutcome, state: reply[i + 2] as JobState });
      }
      const durability = this.context.scripts.durability;
      if (durability && replicas < durability.replicas) {
        throw new NotReplicatedError(`enqueue of ${results.length} job(s)`, results.map((r) => r.id), replicas, durability.replicas, durability.timeoutMs);
      }
    }
    return results;
  }

  async getJob(id: string): Promise<JobRecord<D, R> | null> {
    this.assertOpen();
    const fields = await this.context.client.hgetallBuffer(this.context.keys.job(id));
    return parseJob<D, R>(this.name, fields);
  }

  /** Pending: in the order they will run. Delayed and active: soonest due first. Completed and dead: newest first. */
  async listJobs(state: JobState, options: ListOptions = {}): Promise<Array<JobRecord<D, R>>> {
    this.assertOpen();
    validateState(state);
    const { offset, limit } = listWindow(options);
    const ids = await this.listIds(state, offset, limit);
    if (ids.length === 0) return [];
    const pipeline = this.context.client.pipeline();
    for (const id of ids) pipeline.hgetallBuffer(this.context.keys.job(id));
    const replies = (await pipeline.exec()) ?? [];
    const jobs: Array<JobRecord<D, R>> = [];
    for (const [err, fields] of replies) {
      if (err) throw err;
      const job = parseJob<D, R>(this.name, fields as Record<string, Buffer>);
      if (job) jobs.push(job);
    }
    return jobs;
  }

  private async listIds(state: JobState, offset: number, limit: number): Promise<string[]> {
    const { client, keys } = this.context;
    if (state === 'pending') {
      const lengths = await Promise.all(PRIORITIES.map((p) => client.llen(keys.pending[p])));
      const ids: string[] = [];
      let skip = offset;
      for (const [i, p] of PRIORITIES.entries()) {
        const length = lengths[i]!;
        if (skip >= length) {
          skip -= length;
          continue;
        }
        ids.push(...(await client.lrange(keys.pending[p], skip, skip + (limit - ids.length) - 1)));
        skip = 0;
        if (ids.length >= limit) break;
      }
      return ids;
    }
    const zset = keys[state];
    const newestFirst = state === 'completed' || state === 'dead';
    const [start, stop] = [String(offset), String(offset + limit - 1)];
    return newestFirst ? client.zrange(zset, start, stop, 'REV') : client.zrange(zset, start, stop);
  }

  async counts(): Promise<QueueCounts> {
    this.assertOpen();
    const { client, keys } = this.context;
    const pipeline = client.pipeline();
    for (const p of PRIORITIES) pipeline.llen(keys.pending[p]);
    pipeline.zcard(keys.delayed).zcard(keys.active).zcard(keys.completed).zcard(keys.dead);
    pipeline.hmget(keys.meta, 'paused', 'resourcePausedUntil', 'resourcePauseReason', 'resourcePauseLevel');
    const replies = (await pipeline.exec()) ?? [];
    const values = replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const meta = values[8] as Array<string | null>;
    const until = Number(meta[1] ?? 0);
    const byPriority = Object.fromEntries(PRIORITIES.map((p, i) => [p, Number(values[i])])) as Record<Priority, number>;
    return {
      pending: PRIORITIES.reduce((sum, p) => sum + byPriority[p], 0),
      delayed: Number(values[4]),
      active: Number(values[5]),
      completed: Number(values[6]),
      dead: Number(values[7]),
      byPriority,
      paused: meta[0] === '1',
      resourcePause: until > this.context.clock() ? { until, reason: meta[2] ?? '', level: Number(meta[3] ?? 0) } : null,
    };
  }

  /** Stops every supervisor from leasing this queue's jobs; running jobs carry on. */
  async pause(): Promise<void> {
    this.assertOpen();
    await this.context.client.hset(this.context.keys.meta, 'paused', '1');
  }

  /** Lifts an operator pause and any resource pause a processor asked for. */
  async resume(): Promise<void> {
    this.assertOpen();
    const { keys } = this.context;
    await this.context.client
      .multi()
      .hdel(keys.meta, 'paused', 'resourcePausedUntil', 'resourcePauseReason', 'resourcePauseLevel')
      .rpush(keys.wake, '1')
      .ltrim(keys.wake, 0, 0)
      .exec();
  }

  async isPaused(): Promise<boolean> {
    this.assertOpen();
    return (await this.context.client.hget(this.context.keys.meta, 'paused')) === '1';
  }

  /** Removes a pending or delayed job. Throws JobNotFoundError or NotCancellableError otherwise. */
  async cancel(id: string): Promise<void> {
    this.assertOpen();
    const [code, state] = (await this.context.scripts.run('cancel', [this.context.keys.prefix, id])) as [number, string];
    if (code === 0) throw new JobNotFoundError(this.name, id);
    if (code === -1) throw new NotCancellableError(id, state);
  }

  /** Deletes every job in one state (not active: supervisors hold those). Returns how many. */
  async clear(state: JobState): Promise<number> {
    this.assertOpen();
    validateState(state);
    if (state === 'active') {
      throw new ValidationError('state', 'active jobs are held by running supervisors and cannot be cleared; pause the queue and let them finish, then clear');
    }
    let total = 0;
    for (;;) {
      const removed = Number(await this.context.scripts.run('clear', [this.context.keys.prefix, state, ADMIN_BATCH]));
      total += removed;
      if (removed < ADMIN_BATCH) return total;
    }
  }

  listDead(options: ListOptions = {}): Promise<Array<JobRecord<D, R>>> {
    return this.listJobs('dead', options);
  }

  /** Moves one dead job back to pending with fresh attempts. False when it is not dead. */
  async retryDead(id: string): Promise<boolean> {
    this.assertOpen();
    const [moved] = (await this.context.scripts.run('retry-dead', [this.context.keys.prefix, this.context.clock(), 'one', id])) as [number, number];
    return moved === 1;
  }

  async retryAllDead(): Promise<number> {
    this.assertOpen();
    // Batches come from a copy of the dead set taken by the first call, so a job that dies again
    // while the later batches run is not moved twice (see retry-dead.lua).
    const run = randomUUID();
    let total = 0;
    for (let mode = 'start'; ; mode = 'batch') {
      const [moved, seen] = (await this.context.scripts.run('retry-dead', [this.context.keys.prefix, this.context.clock(), mode, ADMIN_BATCH, run])) as [number, number];
      total += moved;
      // Stop on an empty copy, not on a batch that moved nothing (its jobs may all be gone).
      if (seen === 0) return total;
    }
  }

  purgeDead(): Promise<number> {
    return this.clear('dead');
  }

  /**
   * Every completion, retry and death on this queue from now on, as published (one event per
   * transition call). Resolves, with the unsubscribe function, once the reader is positioned:
   * events published after that are all delivered.
   */
  async subscribe(listener: EventListener): Promise<() => void> {
    this.assertOpen();
    const events = this.eventReader();
    const unsubscribe = events.subscribe(listener);
    await events.ready();
    return unsubscribe;
  }

  /**
   * Resolves with the job's result once it completes; rejects with JobFailedError when it dies,
   * WaitTimeoutError after timeoutMs. Blocks on the events stream: no polling.
   */
  async waitForResult(id: string, options: { timeoutMs?: number } = {}): Promise<R> {
    this.assertOpen();
    const timeoutMs = options.timeoutMs ?? 30_000;
    // Node timers cannot wait longer than 2^31-1 ms (they would fire at once).
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2_147_483_647) {
      throw new ValidationError('timeoutMs', `must be a whole number from 1 to 2147483647 (about 24.8 days), got ${timeoutMs}`);
    }
    const events = this.eventReader();
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unwatch();
        fn();
      };
      // A job still pending or active after an event was retried or re-run: keep waiting.
      const check = async () => {
        const job = await this.getJob(id);
        if (!job) {
          settle(() => reject(new JobNotFoundError(this.name, id)));
        } else if (job.state === 'completed') {
          settle(() => resolve(job.result as R));
        } else if (job.state === 'dead') {
          settle(() => reject(new JobFailedError(id, job.error)));
        }
      };
      const onFailure = (err: unknown) => settle(() => reject(err));
      const unwatch = events.watch(id, (event) => {
        if (event.type !== 'retrying') check().catch(onFailure);
      });
      // At the deadline the job is read once more, so the error can say where it stands.
      const timer = setTimeout(() => {
        this.standingAtTimeout(id).then(
          ({ job, situation }) => {
            if (job?.state === 'completed') settle(() => resolve(job.result as R));
            else if (job?.state === 'dead') settle(() => reject(new JobFailedError(id, job.error)));
            else settle(() => reject(new WaitTimeoutError(id, timeoutMs, situation)));
          },
          () => settle(() => reject(new WaitTimeoutError(id, timeoutMs))),
        );
      }, timeoutMs);
      events.ready().then(check).catch(onFailure);
    });
  }

  /** The job, its queue's pause state and the live supervisors serving it, bounded in time (a wait must end). */
  private async standingAtTimeout(id: string): Promise<{ job: JobRecord<D, R> | null; situation: WaitSituation }> {
    const read = async () => {
      const job = await this.getJob(id);
      let standing: QueueStanding | undefined;
      if (job && (job.state === 'pending' || job.state === 'delayed')) {
        const { client, keys } = this.context;
        const [[paused, pausedUntil], liveSupervisors] = await Promise.all([
          client.hmget(keys.meta, 'paused', 'resourcePausedUntil'),
          // Heartbeats are wall-clock times, whatever clock this queue was given.
          liveSupervisorsServing(client, this.name, Date.now()),
        ]);
        standing = { queue: this.name, paused: paused === '1', liveSupervisors, ...(pausedUntil ? { resourcePausedUntil: Number(pausedUntil) } : {}) };
      }
      return { job, situation: waitSituation(job, standing, Date.now()) };
    };
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Redis did not answer')), STANDING_READ_LIMIT_MS);
    });
    try {
      return await Promise.race([read(), unanswered]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.events?.close();
    await closeContext(this.context);
  }

  private eventReader(): QueueEvents {
    this.events ??= new QueueEvents(this.context.client, this.context.keys.events, (err) =>
      process.emitWarning(`troupe: events of queue ${this.name}: ${String(err)} (the reader carries on)`),
    );
    return this.events;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError(`queue ${this.name}`);
  }
}
