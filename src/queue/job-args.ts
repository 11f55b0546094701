import { randomUUID } from 'node:crypto';
import { encodePayload } from './codec.js';
import { ValidationError } from './errors.js';
import { encodeBackoff } from './backoff.js';
import { resolveJobOptions, validateJobOptions, type JobOptions } from './options.js';

/** Processor names are looked up in a registry and printed in logs: keep them plain. */
const PROCESSOR_PATTERN = /^[A-Za-z0-9@][A-Za-z0-9_.:@/-]{0,127}$/;

export function validateProcessorName(processor: unknown): string {
  if (typeof processor !== 'string' || processor.length === 0) {
    throw new ValidationError('processor', 'must name the processor to run, e.g. "pdf" or "echo" (got an empty value)');
  }
  if (!PROCESSOR_PATTERN.test(processor)) {
    throw new ValidationError('processor', `${JSON.stringify(processor)} is not a valid processor name: use up to 128 letters, digits, or _ . : @ / -`);
  }
  return processor;
}

export interface JobSpec<D = unknown> {
  processor: string;
  data?: D;
  options?: JobOptions;
}

/**
 * The enqueue script's argument group for one job: its values in ENQUEUE_FIELDS' order (see
 * lua/enqueue.lua). Field names are the script's constants, not arguments: with them, a tiny job
 * was 36 arguments for ioredis to encode and Redis to parse, and most of its client-side cost.
 */
export interface JobArgs {
  id: string;
  group: Array<string | number | Buffer>;
}

/** Values per job, in this order; enqueue.lua reads them by position. */
export const ENQUEUE_FIELDS = [
  'id', 'origin', 'priority', 'runAt', 'dedupeKey', 'processor', 'data', 'dataType', 'maxAttempts', 'backoff',
  'timeoutMs', 'resultTtlMs', 'keepCompletedAge', 'keepCompletedCount', 'keepDeadAge', 'keepDeadCount', 'metadata',
] as const;

function retentionField(value: number | undefined): number {
  return value === undefined ? -1 : value;
}

/** Validates and encodes one job; throws before anything is sent, so bad input writes nothing. */
export function buildJobArgs(spec: JobSpec, defaults: JobOptions, now: number, maxPayloadBytes: number): JobArgs {
  const processor = validateProcessorName(spec.processor);
  const options = resolveJobOptions(defaults, validateJobOptions(spec.options));
  const payload = encodePayload(spec.data, maxPayloadBytes);
  const id = options.jobId ?? randomUUID();
  const runAt = options.runAt !== undefined ? Number(options.runAt) : options.delayMs ? now + options.delayMs : 0;
  // A generated UUID cannot exist yet, so the script skips the existence check for it ('g').
  const origin = options.jobId === undefined ? 'g' : 'c';
  const group: Array<string | number | Buffer> = [
    id,
    origin,
    options.priority,
    runAt,
    // '' = none: the script stores neither field then.
    options.dedupeKey ?? '',
    processor,
    payload.value,
    payload.type,
    options.attempts,
    encodeBackoff(options.backoff),
    options.timeoutMs,
    options.resultTtlMs,
    retentionField(options.keepCompleted.ageMs),
    retentionField(options.keepCompleted.count),
    retentionField(options.keepDead.ageMs),
    retentionField(options.keepDead.count),
    options.metadata !== undefined ? JSON.stringify(options.metadata) : '',
  ];
  return { id, group };
}
