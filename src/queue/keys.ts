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

const ROOT = 'troupe:';

export function queueKeys(queue: string): QueueKeys {
  const prefix = `${ROOT}{${queue}}:`;
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

/**
 * Every queue's keys as SCAN patterns (`troupe:{*}:completed`): maintenance finds queues by
 * their keys, as no list of queues exists. The registry's and the schedules' keys match too;
 * queueOfKey tells them apart.
 */
export const ANY_QUEUE_KEYS: QueueKeys = queueKeys('*');

/** Hash tags of keys that belong to no queue: the supervisor registry and the schedules (src/scheduler/keys.ts). */
const NON_QUEUE_TAGS: ReadonlySet<string> = new Set(['registry', 'schedules']);

/** The queue a key belongs to (`troupe:{name}:...` → name), or undefined for a key of no queue. */
export function queueOfKey(key: string): string | undefined {
  if (!key.startsWith(`${ROOT}{`)) return undefined;
  const end = key.indexOf('}:');
  if (end < 0) return undefined;
  const name = key.slice(ROOT.length + 1, end);
  return QUEUE_NAME_PATTERN.test(name) && !NON_QUEUE_TAGS.has(name) ? name : undefined;
}

/**
 * The supervisor registry's keys (src/supervisor/registry.ts keeps them). Spelled here so the
 * maintenance sweep, which runs in a thread and may not import the supervisor, can reach them.
 */
export const REGISTRY_KEYS = {
  /** zset: supervisor ids by last heartbeat. */
  index: `${ROOT}{registry}:supervisors`,
  /** hash per supervisor: its heartbeat entry. */
  entry: (id: string) => `${ROOT}{registry}:supervisor:${id}`,
} as const;
