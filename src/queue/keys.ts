/** Every Redis name the queue layer uses is spelled here and nowhere else. */

export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const JOB_STATES = ['pending', 'delayed', 'active', 'completed', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Queue names become part of a Redis hash tag, so braces (and anything unprintable) are out. */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface QueueKeys {
  /** `troupe:{queue}:` — the hash tag keeps every key of a queue in one cluster slot. */
  readonly prefix: string;
  readonly pending: Readonly<Record<Priority, string>>;
  readonly delayed: string;
  readonly active: string;
  readonly completed: string;
  readonly dead: string;
  readonly meta: string;
  readonly wake: string;
  readonly events: string;
  /** The fixed KEYS list every Lua transition receives (order documented in lua/include/queue.lua). */
  readonly scriptKeys: readonly string[];
  job(id: string): string;
  dedupe(key: string): string;
}

export function queueKeys(queue: string): QueueKeys {
  const prefix = `troupe:{${queue}}:`;
  const pending = {
    critical: `${prefix}pending:critical`,
    high: `${prefix}pending:high`,
    normal: `${prefix}pending:normal`,
    low: `${prefix}pending:low`,
  };
  const keys = {
    prefix,
    pending,
    delayed: `${prefix}delayed`,
    active: `${prefix}active`,
    completed: `${prefix}completed`,
    dead: `${prefix}dead`,
    meta: `${prefix}meta`,
    wake: `${prefix}wake`,
    events: `${prefix}events`,
  };
  return {
    ...keys,
    scriptKeys: [
      ...PRIORITIES.map((p) => pending[p]),
      keys.delayed,
      keys.active,
      keys.completed,
      keys.dead,
      keys.meta,
      keys.wake,
      keys.events,
    ],
    job: (id) => `${prefix}job:${id}`,
    dedupe: (key) => `${prefix}dedupe:${key}`,
  };
}
