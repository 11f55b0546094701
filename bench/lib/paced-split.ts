/**
 * One load split across several producer processes, kept free of I/O so it can be tested.
 *
 * One producer process enqueueing one job per call tops out near the rate a fast consumer drains
 * (about 14k jobs/s against ~30k on the 2-core machine this was written on), so the latency bench
 * uses several. A paced schedule stays one evenly spaced open loop: producer k of P sends the
 * jobs i ≡ k (mod P) of the same fixed schedule, so every slot is sent once, by one producer.
 */
import type { SendReport, Shard } from './paced-protocol.js';

/** The slots (job indices of a `count`-job schedule) that `shard` sends, ascending. */
export function shardIndices(count: number, shard: Shard): number[] {
  checkShard(shard);
  const out: number[] = [];
  for (let i = shard.index; i < count; i += shard.of) out.push(i);
  return out;
}

export function checkShard({ index, of }: Shard): void {
  if (!Number.isInteger(of) || of < 1) throw new RangeError(`a schedule splits across a whole number ≥ 1 of producers, got ${of}`);
  if (!Number.isInteger(index) || index < 0 || index >= of) throw new RangeError(`producer index must be in [0, ${of}), got ${index}`);
}

/** `jobs` shared as evenly as whole jobs allow among `producers` (the first ones take the remainder). */
export function splitJobs(jobs: number, producers: number): number[] {
  return Array.from({ length: producers }, (_, index) => shardIndices(jobs, { index, of: producers }).length);
}

/** Several producers' reports of one load read as one: counts add up, the sending span is the union. */
export function mergeSendReports(reports: readonly SendReport[]): SendReport {
  if (reports.length === 0) throw new RangeError('no send reports to merge');
  const sending = reports.filter((r) => r.sent > 0);
  const firstAt = sending.length > 0 ? Math.min(...sending.map((r) => r.firstAt)) : Number.NaN;
  const lastAt = sending.length > 0 ? Math.max(...sending.map((r) => r.lastAt)) : Number.NaN;
  const firstError = reports.find((r) => r.firstError !== undefined)?.firstError;
  return {
    sent: reports.reduce((n, r) => n + r.sent, 0),
    failed: reports.reduce((n, r) => n + r.failed, 0),
    sendingMs: sending.length > 0 ? lastAt - firstAt : 0,
    firstAt,
    lastAt,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** The producer count from an environment variable's text, or `fallback` when unset. */
export function producerCount(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`${name}=${raw}: give a whole number of producer processes from 1 to 64`);
  return n;
}
