import { assertSerialisable } from './codec.js';
import { ValidationError } from './errors.js';
import { PRIORITIES, type Priority } from './keys.js';

export interface ExponentialBackoff {
  type: 'exponential';
  /** Delay before the first retry. */
  initialMs: number;
  /** Ceiling for any one delay. */
  maxMs: number;
  /** Growth per attempt (delay n = initialMs * multiplier^(n-1)). */
  multiplier: number;
  /** 0..1: the delay is drawn from [d * (1 - jitter), d]; 0 gives exact delays. */
  jitter: number;
}
export interface FixedBackoff {
  type: 'fixed';
  ms: number;
}
/** An explicit list of delays: retry n waits list[n-1]; the last entry repeats. */
export type BackoffPolicy = ExponentialBackoff | FixedBackoff | number[];

/** How long finished jobs are kept; each limit is optional (omitted = no limit of that kind). */
export interface Retention {
  /** Milliseconds since the job finished. */
  ageMs?: number;
  /** The newest `count` jobs of the state are kept. 0 drops a job as soon as it finishes. */
  count?: number;
}

export interface JobOptions {
  priority?: Priority;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /** Run no earlier than this time (Date or epoch ms). Exclusive with delayMs. */
  runAt?: Date | number;
  /** Total runs allowed, including the first. */
  attempts?: number;
  backoff?: BackoffPolicy;
  /** Hard time limit per run; 0 leaves it to the processor or the supervisor's default. */
  timeoutMs?: number;
  /** Caller-chosen id: enqueueing an existing id returns the existing job (idempotent). */
  jobId?: string;
  /** Jobs with the same key share work: one in flight at a time, and its result is cached. */
  dedupeKey?: string;
  /** How long a completed job's result serves later jobs with the same dedupeKey. */
  resultTtlMs?: number;
  keepCompleted?: Retention;
  keepDead?: Retention;
  metadata?: Record<string, unknown>;
}

export type ResolvedJobOptions = Required<Omit<JobOptions, 'delayMs' | 'runAt' | 'jobId' | 'dedupeKey' | 'metadata'>> &
  Pick<JobOptions, 'delayMs' | 'runAt' | 'jobId' | 'dedupeKey' | 'metadata'>;

/** The one place job defaults live. */
export const DEFAULT_JOB_OPTIONS: Readonly<ResolvedJobOptions> = Object.freeze({
  priority: 'normal',
  attempts: 3,
  backoff: Object.freeze({ type: 'exponential', initialMs: 1000, maxMs: 3_600_000, multiplier: 2, jitter: 0.2 }),
  timeoutMs: 0,
  resultTtlMs: 0,
  keepCompleted: Object.freeze({ ageMs: 24 * 3_600_000, count: 10_000 }),
  keepDead: Object.freeze({ ageMs: 30 * 24 * 3_600_000, count: 100_000 }),
});

export interface QueueOptions {
  /**
   * A Redis URL in any form (redis://, rediss://, redis+cluster://, redis+sentinel://), a
   * connection spec `{ url, tls, sentinelPassword, waitReplicas, … }`, an ioredis client
   * (Redis or Cluster) to share, or ioredis options.
   */
  connection?: import('./connection.js').ConnectionOption;
  /** Wait for this many replicas after each enqueue (defaults to the spec's waitReplicas). */
  durability?: import('./scripts.js').Durability;
  /** Defaults for every job this client enqueues; per-call options override them. */
  defaultJobOptions?: JobOptions;
  /** Largest accepted payload in bytes (JSON text or raw bytes). */
  maxPayloadBytes?: number;
  /** Approximate cap on the events stream length. */
  eventsMaxLen?: number;
  /** Injected clock (epoch ms); tests move time instead of sleeping. */
  clock?: () => number;
  /** Injected randomness in [0, 1) for back-off jitter. */
  random?: () => number;
}

export const DEFAULT_QUEUE_OPTIONS = Object.freeze({
  maxPayloadBytes: 16 * 1024 * 1024,
  eventsMaxLen: 10_000,
});

