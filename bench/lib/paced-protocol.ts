/** Messages between the latency bench and its producer processes (bench/lib/paced-producer.ts). */

/** Whose client the producer uses: both BullMQ consumers read the same BullMQ queue format. */
export type ProducerSystem = 'troupe' | 'bullmq';

/** Producer `index` of `of` sends the jobs i ≡ index (mod of) of a shared schedule. */
export interface Shard {
  index: number;
  of: number;
}

export type ToProducer =
  | { id: number; kind: 'ping' }
  /** Opens a client for `queue`, kept until close; flood and paced name the queue they send to. */
  | { id: number; kind: 'open'; system: ProducerSystem; redisUrl: string; queue: string }
  /**
   * As fast as it can: `jobs` jobs (this producer's share), `batch` per enqueue call (1: enqueue()
   * / add(); more: enqueueMany() / addBulk()), `window` calls in flight. The capacity probe.
   */
  | { id: number; kind: 'flood'; queue: string; processor: string; jobs: number; window: number; batch: number }
  /**
   * Open loop: `rate` jobs/s for `durationMs` from wall-clock `startAt`, never waiting for replies;
   * this producer sends only its shard's jobs of that one schedule, one enqueue call per job.
   */
  | { id: number; kind: 'paced'; queue: string; processor: string; rate: number; durationMs: number; startAt: number; shard: Shard }
  | { id: number; kind: 'close' };

export interface SendReport {
  /** Jobs sent (not calls: a bulk call counts its jobs). */
  sent: number;
  failed: number;
  firstError?: string;
  /** First send to last send, ms. */
  sendingMs: number;
  /** Wall-clock ms of the first and last send (NaN when nothing was sent): to merge several producers' reports. */
  firstAt: number;
  lastAt: number;
}

export type FromProducer =
  | { id: number; kind: 'pong'; at: number }
  | { id: number; kind: 'ok' }
  | { id: number; kind: 'sent'; report: SendReport }
  | { id: number; kind: 'error'; message: string };
