/**
 * Every Redis name the scheduler uses, spelled once. Schedules are cross-queue, so they share
 * their own hash tag, `{schedules}` (as the registry has `{registry}`): every script touches
 * one Redis Cluster slot, whatever queues the schedules enqueue into.
 */
const PREFIX = 'troupe:{schedules}:';

export const SCHEDULE_KEYS = {
  /** set: the names of all schedules. */
  names: `${PREFIX}names`,
  /** string: incremented on every change of any schedule, so supervisors poll one GET. */
  version: `${PREFIX}version`,
  /** hash: `<name>|<fire ms>` → `<owner>|<claimed at>|<queue>` for fires claimed but not yet enqueued. */
  pending: `${PREFIX}pending`,
  /** hash per schedule: def (JSON), rev, source, paused, pausedAt, createdAt, updatedAt, activeSince, lastFire. */
  schedule: (name: string) => `${PREFIX}schedule:${name}`,
  /** zset per schedule: the fires claimed within the memory window (member and score: fire ms). */
  fires: (name: string) => `${PREFIX}fires:${name}`,
} as const;
