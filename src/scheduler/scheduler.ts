/**
 * The scheduler loop of one supervisor. Every supervisor with --scheduler may fire every
 * schedule; a fire becomes a job only through an atomic claim in Redis (store.ts), and the job
 * id is derived from the schedule's name and the fire's nominal time, so N supervisors make
 * exactly one job per fire. One timer serves all schedules (set for the earliest next fire);
 * changes arrive by polling one version key.
 *
 * A schedule whose queue is ANY_QUEUE ("*") fires onto the first queue of the supervisor that
 * claims the fire (this scheduler's `queues`), so its jobs always land where a supervisor is up;
 * a scheduler with no queues leaves such schedules to the others.
 */
import type { Logger } from 'pino';
import type { RedisClient } from '../queue/connection.js';
import { ErrorBackoff } from '../queue/backoff.js';
import { ValidationError } from '../queue/errors.js';
import { Queue } from '../queue/queue.js';
import { latestFireIn, nextFire, type FireRule } from './next-fire.js';
import { queuesOfLiveSupervisors } from '../queue/live-supervisors.js';
import { ANY_QUEUE, fireJobId, fireRule, type Schedule } from './spec.js';
import { ScheduleStore, type SaveMode, type ScheduleSource, type StoredSchedule } from './store.js';

/** At (re)load, fires more overdue than this were missed (no scheduler ran); newer ones fire now. Covers clock skew between supervisors. */
export const START_GRACE_MS = 5_000;
/** While running, a fire this overdue counts as missed (the process was stopped or Redis was gone); a shorter delay just fires late. */
export const LATE_LIMIT_MS = 60_000;
/** A claimed fire whose job is still not enqueued after this long (its supervisor died in between) is enqueued by another. */
export const RECOVER_AFTER_MS = 30_000;
const DEFAULT_POLL_MS = 1000;
const MAX_TIMER_MS = 60_000;

export interface DeclaredSchedule {
  schedule: Schedule;
  source: ScheduleSource;
  mode: SaveMode;
}

export interface SchedulerOptions {
  /** Shared with the supervisor; nothing here blocks on it. */
  connection: RedisClient;
  /** This supervisor's id, recorded on the fires it claims. */
  owner: string;
  logger: Logger;
  /** Injected clock: tests skew supervisors' clocks to show skew never doubles a fire. */
  clock?: () => number;
  pollMs?: number;
  /** Written to Redis at start: config-file schedules ('sync') and the built-in ones ('ensure'). */
  declared?: readonly DeclaredSchedule[];
  /**
   * The queues of the supervisor this scheduler runs in, in its order. A fire of an any-queue
   * schedule goes to the first; with none, this scheduler never claims such a fire.
   */
  queues?: readonly string[];
  /**
   * The queues that live supervisors serve (default: read from the supervisor registry). Asked
   * only when a dead claimer's fire of an any-queue schedule is recovered.
   */
  servedQueues?: () => Promise<ReadonlySet<string>>;
}

interface Runtime {
  schedule: StoredSchedule;
  rule: FireRule;
  /** Every fire at or before this is handled. */
  cursor: number;
  next: number | null;
  /** Not evaluated since it was loaded: the start-up grace applies, not the running one. */
  fresh: boolean;
}

export interface SchedulerStats {
  claimed: number;
  taken: number;
  missedRun: number;
  missedSkipped: number;
  recovered: number;
  enqueueFailed: number;
}

