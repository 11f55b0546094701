/**
 * Several producer processes driven as one: the same client opened in each, a flood split into
 * equal shares, an open-loop schedule split by slot (producer k sends the jobs i ≡ k mod P), and
 * their send reports merged (paced-split.ts). Each process is a ProducerProcess (paced-client.ts).
 */
import { ProducerProcess } from './paced-client.js';
import type { ProducerSystem, SendReport } from './paced-protocol.js';
import { mergeSendReports, splitJobs } from './paced-split.js';

export class ProducerPool {
  private constructor(private readonly producers: readonly ProducerProcess[]) {}

  static start(count: number): ProducerPool {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`need at least one producer, got ${count}`);
    return new ProducerPool(Array.from({ length: count }, () => ProducerProcess.start()));
  }

  get size(): number {
    return this.producers.length;
  }

  /**
   * Bounds on (producer clock − our clock), ms, widened over every producer: any job's stamps are
   * off by no more than this. They share one machine clock, so the width is the IPC round trip.
   */
  async clockOffset(pings = 50): Promise<{ low: number; high: number }> {
    const each = [];
    for (const p of this.producers) each.push(await p.clockOffset(pings)); // one at a time: no ping waits behind another's
    return { low: Math.min(...each.map((o) => o.low)), high: Math.max(...each.map((o) => o.high)) };
  }

  async open(system: ProducerSystem, redisUrl: string, queue: string): Promise<void> {
    await Promise.all(this.producers.map((p) => p.open(system, redisUrl, queue)));
  }

  /** `jobs` as fast as every producer goes, shared evenly; `window` calls of `batch` jobs in flight per producer. */
  async flood(queue: string, processor: string, jobs: number, window: number, batch: number): Promise<SendReport> {
    const shares = splitJobs(jobs, this.producers.length);
    const reports = await Promise.all(this.producers.map((p, k) => (shares[k]! > 0 ? p.flood(queue, processor, shares[k]!, window, batch) : undefined)));
    return mergeSendReports(reports.filter((r): r is SendReport => r !== undefined));
  }

  /** One open-loop schedule, each producer sending its slots of it. */
  async paced(queue: string, processor: string, rate: number, durationMs: number, startAt: number): Promise<SendReport> {
    const of = this.producers.length;
    return mergeSendReports(await Promise.all(this.producers.map((p, index) => p.paced(queue, processor, rate, durationMs, startAt, { index, of }))));
  }

  /** Stops every producer, even when one fails to stop; throws the first failure afterwards. */
  async stop(): Promise<void> {
    const results = await Promise.allSettled(this.producers.map((p) => p.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
