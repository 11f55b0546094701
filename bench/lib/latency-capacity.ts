/**
 * A system's capacity as the latency bench measures it: jobs enqueued by the producer processes
 * as fast as they go, and the rate at which they complete. Whoever was slower sets that rate; the
 * bench says which, because a producer-bound figure is only a lower bound on the consumer, and
 * load levels taken as fractions of it are fractions of the producers, not of the system.
 */

export interface SendAndDone {
  sentAt: number;
  completedAt: number;
}

export interface Capacity {
  jobs: number;
  /** Jobs completed per second, from the first send to the last completion. */
  drainRate: number;
  /** Jobs sent per second, from the first send to the last. */
  sendRate: number;
  /** 'consumer' when a backlog built up (sends outpaced completions), else 'producer'. */
  limitedBy: 'producer' | 'consumer';
}

/** Sends this much faster than completions mean a backlog built up: the consumer set the pace. */
export const BACKLOG_FACTOR = 1.1;

export function capacityOf(stamps: readonly SendAndDone[], sendingMs: number): Capacity {
  if (stamps.length < 2) throw new RangeError(`need at least 2 completed jobs to measure a rate, got ${stamps.length}`);
  let firstSend = Number.POSITIVE_INFINITY;
  let lastDone = Number.NEGATIVE_INFINITY;
  for (const { sentAt, completedAt } of stamps) {
    if (!Number.isFinite(sentAt) || !Number.isFinite(completedAt)) throw new RangeError('a job is missing its send or completion stamp');
    firstSend = Math.min(firstSend, sentAt);
    lastDone = Math.max(lastDone, completedAt);
  }
  const drainRate = (stamps.length * 1000) / (lastDone - firstSend);
  // N sends span N - 1 intervals.
  const sendRate = sendingMs > 0 ? ((stamps.length - 1) * 1000) / sendingMs : Number.POSITIVE_INFINITY;
  return { jobs: stamps.length, drainRate, sendRate, limitedBy: sendRate > drainRate * BACKLOG_FACTOR ? 'consumer' : 'producer' };
}

/**
 * Several capacity probes reduced to one: the probe with the median drain rate (so its send rate
 * and verdict stay consistent with it), plus every probe's drain rate and verdict for the spread.
 */
export type MeasuredCapacity = Capacity & {
  drainRates: number[];
  /** How many of the probes the consumer set (a backlog built up in each). */
  consumerBoundProbes: number;
};

export function medianCapacity(probes: readonly Capacity[]): MeasuredCapacity {
  if (probes.length === 0) throw new RangeError('no capacity probes');
  const sorted = [...probes].sort((a, b) => a.drainRate - b.drainRate);
  // The lower middle for an even count: a capacity read too high would overload every level.
  const median = sorted[(sorted.length - 1) >> 1]!;
  return { ...median, drainRates: probes.map((p) => p.drainRate), consumerBoundProbes: probes.filter((p) => p.limitedBy === 'consumer').length };
}

/**
 * Whether load levels taken as fractions of this capacity are fractions of the consumer: only
 * when the median probe and most probes had a backlog, so one lucky probe does not vouch for it.
 */
export function consumerBound(c: MeasuredCapacity): boolean {
  return c.limitedBy === 'consumer' && c.consumerBoundProbes * 2 > c.drainRates.length;
}
