import type { LeasedJob } from '../queue/consumer.js';

/** A leased job from the moment the supervisor holds it until Redis acknowledged its outcome. */
export interface HeldJob {
  readonly job: LeasedJob;
  state: 'buffered' | 'running' | 'acking';
  /** Renewal found the lease gone: the result will be refused, so nobody should wait on it. */
  lost: boolean;
}
