/** Counters a supervisor keeps about its own work (reported in the registry and logs). */
export interface SupervisorStats {
  leased: number;
  completed: number;
  failed: number;
  retried: number;
  dead: number;
  timedOut: number;
  leaseLost: number;
  released: number;
  /** Jobs that reported an unavailable resource: handed back, and their queue paused. */
  resourcePauses: number;
  /** Threads replaced after a crash or a kill (timeout, shutdown); retirements are threadsRetired. */
  threadRestarts: number;
  threadsRetired: number;
  /** Outcome writes the master took but fewer replicas than --redis-wait-replicas confirmed in time. */
  notReplicated: number;
}

export function newStats(): SupervisorStats {
  return { leased: 0, completed: 0, failed: 0, retried: 0, dead: 0, timedOut: 0, leaseLost: 0, released: 0, resourcePauses: 0, threadRestarts: 0, threadsRetired: 0, notReplicated: 0 };
}
