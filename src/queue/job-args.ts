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

/** The enqueue script's argument group for one job: id, id origin, priority, runAt, dedupeKey, P, P pairs. */
export interface JobArgs {
  id: string;
  group: Array<string | number | Buffer>;
}

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
  const pairs: Array<string | number | Buffer> = [
    'id', id,
    'processor', processor,
    'data', payload.value,
    'dataType', payload.type,
    'priority', options.priority,
    'attempts', 0,
    'maxAttempts', options.attempts,
    'backoff', encodeBackoff(options.backoff),
    'timeoutMs', options.timeoutMs,
    'enqueuedAt', now,
    'resultTtlMs', options.resultTtlMs,
    'keepCompletedAge', retentionField(options.keepCompleted.ageMs),
    'keepCompletedCount', retentionField(options.keepCompleted.count),
    'keepDeadAge', retentionField(options.keepDead.ageMs),
    'keepDeadCount', retentionField(options.keepDead.count),
  ];
  if (options.dedupeKey !== undefined) pairs.push('dedupeKey', options.dedupeKey);
  if (options.metadata !== undefined) pairs.push('metadata', JSON.stringify(options.metadata));
  // A generated UUID cannot exist yet, so the script skips the existence check for it ('g').
  const origin = options.jobId === undefined ? 'g' : 'c';
  return { id, group: [id, origin, options.priority, runAt, options.dedupeKey ?? '', pairs.length / 2, ...pairs] };
}
