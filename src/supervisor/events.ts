import { EventEmitter } from 'node:events';
import type { LeasedJob } from '../queue/consumer.js';

/** What became of a job in Redis once its outcome was written. */
export type Disposition = 'completed' | 'retried' | 'dead' | 'released' | 'paused' | 'lost';

/** How a job's run in a thread ended, as the supervisor saw it. */
export type RunEnd = 'completed' | 'failed' | 'timeout' | 'crash' | 'shutdown' | 'interrupted' | 'resource';

/**
 * The supervisor's job lifecycle, for observers (metrics, tests). Emitted synchronously on the
 * supervisor's event loop; listeners must be cheap and must not throw.
 */
export interface SupervisorEventMap {
  /** Jobs were leased; wait time = at - max(job.enqueuedAt, job.dueAt). */
  leased: [{ jobs: readonly LeasedJob[]; at: number }];
  /** A job's run in a thread ended (runMs is the thread's own measure, when it reported one). */
  ran: [{ job: LeasedJob; end: RunEnd; runMs?: number; at: number }];
  /** Redis took the job's outcome. */
  settled: [{ job: LeasedJob; disposition: Disposition; at: number }];
  /** One renewal call: lagMs is how late it finished against its schedule. */
  renewed: [{ queue: string; leases: number; lost: number; lagMs: number }];
  /** A thread was stopped: by a crash, a timeout kill, or retirement. */
  threadStopped: [{ threadId: number; reason: 'crash' | 'kill' | 'retire' }];
}

export class SupervisorEvents extends EventEmitter<SupervisorEventMap> {}
