/**
 * Schedules in Redis: the admin side (add, replace, remove, pause, resume, list) used by the CLI
 * and by supervisors syncing their config, and the firing side (claim, done, pending) used by
 * the scheduler. Every change bumps one version key, which supervisors poll.
 */
import type { RedisClient } from '../queue/connection.js';
import { LuaRunner, ScriptSet } from '../queue/scripts.js';
import { ScheduleExistsError, ScheduleNotFoundError, ScheduleValidationError } from './errors.js';
import { SCHEDULE_KEYS as K } from './keys.js';
import { restoreSchedule, type Schedule } from './spec.js';

/** Where a definition came from: sync from config never overwrites one people set at run time. */
export type ScheduleSource = 'cli' | 'config' | 'builtin' | 'api';

export interface StoredSchedule extends Schedule {
  source: ScheduleSource;
  /** Bumped on every change of the definition; a claim for an older rev is refused. */
  rev: string;
  paused: boolean;
  pausedAt?: number;
  createdAt: number;
  updatedAt: number;
  /** Since when fires count: creation, the last change, or the last resume. */
  activeSince: number;
  /** The latest fire claimed, by any supervisor. */
  lastFire?: number;
}

/** A definition in Redis that no longer validates (edited by hand, or written by another version). */
export interface BrokenSchedule {
  name: string;
  problem: string;
}

export type SaveMode = 'create' | 'replace' | 'sync' | 'ensure';
export type SaveStatus = 'created' | 'updated' | 'unchanged' | 'exists' | 'kept';
export type ClaimResult = 'claimed' | 'taken' | 'stale' | 'paused';

export interface PendingFire {
  name: string;
  fire: number;
  owner: string;
  claimedAt: number;
  /** The queue the claimer meant to enqueue into ('' when claimed by an older version). */
  queue: string;
}

/**
 * How far behind the latest claim a fire is still remembered exactly. A supervisor whose clock
 * is later than this, or a fire older than this, is refused outright: never a second job.
 */
export const FIRE_MEMORY_MS = 10 * 60_000;

const CLAIM_RESULTS: Record<string, ClaimResult> = { '1': 'claimed', '0': 'taken', '-1': 'stale', '-2': 'paused' };

/**
 * A change is never a read in Node followed by a write: each is one script in ./lua. Every
 * script's keys carry the {schedules} hash tag (keys.ts), so each runs in one cluster slot.
 */
const CHANGES = ['save', 'remove', 'set-paused', 'claim'] as const;
const SCRIPTS = new ScriptSet(new URL('./lua/', import.meta.url), CHANGES);

export class ScheduleStore {
  private readonly scripts: LuaRunner<(typeof CHANGES)[number]>;

  constructor(
    private readonly client: RedisClient,
    private readonly clock: () => number = Date.now,
  ) {
    this.scripts = new LuaRunner(client, SCRIPTS);
  }

  /**
   * Writes a definition. Mode 'create' throws ScheduleExistsError when a different schedule
   * has the name (an identical one is 'unchanged', so scripts can re-run an add).
   */
  async save(schedule: Schedule, source: ScheduleSource, mode: SaveMode = 'create'): Promise<{ status: SaveStatus; source: ScheduleSource }> {
    const [status, stored] = (await this.scripts.run('save', [K.names, K.version, K.schedule(schedule.name)], [
      schedule.name, JSON.stringify(schedule), source, this.clock(), mode,
    ])) as [SaveStatus, ScheduleSource];
    if (status === 'exists') throw new ScheduleExistsError(schedule.name);
    return { status, source: stored };
  }

  /** True when it existed. */
  async remove(name: string): Promise<boolean> {
    return Number(await this.scripts.run('remove', [K.names, K.version, K.schedule(name), K.fires(name)], [name])) === 1;
  }

  /** True when it changed; throws ScheduleNotFoundError. */
  async setPaused(name: string, paused: boolean): Promise<boolean> {
    const reply = Number(await this.scripts.run('set-paused', [K.version, K.schedule(name)], [paused ? '1' : '0', this.clock()]));
    if (reply === -1) throw new ScheduleNotFoundError(name);
    return reply === 1;
  }

  async get(name: string): Promise<StoredSchedule | null> {
    const fields = await this.client.hgetall(K.schedule(name));
    if (!fields.def) return null;
    const parsed = parseStored(name, fields);
    if ('problem' in parsed) throw new ScheduleValidationError(`schedule ${name}`, parsed.problem);
    return parsed;
  }

  /** Every schedule, by name; definitions that no longer validate are reported apart. */
  async list(): Promise<{ schedules: StoredSchedule[]; broken: BrokenSchedule[] }> {
    const names = (await this.client.smembers(K.names)).sort();
    const schedules: StoredSchedule[] = [];
    const broken: BrokenSchedule[] = [];
    for (let i = 0; i < names.length; i += 100) {
      const chunk = names.slice(i, i + 100);
      const pipeline = this.client.pipeline();
      for (const name of chunk) pipeline.hgetall(K.schedule(name));
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((name, j) => {
        const [err, fields] = replies[j] ?? [new Error('no reply'), null];
        if (err) throw err;
        const hash = fields as Record<string, string>;
        if (!hash.def) return;
        const parsed = parseStored(name, hash);
        if ('problem' in parsed) broken.push(parsed);
        else schedules.push(parsed);
      });
    }
    return { schedules, broken };
  }

  async version(): Promise<string> {
    return (await this.client.get(K.version)) ?? '0';
  }

  /** `queue`: where the caller will enqueue the fire's job, recorded for a recovery of it. */
  async claim(schedule: Pick<StoredSchedule, 'name' | 'rev'>, fire: number, owner: string, queue = ''): Promise<ClaimResult> {
    const reply = await this.scripts.run('claim', [K.schedule(schedule.name), K.fires(schedule.name), K.pending], [
      schedule.name, fire, schedule.rev, owner, this.clock(), FIRE_MEMORY_MS, queue,
    ]);
    return CLAIM_RESULTS[String(reply)] ?? 'stale';
  }

  /** The fire's job is enqueued: nothing left to recover. */
  async done(name: string, fire: number): Promise<void> {
    await this.client.hdel(K.pending, `${name}|${fire}`);
  }

  async pending(): Promise<PendingFire[]> {
    const entries = await this.client.hgetall(K.pending);
    return Object.entries(entries).map(([field, value]) => {
      const split = field.lastIndexOf('|');
      const [owner = '', at = '0', queue = ''] = value.split('|');
      return { name: field.slice(0, split), fire: Number(field.slice(split + 1)), owner, claimedAt: Number(at), queue };
    });
  }
}

function optionalNumber(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

function parseStored(name: string, h: Record<string, string>): StoredSchedule | BrokenSchedule {
  let schedule: Schedule;
  try {
    // Validated again on the way out: a definition edited by hand must not crash a supervisor.
    schedule = restoreSchedule(JSON.parse(h.def!));
  } catch (err) {
    return { name, problem: err instanceof Error ? err.message : String(err) };
  }
  const stored: StoredSchedule = {
    ...schedule,
    source: (h.source ?? 'api') as ScheduleSource,
    rev: h.rev ?? '0',
    paused: h.paused === '1',
    createdAt: Number(h.createdAt ?? 0),
    updatedAt: Number(h.updatedAt ?? 0),
    activeSince: Number(h.activeSince ?? 0),
  };
  const pausedAt = optionalNumber(h.pausedAt);
  const lastFire = optionalNumber(h.lastFire);
  if (pausedAt !== undefined) stored.pausedAt = pausedAt;
  if (lastFire !== undefined) stored.lastFire = lastFire;
  return stored;
}