const JOB_ID_PATTERN = /^[^\s{}]{1,256}$/;
/** The longest delay, time limit or result TTL a job may have (ten years). */
export const MAX_DELAY_MS = 10 * 365 * 24 * 3_600_000;
/** The most attempts a job may have. */
export const MAX_ATTEMPTS = 1000;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wholeNumber(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function finite(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ValidationError(field, `must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function validateBackoff(field: string, value: unknown): BackoffPolicy {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new ValidationError(field, 'an explicit delay list needs at least one delay, e.g. [1000, 5000, 30000]');
    return value.map((d, i) => wholeNumber(`${field}[${i}]`, d, 0, MAX_DELAY_MS));
  }
  if (!isPlainObject(value)) {
    throw new ValidationError(field, 'must be { type: "exponential", ... }, { type: "fixed", ms } or a list of delays in ms');
  }
  if (value.type === 'fixed') {
    return { type: 'fixed', ms: wholeNumber(`${field}.ms`, value.ms, 0, MAX_DELAY_MS) };
  }
  if (value.type === 'exponential') {
    const d = DEFAULT_JOB_OPTIONS.backoff as ExponentialBackoff;
    const initialMs = wholeNumber(`${field}.initialMs`, value.initialMs ?? d.initialMs, 0, MAX_DELAY_MS);
    const maxMs = wholeNumber(`${field}.maxMs`, value.maxMs ?? d.maxMs, 0, MAX_DELAY_MS);
    if (maxMs < initialMs) throw new ValidationError(`${field}.maxMs`, `must be at least initialMs (${initialMs})`);
    return {
      type: 'exponential',
      initialMs,
      maxMs,
      multiplier: finite(`${field}.multiplier`, value.multiplier ?? d.multiplier, 1, 100),
      jitter: finite(`${field}.jitter`, value.jitter ?? d.jitter, 0, 1),
    };
  }
  throw new ValidationError(`${field}.type`, `must be "exponential" or "fixed", got ${JSON.stringify(value.type)}`);
}

function validateRetention(field: string, value: unknown): Retention {
  if (!isPlainObject(value)) throw new ValidationError(field, 'must be an object like { ageMs: 86400000, count: 1000 }');
  for (const key of Object.keys(value)) {
    if (key !== 'ageMs' && key !== 'count') throw new ValidationError(`${field}.${key}`, 'unknown key (use ageMs and/or count)');
  }
  const out: Retention = {};
  if (value.ageMs !== undefined) out.ageMs = wholeNumber(`${field}.ageMs`, value.ageMs, 0);
  if (value.count !== undefined) out.count = wholeNumber(`${field}.count`, value.count, 0);
  return out;
}

const KNOWN_JOB_OPTIONS = new Set<string>([
  'priority', 'delayMs', 'runAt', 'attempts', 'backoff', 'timeoutMs', 'jobId', 'dedupeKey', 'resultTtlMs',
  'keepCompleted', 'keepDead', 'metadata',
]);

/** Checks one options object (defaults or per call); returns only what was given, validated. */
export function validateJobOptions(value: unknown, field = 'options'): JobOptions {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new ValidationError(field, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!KNOWN_JOB_OPTIONS.has(key)) {
      throw new ValidationError(`${field}.${key}`, `unknown option; known options are ${[...KNOWN_JOB_OPTIONS].join(', ')}`);
    }
  }
  const out: JobOptions = {};
  if (value.priority !== undefined) {
    if (!PRIORITIES.includes(value.priority as Priority)) {
      throw new ValidationError(`${field}.priority`, `${JSON.stringify(value.priority)} is not one of ${PRIORITIES.join(', ')}`);
    }
    out.priority = value.priority as Priority;
  }
  if (value.delayMs !== undefined && value.runAt !== undefined) {
    throw new ValidationError(`${field}.delayMs`, 'give delayMs or runAt, not both');
  }
  if (value.delayMs !== undefined) out.delayMs = wholeNumber(`${field}.delayMs`, value.delayMs, 0, MAX_DELAY_MS);
  if (value.runAt !== undefined) {
    const at = value.runAt instanceof Date ? value.runAt.getTime() : value.runAt;
    out.runAt = wholeNumber(`${field}.runAt`, at, 0);
  }
  if (value.attempts !== undefined) out.attempts = wholeNumber(`${field}.attempts`, value.attempts, 1, MAX_ATTEMPTS);
  if (value.backoff !== undefined) out.backoff = validateBackoff(`${field}.backoff`, value.backoff);
  if (value.timeoutMs !== undefined) out.timeoutMs = wholeNumber(`${field}.timeoutMs`, value.timeoutMs, 0, MAX_DELAY_MS);
  if (value.jobId !== undefined) {
    if (typeof value.jobId !== 'string' || !JOB_ID_PATTERN.test(value.jobId)) {
      throw new ValidationError(`${field}.jobId`, 'must be 1-256 characters with no spaces or braces');
    }
    out.jobId = value.jobId;
  }
  if (value.dedupeKey !== undefined) {
    if (typeof value.dedupeKey !== 'string' || value.dedupeKey.length === 0 || value.dedupeKey.length > 512) {
      throw new ValidationError(`${field}.dedupeKey`, 'must be a non-empty string of at most 512 characters');
    }
    out.dedupeKey = value.dedupeKey;
  }
  if (value.resultTtlMs !== undefined) out.resultTtlMs = wholeNumber(`${field}.resultTtlMs`, value.resultTtlMs, 0, MAX_DELAY_MS);
  if (value.keepCompleted !== undefined) out.keepCompleted = validateRetention(`${field}.keepCompleted`, value.keepCompleted);
  if (value.keepDead !== undefined) out.keepDead = validateRetention(`${field}.keepDead`, value.keepDead);
  if (value.metadata !== undefined) {
    if (!isPlainObject(value.metadata)) throw new ValidationError(`${field}.metadata`, 'must be a plain object');
    assertSerialisable(value.metadata, `${field}.metadata`);
    out.metadata = value.metadata;
  }
  return out;
}

/** Per-call options over the client's defaults over DEFAULT_JOB_OPTIONS. */
export function resolveJobOptions(defaults: JobOptions, options: JobOptions): ResolvedJobOptions {
  return { ...DEFAULT_JOB_OPTIONS, ...defaults, ...options };
}