export class Scheduler {
  readonly stats: SchedulerStats = { claimed: 0, taken: 0, missedRun: 0, missedSkipped: 0, recovered: 0, enqueueFailed: 0 };
  private readonly store: ScheduleStore;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly clients = new Map<string, Queue>();
  /** Where fires of any-queue schedules go: this supervisor's first queue, if it has one. */
  private readonly anyQueueTarget: string | undefined;
  private readonly servedQueues: () => Promise<ReadonlySet<string>>;
  private runtimes = new Map<string, Runtime>();
  /** Every schedule, paused ones included: a claimed fire is enqueued even if paused since. */
  private known = new Map<string, StoredSchedule>();
  private reported = new Set<string>();
  private version: string | undefined;
  private reloadWanted = true;
  private syncWanted: boolean;
  private chain: Promise<void> = Promise.resolve();
  private queued = { tick: false, poll: false };
  private tickTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly errors = new ErrorBackoff();
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? Date.now;
    this.store = new ScheduleStore(options.connection, this.clock);
    this.logger = options.logger;
    this.syncWanted = (options.declared ?? []).length > 0;
    this.anyQueueTarget = options.queues?.[0];
    this.servedQueues = options.servedQueues ?? (() => queuesOfLiveSupervisors(options.connection, this.clock()));
  }

  /** Writes declared schedules, loads all, and arms the timer. Redis trouble is retried by the poll, never fatal. */
  async start(): Promise<void> {
    this.pollTimer = setInterval(() => this.enqueue('poll', () => this.poll()), this.options.pollMs ?? DEFAULT_POLL_MS);
    this.pollTimer.unref();
    this.enqueue('poll', () => this.poll());
    await this.chain;
  }

  /** Stops the timers and waits for a fire in progress to be claimed and enqueued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.tickTimer);
    await this.chain;
    await Promise.all([...this.clients.values()].map((q) => q.close()));
  }

  /** The schedules this scheduler is firing, with their next fire (for status and tests). */
  active(): Array<{ name: string; next: number | null }> {
    return [...this.runtimes.values()].map((r) => ({ name: r.schedule.name, next: r.next }));
  }

  /** One piece of work at a time, in order: ticks, polls and reloads never interleave. */
  private enqueue(kind: 'tick' | 'poll', task: () => Promise<void>): void {
    if (this.stopped || this.queued[kind]) return;
    this.queued[kind] = true;
    this.chain = this.chain.then(async () => {
      this.queued[kind] = false;
      if (this.stopped) return;
      try {
        await task();
        this.errors.reset();
      } catch (err) {
        const retryMs = this.errors.next();
        // Nothing is lost: the cursor did not move, so the same fires are tried again.
        this.logger.warn({ err, retryMs }, `scheduler ${kind} failed; retrying`);
        this.arm(retryMs);
      }
    });
  }

  private async poll(): Promise<void> {
    if (this.syncWanted) await this.sync();
    const version = await this.store.version();
    if (this.reloadWanted || version !== this.version) {
      await this.reload();
      this.arm(0);
    }
    await this.recover();
  }

  private async sync(): Promise<void> {
    for (const { schedule, source, mode } of this.options.declared ?? []) {
      const saved = await this.store.save(schedule, source, mode);
      if (saved.status === 'created' || saved.status === 'updated') {
        this.logger.info({ schedule: schedule.name, when: schedule.when, timezone: schedule.timezone, queue: schedule.queue }, `schedule ${saved.status} from ${source}`);
      } else if (saved.status === 'kept' && mode === 'sync') {
        this.logger.info({ schedule: schedule.name, source: saved.source }, 'config schedule left as is: it was changed at run time ("troupe schedule add --replace"); remove it there to manage it from the config again');
      }
    }
    this.syncWanted = false;
  }

  /** Reads every definition; keeps the cursor of schedules that did not change. */
  private async reload(): Promise<void> {
    // The version is read first, so a change made during the listing triggers another reload.
    const version = await this.store.version();
    const { schedules, broken } = await this.store.list();
    for (const b of broken) {
      const key = `${b.name}\n${b.problem}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.logger.error({ schedule: b.name, problem: b.problem }, 'schedule in Redis is invalid and is not fired; fix or remove it with "troupe schedule"');
    }
    const runtimes = new Map<string, Runtime>();
    for (const schedule of schedules) {
      if (schedule.paused) continue;
      if (schedule.queue === ANY_QUEUE && this.anyQueueTarget === undefined) {
        // Its fires go to the claimer's first queue, and this scheduler has none to offer.
        if (!this.runtimes.has(schedule.name) && !this.reported.has(`${schedule.name}\n*`)) {
          this.reported.add(`${schedule.name}\n*`);
          this.logger.info({ schedule: schedule.name }, 'schedule fires onto the first queue of the supervisor that claims it; this one serves no queue and leaves it to the others');
        }
        continue;
      }
      const kept = this.runtimes.get(schedule.name);
      if (kept && kept.schedule.rev === schedule.rev) {
        runtimes.set(schedule.name, kept);
        continue;
      }
      const rule = fireRule(schedule);
      const cursor = Math.max(schedule.lastFire ?? -Infinity, schedule.activeSince);
      runtimes.set(schedule.name, { schedule, rule, cursor, next: nextFire(rule, cursor), fresh: true });
      this.logger.info({ schedule: schedule.name, when: schedule.when, timezone: schedule.timezone, queue: schedule.queue }, kept ? 'schedule changed' : 'schedule active');
    }
    for (const name of this.runtimes.keys()) {
      if (!runtimes.has(name)) this.logger.info({ schedule: name }, schedules.some((s) => s.name === name) ? 'schedule paused' : 'schedule removed');
    }
    this.runtimes = runtimes;
    this.known = new Map(schedules.map((s) => [s.name, s]));
    this.version = version;
    this.reloadWanted = false;
  }

  private arm(delayMs?: number): void {
    if (this.stopped) return;
    clearTimeout(this.tickTimer);
    let delay = delayMs;
    if (delay === undefined) {
      const nexts = [...this.runtimes.values()].map((r) => r.next).filter((n): n is number => n !== null);
      delay = nexts.length === 0 ? MAX_TIMER_MS : Math.min(...nexts) - this.clock();
    }
    // Re-armed at least once a minute, so a wall-clock jump is noticed without waiting for it.
    this.tickTimer = setTimeout(() => this.enqueue('tick', () => this.tick()), Math.max(0, Math.min(MAX_TIMER_MS, delay)));
    this.tickTimer.unref();
  }

  private async tick(): Promise<void> {
    const now = this.clock();
    for (const runtime of [...this.runtimes.values()]) {
      if (this.stopped) return;
      await this.advance(runtime, now);
    }
    this.arm();
  }

  /** Fires what is due for one schedule; applies the missed-fire policy to what is long overdue. */
  private async advance(r: Runtime, now: number): Promise<void> {
    const missedUntil = now - (r.fresh ? START_GRACE_MS : LATE_LIMIT_MS);
    r.fresh = false;
    if (r.next !== null && r.next <= missedUntil) {
      const latest = latestFireIn(r.rule, r.cursor, missedUntil) ?? r.next;
      const first = new Date(r.next).toISOString();
      if (r.schedule.missed === 'run-once') {
        this.logger.warn({ schedule: r.schedule.name, first, latest: new Date(latest).toISOString() }, 'schedule missed fires while no scheduler ran; running the latest one once (missed: run-once)');
        const result = await this.fire(r, latest, 'missed');
        if (result === 'stale') return;
        if (result === 'claimed') this.stats.missedRun += 1;
      } else {
        this.logger.warn({ schedule: r.schedule.name, first, latest: new Date(latest).toISOString() }, 'schedule missed fires while no scheduler ran; skipped (missed: skip)');
        this.stats.missedSkipped += 1;
      }
      r.cursor = latest;
      r.next = nextFire(r.rule, latest);
    }
    while (r.next !== null && r.next <= now && !this.stopped) {
      if ((await this.fire(r, r.next, 'due')) === 'stale') return;
      r.cursor = r.next;
      r.next = nextFire(r.rule, r.cursor);
    }
  }

  /** 'stale' when the schedule changed (or was paused) under us: the reload replaces its runtime. */
  private async fire(r: Runtime, fire: number, reason: 'due' | 'missed'): Promise<'claimed' | 'taken' | 'stale'> {
    const { schedule } = r;
    // reload() keeps no any-queue schedule when there is no target, so `??` never falls through.
    const queue = schedule.queue === ANY_QUEUE ? (this.anyQueueTarget ?? ANY_QUEUE) : schedule.queue;
    const result = await this.store.claim(schedule, fire, this.options.owner, queue);
    if (result === 'claimed') {
      this.stats.claimed += 1;
      await this.enqueueFire(schedule, queue, fire, reason);
      return 'claimed';
    }
    if (result === 'taken') {
      this.stats.taken += 1;
      this.logger.debug({ schedule: schedule.name, fireAt: new Date(fire).toISOString() }, 'schedule fire taken by another supervisor');
      return 'taken';
    }
    this.logger.debug({ schedule: schedule.name, result }, 'schedule changed since it was loaded; reloading');
    this.runtimes.delete(schedule.name);
    this.reloadWanted = true;
    this.enqueue('poll', () => this.poll());
    return 'stale';
  }

  private async enqueueFire(schedule: Schedule, queue: string, fire: number, reason: 'due' | 'missed' | 'recovered'): Promise<void> {
    const jobId = fireJobId(schedule.name, fire);
    const fireAt = new Date(fire).toISOString();
    try {
      const options = { ...schedule.options, jobId, metadata: { ...schedule.options.metadata, schedule: schedule.name, fireAt } };
      const { outcome } = await this.queueFor(queue).enqueue(schedule.processor, schedule.data, options);
      await this.store.done(schedule.name, fire);
      this.logger.debug({ schedule: schedule.name, fireAt, jobId, queue, outcome, reason }, 'schedule fired');
    } catch (err) {
      if (err instanceof ValidationError) {
        // Retrying cannot help a job the queue refuses; the fire is dropped, loudly.
        await this.store.done(schedule.name, fire);
        this.logger.error({ err, schedule: schedule.name, fireAt, jobId }, 'the queue refused the scheduled job; this fire is dropped');
        return;
      }
      this.stats.enqueueFailed += 1;
      this.logger.warn({ err, schedule: schedule.name, fireAt, jobId }, `enqueueing the scheduled job failed; it stays claimed and is enqueued after ${RECOVER_AFTER_MS / 1000} s`);
    }
  }

  /** Fires claimed by a supervisor that stopped before enqueueing them (or whose enqueue failed). */
  private async recover(): Promise<void> {
    const now = this.clock();
    const served = new Lazy(this.servedQueues);
    for (const p of await this.store.pending()) {
      if (p.claimedAt > now - RECOVER_AFTER_MS) continue;
      const schedule = this.known.get(p.name);
      if (!schedule) {
        await this.store.done(p.name, p.fire);
        continue;
      }
      const queue = schedule.queue === ANY_QUEUE ? await this.recoveryQueue(p.queue, served) : schedule.queue;
      if (queue === undefined) continue; // this scheduler serves no queue: one that does recovers it
      this.stats.recovered += 1;
      this.logger.warn({ schedule: p.name, fireAt: new Date(p.fire).toISOString(), claimedBy: p.owner, queue }, 'enqueueing a fire whose claimer did not (it stopped, or Redis failed it)');
      await this.enqueueFire(schedule, queue, p.fire, 'recovered');
    }
  }

  /**
   * Where a dead claimer's fire of an any-queue schedule goes: the queue it claimed onto while a
   * live supervisor serves it (the job id is per queue, so a claimer that was only slow makes no
   * second job), else this scheduler's first queue (the fire is not stranded on a queue nobody
   * serves any longer). `claimedOnto` is '' for a claim made by an older version.
   */
  private async recoveryQueue(claimedOnto: string, served: Lazy<ReadonlySet<string>>): Promise<string | undefined> {
    if (claimedOnto === '' || claimedOnto === ANY_QUEUE) return this.anyQueueTarget;
    if (this.options.queues?.includes(claimedOnto)) return claimedOnto;
    return (await served.get()).has(claimedOnto) ? claimedOnto : this.anyQueueTarget;
  }

  private queueFor(name: string): Queue {
    let queue = this.clients.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.options.connection, clock: this.clock });
      this.clients.set(name, queue);
    }
    return queue;
  }
}

/** A value read at most once, and only if asked for (the registry, in a recovery pass). */
class Lazy<T> {
  private value: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    this.value ??= this.read();
    return this.value;
  }
}
