/**
 * The messages between a bench and a consumer child process (bench/lib/e2e-child.ts), over the
 * IPC channel of child_process.fork. One consumer per process, so its RSS and CPU are its own.
 *
 *   parent                                  child
 *   fork(spec)                  ─────────▶  builds the consumer, starts it, runs warmJobs
 *                                           (already in the queue), then pauses it
 *                               ◀─────────  ready
 *   enqueue the measured jobs
 *   go { jobs }                 ─────────▶  resumes; counts jobs finished in Redis
 *                               ◀─────────  done { jobs }  (when `jobs` have finished)
 *   stop                        ─────────▶  closes the consumer, exits 0
 *
 * Any failure in the child is sent as `error` before it exits 1; a job that fails is one.
 */

/**
 * 'piscina' is a pool with no queue, for the resources bench: it warms up and idles, and never gets `go`.
 * 'limit' is the bare mechanism Troupe is built on (e2e-limit.ts), the end-to-end bench's limit row.
 */
export const CONSUMER_KINDS = ['troupe', 'limit', 'bullmq-inline', 'bullmq-sandboxed', 'bee-queue', 'piscina'] as const;
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];

export interface ConsumerSpec {
  kind: ConsumerKind;
  redisUrl: string;
  queue: string;
  /** Worker threads (troupe, limit, piscina) or concurrency (BullMQ, bee-queue: jobs in flight; sandboxed: threads). */
  concurrency: number;
  /** Jobs already enqueued for warming up, run to completion before `ready`. */
  warmJobs: number;
  /** Absolute path of the CommonJS processor file (bench/lib/e2e-noop.cjs) for sandboxes and Piscina. */
  processorFile: string;
  /** Troupe only: lease from these queues (one supervisor, a lease loop each) instead of `queue` alone. */
  queues?: string[];
  /** Troupe only: the supervisor's redisWaitReplicas (--redis-wait-replicas); 0 or absent = off. */
  waitReplicas?: number;
}

export type ParentMessage = { type: 'go'; jobs: number } | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'done'; jobs: number }
  | { type: 'error'; message: string };

/** Job data for every system: a counter, and an optional wait so warm-up jobs overlap and start every thread. */
export interface BenchJobData {
  n: number;
  ms?: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isChildMessage(value: unknown): value is ChildMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
      return true;
    case 'done':
      return typeof value.jobs === 'number';
    case 'error':
      return typeof value.message === 'string';
    default:
      return false;
  }
}

export function isParentMessage(value: unknown): value is ParentMessage {
  if (!isObject(value)) return false;
  return (value.type === 'go' && typeof value.jobs === 'number') || value.type === 'stop';
}

/** The spec travels as one JSON argument; a wrong one stops the child before it touches Redis. */
export function parseConsumerSpec(text: string | undefined): ConsumerSpec {
  if (text === undefined) throw new Error('usage: e2e-child <spec json>');
  const spec = JSON.parse(text) as Partial<ConsumerSpec>;
  if (!(CONSUMER_KINDS as readonly string[]).includes(spec.kind ?? '')) throw new Error(`unknown consumer kind ${String(spec.kind)}`);
  for (const key of ['redisUrl', 'queue', 'processorFile'] as const) {
    if (typeof spec[key] !== 'string') throw new Error(`spec.${key} must be a string`);
  }
  for (const key of ['concurrency', 'warmJobs'] as const) {
    const value = spec[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`spec.${key} must be a whole number`);
  }
  if (spec.concurrency === 0) throw new Error('spec.concurrency must be at least 1');
  if (spec.queues !== undefined && !(Array.isArray(spec.queues) && spec.queues.length > 0 && spec.queues.every((q) => typeof q === 'string'))) {
    throw new Error('spec.queues must be a non-empty list of queue names');
  }
  if (spec.waitReplicas !== undefined && !(Number.isInteger(spec.waitReplicas) && spec.waitReplicas >= 0)) throw new Error('spec.waitReplicas must be a whole number');
  return spec as ConsumerSpec;
}
