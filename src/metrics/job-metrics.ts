import { encodeHistogram, Latency } from './latency.js';
import { Meter } from './meter.js';

export const COUNTER_NAMES = ['leased', 'completed', 'failed', 'retried', 'dead', 'timedOut', 'leaseLost', 'released', 'resourcePaused'] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counts = Record<CounterName, number>;

export const LATENCY_KINDS = ['wait', 'run', 'endToEnd'] as const;
export type LatencyKind = (typeof LATENCY_KINDS)[number];

/**
 * Processor names come from jobs, and a job may name any processor (it fails, but it was
 * leased): past this many per queue, further names share one series so a stream of bad jobs
 * cannot grow memory or Prometheus label sets without bound.
 */
export const MAX_PROCESSORS_PER_QUEUE = 100;
export const OTHER_PROCESSOR = '(other)';

/** One minute per slot in the cluster store and in the local window. */
export const SLOT_MS = 60_000;
export const slotOf = (at: number): number => at - (at % SLOT_MS);

/** Everything recorded about one processor's jobs on one queue. */
export class JobSeries {
  readonly counts: Counts = { leased: 0, completed: 0, failed: 0, retried: 0, dead: 0, timedOut: 0, leaseLost: 0, released: 0, resourcePaused: 0 };
  readonly wait = new Latency();
  readonly run = new Latency();
  readonly endToEnd = new Latency();
  readonly completedRate = new Meter();
  readonly failedRate = new Meter();
}

export class QueueSeries {
  readonly processors = new Map<string, JobSeries>();
  /** How late each lease-renewal round finished (per queue: renewal is one call per queue). */
  readonly renewalLag = new Latency();

  series(processor: string): JobSeries {
    let s = this.processors.get(processor);
    if (s) return s;
    const name = this.processors.size >= MAX_PROCESSORS_PER_QUEUE ? OTHER_PROCESSOR : processor;
    s = this.processors.get(name);
    if (!s) this.processors.set(name, (s = new JobSeries()));
    return s;
  }
}

/** Hash field of one histogram in the cluster store: kind|queue|processor (queue names have no `|`). */
export const fieldOf = (kind: LatencyKind | 'renewalLag', queue: string, processor: string): string => `${kind}|${queue}|${processor}`;

export function parseField(field: string): { kind: string; queue: string; processor: string } | undefined {
  const a = field.indexOf('|');
  const b = a < 0 ? -1 : field.indexOf('|', a + 1);
  if (b < 0) return undefined;
  return { kind: field.slice(0, a), queue: field.slice(a + 1, b), processor: field.slice(b + 1) };
}

/**
 * A supervisor's job metrics: counters and rates since start, latency histograms per queue and
 * processor. Recording is a few Map lookups and array writes, cheap enough for the event
 * listeners that call it for every job; everything heavier happens in tick() and on demand.
 */
export class JobMetrics {
  readonly queues = new Map<string, QueueSeries>();
  threadRestarts = 0;
  threadsRetired = 0;
  /** Start of the one-minute slot `current` histograms belong to. */
  slotStart: number;
  private lastTick: number;

  constructor(now = Date.now()) {
    this.slotStart = slotOf(now);
    this.lastTick = now;
  }

  queue(name: string): QueueSeries {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new QueueSeries()));
    return q;
  }

  series(queue: string, processor: string): JobSeries {
    return this.queue(queue).series(processor);
  }

  /** Folds counts into the rates; the caller rotates slots (after storing the closing one). */
  tick(now: number): void {
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    for (const q of this.queues.values()) {
      for (const s of q.processors.values()) {
        s.completedRate.tick(elapsed);
        s.failedRate.tick(elapsed);
      }
    }
  }

  /** True when `now` is in a later slot than the current histograms. */
  slotEnded(now: number): boolean {
    return slotOf(now) > this.slotStart;
  }

  rotate(now: number): void {
    this.slotStart = slotOf(now);
    for (const [, q] of this.queues) {
      q.renewalLag.rotate();
      for (const s of q.processors.values()) for (const kind of LATENCY_KINDS) s[kind].rotate();
    }
  }

  /** The current slot's histograms recorded into since the last call, encoded for the cluster store. */
  encodeDirty(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const [queue, q] of this.queues) {
      if (q.renewalLag.dirty) {
        fields[fieldOf('renewalLag', queue, '')] = encodeHistogram(q.renewalLag.current);
        q.renewalLag.dirty = false;
      }
      for (const [processor, s] of q.processors) {
        for (const kind of LATENCY_KINDS) {
          const latency = s[kind];
          if (!latency.dirty) continue;
          fields[fieldOf(kind, queue, processor)] = encodeHistogram(latency.current);
          latency.dirty = false;
        }
      }
    }
    return fields;
  }
}
