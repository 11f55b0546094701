/** Messages between the latency bench and its producer process (bench/lib/paced-producer.ts). */

/** Whose client the producer uses: both BullMQ consumers read the same BullMQ queue format. */
export type ProducerSystem = 'troupe' | 'bullmq';

export type ToProducer =
  | { id: number; kind: 'ping' }
  /** Opens a client for `queue`, kept until close; flood and paced name the queue they send to. */
  | { id: number; kind: 'open'; system: ProducerSystem; redisUrl: string; queue: string }
  /** As fast as it can, one job per enqueue call, `window` calls in flight: the capacity probe. */
  | { id: number; kind: 'flood'; queue: string; processor: string; jobs: number; window: number }
  /** Open loop: `rate` jobs/s for `durationMs` from wall-clock `startAt`, never waiting for replies. */
  | { id: number; kind: 'paced'; queue: string; processor: string; rate: number; durationMs: number; startAt: number }
  | { id: number; kind: 'close' };

export interface SendReport {
  sent: number;
  failed: number;
  firstError?: string;
  /** First send to last send, ms. */
  sendingMs: number;
}

export type FromProducer =
  | { id: number; kind: 'pong'; at: number }
  | { id: number; kind: 'ok' }
  | { id: number; kind: 'sent'; report: SendReport }
  | { id: number; kind: 'error'; message: string };
