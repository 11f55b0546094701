import type { Histogram } from 'hdr-histogram-js';
import type { RedisClient } from '../queue/connection.js';
import { LATENCY_KINDS, parseField, SLOT_MS, type LatencyKind } from './job-metrics.js';
import { decodeHistogram, emptySummary, newHistogram, summarize, type LatencySummary } from './latency.js';

/**
 * The cluster store: each supervisor writes its HDR histograms per one-minute slot to
 * `troupe:{#metrics}:slot:<slot start>:<supervisor id>` (a hash: kind|queue|processor →
 * compressed base64), re-writing the slot in progress every heartbeat. `troupe stats` merges
 * the slots of every supervisor that overlap its window, so a percentile it shows is the
 * cluster's, not an average of per-process percentiles. A slot outlives its writer until it
 * expires, so jobs of a supervisor that stopped still count within the window.
 *
 * The hash tag `{#metrics}` keeps every key in one Redis Cluster slot and cannot be a queue
 * name (queue names have no `#`), so it never collides with a queue's keys.
 */
const PREFIX = 'troupe:{#metrics}';
export const CLUSTER_INDEX_KEY = `${PREFIX}:slots`;
export const clusterSlotKey = (slotStart: number, supervisorId: string) => `${PREFIX}:slot:${slotStart}:${supervisorId}`;

/** Longest window `troupe stats` can ask for. */
export const MAX_WINDOW_MS = 15 * 60_000;
export const DEFAULT_WINDOW_MS = 5 * 60_000;
/** The dashboard charts the last hour, a point per slot (src/dashboard/latency.ts). */
export const CHART_WINDOW_MS = 60 * 60_000;
/**
 * A slot is kept long enough to fall out of the longest window read (the dashboard's hour;
 * `troupe stats` merges 15 minutes at most), plus the slot in progress. Bounded: about 62 keys
 * per supervisor (docs/dashboard.md gives the bytes per queue).
 */
export const CLUSTER_RETENTION_MS = Math.max(MAX_WINDOW_MS, CHART_WINDOW_MS) + 2 * SLOT_MS;

/** Writes a supervisor's slots; a write that fails is merged into the next one, not lost. */
export class ClusterStore {
  private readonly unsent = new Map<number, Record<string, string>>();

  constructor(
    private readonly client: RedisClient,
    private readonly supervisorId: string,
  ) {}

  /** Fields are whole-slot encodings, so a newer one replaces an older one of the same field. */
  add(slotStart: number, fields: Record<string, string>): void {
    if (Object.keys(fields).length === 0) return;
    this.unsent.set(slotStart, { ...this.unsent.get(slotStart), ...fields });
  }

  get pending(): number {
    return this.unsent.size;
  }

  async flush(now = Date.now()): Promise<void> {
    for (const slot of this.unsent.keys()) if (slot < now - CLUSTER_RETENTION_MS) this.unsent.delete(slot);
    if (this.unsent.size === 0) return;
    const batch = [...this.unsent];
    this.unsent.clear();
    const tx = this.client.multi();
    for (const [slot, fields] of batch) {
      const key = clusterSlotKey(slot, this.supervisorId);
      tx.hset(key, fields).pexpireat(key, slot + SLOT_MS + CLUSTER_RETENTION_MS).zadd(CLUSTER_INDEX_KEY, slot, key);
    }
    tx.zremrangebyscore(CLUSTER_INDEX_KEY, '-inf', now - CLUSTER_RETENTION_MS - SLOT_MS);
    try {
      const replies = await tx.exec();
      const failed = replies?.find(([err]) => err)?.[0];
      if (failed) throw failed;
    } catch (err) {
      // Put back what was not written, under anything newer recorded meanwhile.
      for (const [slot, fields] of batch) this.unsent.set(slot, { ...fields, ...this.unsent.get(slot) });
      throw err;
    }
  }
}

export type ClusterKind = LatencyKind | 'renewalLag';

/** Merged histograms of one window: kind → queue → processor ('' for renewalLag) → histogram. */
export interface ClusterHistograms {
  windowMs: number;
  /** Supervisors whose slots hold data of each queue. */
  supervisors: Map<string, Set<string>>;
  /** Fields that could not be decoded (written by an incompatible version): skipped. */
  skipped: number;
  histograms: Map<ClusterKind, Map<string, Map<string, Histogram>>>;
}

