/**
 * The open-loop schedule of the latency bench's producer, and the small decisions around it,
 * kept free of I/O so they can be tested.
 *
 * Open loop: send times are fixed before the run (evenly spaced at the target rate) and never
 * depend on how fast the system under test answers. A producer that falls behind sends at once,
 * and latency is measured from the *scheduled* time, so a stall is charged to every job it
 * delayed (no coordinated omission).
 */

/** Wall clock in fractional milliseconds with µs resolution, comparable across processes and threads. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface PacedPlan {
  /** Jobs per second. */
  rate: number;
  /** Jobs in the run: floor(rate × duration). */
  count: number;
  /** Milliseconds between scheduled sends. */
  intervalMs: number;
}

export function pacedPlan(rate: number, durationMs: number): PacedPlan {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`);
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be positive, got ${durationMs}`);
  return { rate, count: Math.max(1, Math.floor((rate * durationMs) / 1000)), intervalMs: 1000 / rate };
}

/** When job `i` (from 0) is due, for a run that starts at `startAt` (wall-clock ms). */
export function scheduledAt(plan: PacedPlan, startAt: number, i: number): number {
  return startAt + i * plan.intervalMs;
}

/** Below this, the pacer blocks precisely instead of sleeping on a timer (ms). */
export const PRECISE_BELOW_MS = 2;
/** A timer sleep stops this much before the due time: Node timers fire up to ~1 ms late. */
const TIMER_MARGIN_MS = 1.5;

export type PacerStep = { kind: 'send' } | { kind: 'sleep'; ms: number } | { kind: 'block'; ms: number };

/**
 * What the pacer does with `remainingMs` until the next due time. Far from it: a timer sleep,
 * which lets replies in and costs no CPU, but fires with ~1 ms granularity. Close to it: a
 * blocking Atomics.wait, precise to well under 0.1 ms and still idle (no busy loop, which would
 * take a core from the system being measured on a 2-core machine). Due or late: send now.
 */
export function pacerStep(remainingMs: number): PacerStep {
  if (remainingMs <= 0) return { kind: 'send' };
  if (remainingMs >= PRECISE_BELOW_MS) return { kind: 'sleep', ms: Math.max(1, Math.floor(remainingMs - TIMER_MARGIN_MS)) };
  return { kind: 'block', ms: remainingMs };
}

/** Offered rates for load levels given as fractions of a measured capacity (jobs/s, rounded). */
export function levelRates(capacity: number, fractions: readonly number[]): number[] {
  if (!(capacity > 0)) throw new RangeError(`capacity must be positive, got ${capacity}`);
  return fractions.map((f) => {
    if (!(f > 0 && f <= 1)) throw new RangeError(`load fraction must be in (0, 1], got ${f}`);
    return Math.max(1, Math.round(capacity * f));
  });
}

/**
 * Rates every system runs at, so they are compared at equal load: half the slowest system's
 * capacity, and the fixed rates given (200 jobs/s is the rate commonly quoted for BullMQ latency), deduplicated, ascending.
 */
export function commonRates(capacities: readonly number[], fixed: readonly number[]): number[] {
  if (capacities.length === 0) return [...new Set(fixed)].sort((a, b) => a - b);
  const half = Math.round(Math.min(...capacities) / 2);
  return [...new Set([...fixed, half])].filter((r) => r > 0).sort((a, b) => a - b);
}

/** One ping to another process: our clock before, its clock, our clock after (wall-clock ms). */
export interface ClockSample {
  before: number;
  remote: number;
  after: number;
}

/**
 * Bounds on (remote clock − local clock) from ping samples: the remote stamp was taken between
 * `before` and `after`, so each sample confines the offset to [remote − after, remote − before],
 * and the intersection over all samples is what is known. Throws when the samples contradict
 * (an empty intersection means a clock stepped mid-probe).
 */
export function clockOffsetBounds(samples: readonly ClockSample[]): { low: number; high: number } {
  if (samples.length === 0) throw new RangeError('no clock samples');
  let low = Number.NEGATIVE_INFINITY;
  let high = Number.POSITIVE_INFINITY;
  for (const { before, remote, after } of samples) {
    low = Math.max(low, remote - after);
    high = Math.min(high, remote - before);
  }
  if (low > high) throw new Error(`clock samples contradict each other (offset in [${low}, ${high}] ms): did a clock step?`);
  return { low, high };
}
