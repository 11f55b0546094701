/**
 * Decoding a job hash's fields as Redis holds them. A field that cannot be decoded (written by
 * hand, by a broken client, or damaged) is reported by name instead of throwing from deep inside
 * a batch: the lease path fails just that job as JOB_CORRUPT, and the read path (getJob,
 * `troupe job`) shows the record with the problem.
 */
import { decodeBackoff } from './backoff.js';
import { ErrorCode, TroupeError } from './errors.js';
import { PRIORITIES, type Priority } from './keys.js';
import type { BackoffPolicy } from './options.js';
import type { PayloadType } from './codec.js';

/** One field of a stored job that cannot be decoded. */
export class CorruptFieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** A leased job whose stored fields cannot be decoded: it goes dead without running. */
export class JobCorruptError extends TroupeError {
  override name = 'JobCorruptError';
  constructor(queue: string, id: string, problems: readonly string[]) {
    super(
      ErrorCode.JobCorrupt,
      `job ${id} on queue ${queue} cannot be run as stored: ${problems.join('; ')}. ` +
        `Something other than Troupe wrote or changed its hash; inspect it with "troupe job ${id} --queue ${queue}" and enqueue a corrected copy`,
    );
  }
}

const preview = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);

export function decodeProcessor(text: string): string {
  if (text === '') throw new CorruptFieldError('processor', 'is missing');
  return text;
}

export function decodeDataType(text: string): PayloadType {
  if (text !== 'json' && text !== 'bytes') throw new CorruptFieldError('dataType', `is ${preview(text)}, not "json" or "bytes"`);
  return text;
}

/** JSON text, '' for none; `field` names it in the error. */
export function decodeJsonField(field: string, text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CorruptFieldError(field, `is not valid JSON (${(err as Error).message}): ${preview(text)}`);
  }
}

export function decodeData(raw: Buffer, dataType: PayloadType): unknown {
  if (dataType === 'bytes') return raw;
  return raw.length === 0 ? null : decodeJsonField('data', raw.toString('utf8'));
}

export function decodeMetadata(text: string): Record<string, unknown> | undefined {
  const value = decodeJsonField('metadata', text);
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CorruptFieldError('metadata', `is ${preview(text)}, not a JSON object`);
  return value as Record<string, unknown>;
}

/** A whole number field (counts, times); `min` its smallest valid value. */
export function decodeCount(field: string, text: string, min = 0): number {
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < min) throw new CorruptFieldError(field, `is ${preview(text)}, not a whole number of at least ${min}`);
  return n;
}

export function decodePriority(text: string): Priority {
  if (!(PRIORITIES as readonly string[]).includes(text)) throw new CorruptFieldError('priority', `is ${preview(text)}, not one of ${PRIORITIES.join(', ')}`);
  return text as Priority;
}

export function decodeStoredBackoff(text: string): BackoffPolicy {
  try {
    return decodeBackoff(text);
  } catch {
    throw new CorruptFieldError('backoff', `cannot be read: ${preview(text)}`);
  }
}

/**
 * Runs each decode, collecting the problems instead of stopping at the first, so one report
 * names every damaged field.
 */
export class FieldProblems {
  readonly list: string[] = [];

  /** `unreadable`: why the fields cannot be told apart at all; then it is the one problem and every field takes its fallback. */
  constructor(private readonly unreadable?: string) {
    if (unreadable !== undefined) this.list.push(unreadable);
  }

  take<T>(decode: () => T, fallback: T): T {
    if (this.unreadable !== undefined) return fallback;
    try {
      return decode();
    } catch (err) {
      if (!(err instanceof CorruptFieldError)) throw err;
      this.list.push(err.message);
      return fallback;
    }
  }
}