export async function readClusterHistograms(client: RedisClient, options: { windowMs?: number; now?: number; queues?: readonly string[] } = {}): Promise<ClusterHistograms> {
  const now = options.now ?? Date.now();
  const windowMs = Math.min(options.windowMs ?? DEFAULT_WINDOW_MS, MAX_WINDOW_MS);
  const wanted = options.queues ? new Set(options.queues) : undefined;
  // Slot [start, start + SLOT_MS) overlaps [now - window, now] when start > now - window - SLOT_MS.
  const keys = await client.zrangebyscore(CLUSTER_INDEX_KEY, `(${now - windowMs - SLOT_MS}`, '+inf');
  const out: ClusterHistograms = { windowMs, supervisors: new Map(), skipped: 0, histograms: new Map() };
  if (keys.length === 0) return out;
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.hgetall(key);
  const replies = (await pipeline.exec()) ?? [];
  replies.forEach(([err, value], i) => {
    if (err) throw err;
    const fields = value as Record<string, string>;
    const supervisor = keys[i]!.slice(keys[i]!.indexOf(':', `${PREFIX}:slot:`.length) + 1);
    for (const [field, encoded] of Object.entries(fields)) {
      const parsed = parseField(field);
      if (!parsed || (wanted && !wanted.has(parsed.queue))) continue;
      let h: Histogram;
      try {
        h = decodeHistogram(encoded);
      } catch {
        // Unreadable data from another version must not hide everyone else's: count and skip it.
        out.skipped += 1;
        continue;
      }
      const kind = parsed.kind as ClusterKind;
      let byQueue = out.histograms.get(kind);
      if (!byQueue) out.histograms.set(kind, (byQueue = new Map()));
      let byProcessor = byQueue.get(parsed.queue);
      if (!byProcessor) byQueue.set(parsed.queue, (byProcessor = new Map()));
      const merged = byProcessor.get(parsed.processor);
      if (merged) merged.add(h);
      else byProcessor.set(parsed.processor, h);
      let ids = out.supervisors.get(parsed.queue);
      if (!ids) out.supervisors.set(parsed.queue, (ids = new Set()));
      ids.add(supervisor);
    }
  });
  return out;
}

export type KindSummaries = Record<LatencyKind, LatencySummary>;

export interface QueueLatency {
  windowMs: number;
  /** Supervisors that ran jobs of this queue within the window (their slots were merged). */
  supervisors: number;
  /** Every processor of the queue merged. */
  all: KindSummaries;
  processors: Record<string, KindSummaries>;
  renewalLag: LatencySummary;
}

export interface ClusterLatency {
  windowMs: number;
  skipped: number;
  queues: Record<string, QueueLatency>;
}

/** Percentiles (ms) of the merged histograms, per queue: per processor and all processors together. */
export function summarizeCluster(c: ClusterHistograms): ClusterLatency {
  const queues: Record<string, QueueLatency> = {};
  const names = new Set<string>();
  for (const byQueue of c.histograms.values()) for (const q of byQueue.keys()) names.add(q);
  for (const queue of [...names].sort()) {
    const processors: Record<string, KindSummaries> = {};
    const all = {} as KindSummaries;
    for (const kind of LATENCY_KINDS) {
      const byProcessor = c.histograms.get(kind)?.get(queue) ?? new Map<string, Histogram>();
      const total = newHistogram();
      for (const [processor, h] of byProcessor) {
        total.add(h);
        processors[processor] ??= {} as KindSummaries;
      }
      all[kind] = summarize(total);
    }
    for (const processor of Object.keys(processors)) {
      for (const kind of LATENCY_KINDS) {
        const h = c.histograms.get(kind)?.get(queue)?.get(processor);
        processors[processor]![kind] = h ? summarize(h) : emptySummary();
      }
    }
    const lag = c.histograms.get('renewalLag')?.get(queue)?.get('');
    queues[queue] = { windowMs: c.windowMs, supervisors: c.supervisors.get(queue)?.size ?? 0, all, processors, renewalLag: lag ? summarize(lag) : emptySummary() };
  }
  return { windowMs: c.windowMs, skipped: c.skipped, queues };
}
