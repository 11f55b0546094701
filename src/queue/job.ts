import { decodeBackoff } from './backoff.js';
import { decodePayload } from './codec.js';
import { decodeJsonField, decodeMetadata, decodeStoredBackoff, FieldProblems } from './stored-fields.js';
import type { ErrorInfo } from './errors.js';
import type { JobState, Priority } from './keys.js';
import type { BackoffPolicy } from './options.js';

/** A job as stored, with its payload and result decoded. */
export interface JobRecord<D = unknown, R = unknown> {
  id: string;
  queue: string;
  processor: string;
  state: JobState;
  priority: Priority;
  data: D;
  /** Runs started so far (each lease counts one). */
  attempts: number;
  maxAttempts: number;
  timeoutMs: number;
  backoff: BackoffPolicy;
  enqueuedAt: number;
  /** Due time of a delayed job or a retry waiting for its back-off. */
  runAt?: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: unknown;
  result?: R;
  /** The last error. */
  error?: ErrorInfo;
  /** The most recent errors, oldest first (at most 10). */
  errors: ErrorInfo[];
  /** The supervisor holding (or last holding) the lease. */
  owner?: string;
  dedupeKey?: string;
  /** Set when the result was reused from an earlier job with the same dedupeKey. */
  cachedFrom?: string;
  leaseExpiries: number;
  metadata?: Record<string, unknown>;
  /** Fields that cannot be decoded, each problem named (such a job goes dead as JOB_CORRUPT when leased). */
  corrupt?: string[];
}

function text(fields: Record<string, Buffer>, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  const s = value.toString('utf8');
  return s === '' ? undefined : s;
}

function num(fields: Record<string, Buffer>, name: string): number | undefined {
  const s = text(fields, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function json<T>(fields: Record<string, Buffer>, name: string, problems: FieldProblems): T | undefined {
  const s = text(fields, name);
  return s === undefined ? undefined : problems.take(() => decodeJsonField(name, s) as T, undefined);
}

/** A payload as stored; JSON that does not parse is reported under `field`. */
function decodeStoredPayload(field: string, value: Buffer | undefined, type: string | undefined): unknown {
  if (type === 'bytes' || value === undefined) return decodePayload(value, type);
  return decodeJsonField(field, value.toString('utf8'));
}

/** Optional fields are left out rather than set to undefined, so records print cleanly. */
export function parseJob<D, R>(queue: string, fields: Record<string, Buffer>): JobRecord<D, R> | null {
  const id = text(fields, 'id');
  if (id === undefined) return null;
  const problems = new FieldProblems();
  const record: JobRecord<D, R> = {
    id,
    queue,
    processor: text(fields, 'processor') ?? '',
    state: (text(fields, 'state') ?? 'pending') as JobState,
    priority: (text(fields, 'priority') ?? 'normal') as Priority,
    data: problems.take(() => decodeStoredPayload('data', fields.data, text(fields, 'dataType')), undefined) as D,
    attempts: num(fields, 'attempts') ?? 0,
    maxAttempts: num(fields, 'maxAttempts') ?? 1,
    timeoutMs: num(fields, 'timeoutMs') ?? 0,
    backoff: problems.take(() => decodeStoredBackoff(text(fields, 'backoff') ?? ''), decodeBackoff(undefined)),
    enqueuedAt: num(fields, 'enqueuedAt') ?? 0,
    errors: json<ErrorInfo[]>(fields, 'errors', problems) ?? [],
    leaseExpiries: num(fields, 'leaseExpiries') ?? 0,
  };
  const runAt = num(fields, 'runAt');
  if (runAt) record.runAt = runAt;
  const startedAt = num(fields, 'startedAt');
  if (startedAt) record.startedAt = startedAt;
  const finishedAt = num(fields, 'finishedAt');
  if (finishedAt) record.finishedAt = finishedAt;
  const progress = json<unknown>(fields, 'progress', problems);
  if (progress !== undefined) record.progress = progress;
  if (fields.result !== undefined && (record.state === 'completed' || text(fields, 'resultType') === 'bytes')) {
    record.result = problems.take(() => decodeStoredPayload('result', fields.result, text(fields, 'resultType')), undefined) as R;
  }
  const error = json<ErrorInfo>(fields, 'error', problems);
  if (error) record.error = error;
  const owner = text(fields, 'owner');
  if (owner) record.owner = owner;
  const dedupeKey = text(fields, 'dedupeKey');
  if (dedupeKey) record.dedupeKey = dedupeKey;
  const cachedFrom = text(fields, 'cachedFrom');
  if (cachedFrom) record.cachedFrom = cachedFrom;
  const metadata = problems.take(() => decodeMetadata(text(fields, 'metadata') ?? ''), undefined);
  if (metadata) record.metadata = metadata;
  if (!record.processor) problems.list.unshift('processor is missing');
  if (problems.list.length > 0) record.corrupt = problems.list;
  return record;
}
