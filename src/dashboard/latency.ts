/**
 * Latency and throughput per minute from the cluster store (src/metrics/cluster.ts): the same
 * merged HDR histograms `troupe stats` reads, grouped by their one-minute slot instead of
 * merged over one window, so the dashboard can chart them. The store keeps each slot for
 * CLUSTER_RETENTION_MS (62 minutes), so the charts cover the last hour (CHART_WINDOW_MS).
 */
import type { Histogram } from 'hdr-histogram-js';
import type { RedisClient } from '../queue/connection.js';
import { CHART_WINDOW_MS, CLUSTER_INDEX_KEY } from '../metrics/cluster.js';
import { parseField, SLOT_MS, slotOf } from '../metrics/job-metrics.js';
import { decodeHistogram, percentile } from '../metrics/latency.js';

export interface MinutePoint {
  /** Start of the one-minute slot (epoch ms). */
  at: number;
  /** Runs that ended in the minute (every processor of the queue). */
  runs: number;
  waitP50: number;
  waitP99: number;
  runP50: number;
  runP99: number;
}

export interface ProcessorMinutes {
  processor: string;
  points: MinutePoint[];
}

export interface QueueMinutes {
  queue: string;
  points: MinutePoint[];
  processors: ProcessorMinutes[];
}

export interface Minutes {
  /** Every queue and processor merged (the overview's charts); empty when no slot holds data. */
  all: MinutePoint[];
  queues: QueueMinutes[];
}

const ms = (micros: number) => Math.round(micros) / 1000;

function point(at: number, wait: Histogram | undefined, run: Histogram | undefined): MinutePoint {
  return {
    at,
    runs: run?.totalCount ?? 0,
    waitP50: wait && wait.totalCount > 0 ? ms(percentile(wait, 50)) : 0,
    waitP99: wait && wait.totalCount > 0 ? ms(percentile(wait, 99)) : 0,
    runP50: run && run.totalCount > 0 ? ms(percentile(run, 50)) : 0,
    runP99: run && run.totalCount > 0 ? ms(percentile(run, 99)) : 0,
  };
}

type Merged = Map<string, Histogram>;

function add(map: Merged, key: string, h: Histogram): void {
  const have = map.get(key);
  if (have) have.add(h);
  else map.set(key, h);
}

/**
 * The last hour's minutes, oldest first: every queue merged, per queue (all processors merged)
 * and per processor. The axis runs from the first minute with data (at most an hour back) to
 * the minute in progress.
 */
export async function readMinutes(client: RedisClient, now = Date.now()): Promise<Minutes> {
  const current = slotOf(now);
  const oldest = current - CHART_WINDOW_MS;
  const keys = await client.zrangebyscore(CLUSTER_INDEX_KEY, oldest, '+inf', 'WITHSCORES');
  if (keys.length === 0) return { all: [], queues: [] };
  const pipeline = client.pipeline();
  const slots: number[] = [];
  for (let i = 0; i < keys.length; i += 2) {
    pipeline.hgetall(keys[i]!);
    slots.push(Number(keys[i + 1]));
  }
  const replies = (await pipeline.exec()) ?? [];
  // slot|kind|queue|processor → merged histogram; processor '' = the queue's total; queue '' = every queue
  // (queue names are never empty and have no '|').
  const merged: Merged = new Map();
  const queues = new Map<string, Set<string>>();
  const minutes = new Set<number>();
  replies.forEach(([err, value], i) => {
    if (err) throw err;
    const slot = slots[i]!;
    if (slot > current) return; // a writer whose clock runs ahead: no point beyond "now"
    for (const [field, encoded] of Object.entries(value as Record<string, string>)) {
      const f = parseField(field);
      if (!f || (f.kind !== 'wait' && f.kind !== 'run')) continue;
      let h: Histogram;
      try {
        h = decodeHistogram(encoded);
      } catch {
        continue; // written by an incompatible version: troupe stats counts these; a chart just skips them
      }
      minutes.add(slot);
      if (!queues.has(f.queue)) queues.set(f.queue, new Set());
      queues.get(f.queue)!.add(f.processor);
      add(merged, `${slot}|${f.kind}|${f.queue}|${f.processor}`, h);
      add(merged, `${slot}|${f.kind}|${f.queue}|`, decodeHistogram(encoded));
      add(merged, `${slot}|${f.kind}||`, decodeHistogram(encoded));
    }
  });
  if (minutes.size === 0) return { all: [], queues: [] };
  // Every minute from the first with data to now, so a quiet minute shows as 0, not as a gap.
  const axis: number[] = [];
  for (let at = Math.min(...minutes); at <= current; at += SLOT_MS) axis.push(at);
  const series = (queue: string, processor: string) => axis.map((at) => point(at, merged.get(`${at}|wait|${queue}|${processor}`), merged.get(`${at}|run|${queue}|${processor}`)));
  return {
    all: series('', ''),
    queues: [...queues].sort(([a], [b]) => a.localeCompare(b)).map(([queue, processors]) => ({
      queue,
      points: series(queue, ''),
      processors: [...processors].sort().map((processor) => ({ processor, points: series(queue, processor) })),
    })),
  };
}
