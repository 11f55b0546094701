/**
 * Every change the dashboard can make, in one place, each through the queue's own API where it
 * has one (pause, resume, retryDead, retryAllDead, purgeDead, clear, cancel) and through one Lua
 * script per transition where it has none yet (promote, delete; ./lua). Each action is logged
 * with who (a token id) and what, and refused in read-only mode. Bulk and destructive actions
 * need `confirm`: the page that asks states the count.
 */
import { CodedError } from '../errors.js';
import { JobNotFoundError, NotCancellableError, TroupeError } from '../queue/errors.js';
import { queueKeys } from '../queue/keys.js';
import { LuaRunner, ScriptSet } from '../queue/scripts.js';
import { ANY_QUEUE } from '../scheduler/spec.js';
import type { Logger } from '../supervisor/logger.js';
import type { DashboardData } from './data.js';

export const QUEUE_ACTIONS = ['pause', 'resume', 'retry-dead', 'purge-dead', 'promote-delayed', 'empty-pending'] as const;
export const JOB_ACTIONS = ['retry', 'cancel', 'promote', 'delete'] as const;
export const SCHEDULE_ACTIONS = ['pause', 'resume', 'run'] as const;
export type QueueAction = (typeof QUEUE_ACTIONS)[number];
export type JobAction = (typeof JOB_ACTIONS)[number];
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number];

/** Bulk actions: how many jobs they touch now, and the question that states it. */
export const BULK: Readonly<Partial<Record<QueueAction, { state: 'dead' | 'delayed' | 'pending'; label: string; question: (n: number, q: string) => string }>>> = {
  'retry-dead': { state: 'dead', label: 'Retry all dead', question: (n, q) => `Move ${n} dead job${n === 1 ? '' : 's'} of queue ${q} back to pending, with fresh attempts?` },
  'purge-dead': { state: 'dead', label: 'Purge dead', question: (n, q) => `Delete ${n} dead job${n === 1 ? '' : 's'} from queue ${q}? This cannot be undone.` },
  'promote-delayed': { state: 'delayed', label: 'Promote all delayed', question: (n, q) => `Run ${n} delayed job${n === 1 ? '' : 's'} of queue ${q} now, without waiting for their time?` },
  'empty-pending': { state: 'pending', label: 'Empty pending', question: (n, q) => `Delete ${n} pending job${n === 1 ? '' : 's'} from queue ${q}? This cannot be undone.` },
};

/** Job actions that destroy something ask first too. */
export const JOB_CONFIRM: Readonly<Partial<Record<JobAction, (id: string) => string>>> = {
  cancel: (id) => `Cancel job ${id}? It is removed before it runs; this cannot be undone.`,
  delete: (id) => `Delete job ${id} and its record? This cannot be undone.`,
};

export const ActionErrorCode = { ReadOnly: 'READ_ONLY', NotFound: 'NOT_FOUND', Conflict: 'CONFLICT', NeedsConfirmation: 'NEEDS_CONFIRMATION', Invalid: 'INVALID' } as const;
type ActionErrorCodeValue = (typeof ActionErrorCode)[keyof typeof ActionErrorCode];
const STATUS: Record<ActionErrorCodeValue, number> = { READ_ONLY: 403, NOT_FOUND: 404, CONFLICT: 409, NEEDS_CONFIRMATION: 409, INVALID: 400 };

/** An action that cannot be done: its HTTP status follows the code. */
export class ActionError extends CodedError<ActionErrorCodeValue> {
  override name = 'ActionError';
  constructor(code: ActionErrorCodeValue, message: string, readonly count?: number) {
    super(code, message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}

export interface ActionResult {
  action: string;
  target: string;
  /** Jobs moved or deleted (bulk), or 1. */
  count: number;
  message: string;
}

export interface Actor {
  who: string;
  remote: string;
}

const SCRIPTS = new ScriptSet(new URL('./lua/', import.meta.url), ['promote', 'delete'] as const);
/** Bulk promote moves this many per script call, so one call never holds Redis for long (as the queue's admin calls). */
const BATCH = 1000;

export class Actions {
  private readonly lua: LuaRunner<'promote' | 'delete'>;

  constructor(
    private readonly data: DashboardData,
    private readonly logger: Logger,
    readonly readOnly: boolean,
  ) {
    this.lua = new LuaRunner(data.client, SCRIPTS);
  }

  /** How many jobs a bulk action would touch now (the confirmation states it). */
  async bulkCount(queue: string, action: QueueAction): Promise<number> {
    const bulk = BULK[action];
    if (!bulk) return 0;
    return (await this.data.queue(queue).counts())[bulk.state];
  }

  async queueAction(actor: Actor, queue: string, action: QueueAction, confirmed: boolean): Promise<ActionResult> {
    this.allow(actor, `${action} on queue ${queue}`);
    const bulk = BULK[action];
    if (bulk && !confirmed) {
      const n = await this.bulkCount(queue, action);
      throw new ActionError(ActionErrorCode.NeedsConfirmation, `${bulk.question(n, queue)} Send confirm=${n} to go ahead.`, n);
    }
    const q = this.data.queue(queue);
    let result: ActionResult;
    switch (action) {
      case 'pause':
        await q.pause();
        result = { action, target: queue, count: 0, message: `paused queue ${queue}: no new jobs start; running jobs finish` };
        break;
      case 'resume':
        await q.resume();
        result = { action, target: queue, count: 0, message: `resumed queue ${queue}` };
        break;
      case 'retry-dead': {
        const n = await q.retryAllDead();
        result = { action, target: queue, count: n, message: `moved ${n} dead job${n === 1 ? '' : 's'} back to pending` };
        break;
      }
      case 'purge-dead': {
        const n = await q.purgeDead();
        result = { action, target: queue, count: n, message: `deleted ${n} dead job${n === 1 ? '' : 's'}` };
        break;
      }
      case 'promote-delayed': {
        let n = 0;
        for (;;) {
          const [moved, seen] = (await this.run('promote', queue, ['batch', BATCH])) as [number, number];
          n += moved;
          if (seen < BATCH) break;
        }
        result = { action, target: queue, count: n, message: `promoted ${n} delayed job${n === 1 ? '' : 's'} to pending` };
        break;
      }
      case 'empty-pending': {
        const n = await q.clear('pending');
        result = { action, target: queue, count: n, message: `deleted ${n} pending job${n === 1 ? '' : 's'}` };
        break;
      }
    }
    return this.done(actor, result);
  }

  async jobAction(actor: Actor, queue: string, id: string, action: JobAction, confirmed: boolean): Promise<ActionResult> {
    this.allow(actor, `${action} on job ${id} of queue ${queue}`);
    const ask = JOB_CONFIRM[action];
    if (ask && !confirmed) throw new ActionError(ActionErrorCode.NeedsConfirmation, `${ask(id)} Send confirm=1 to go ahead.`, 1);
    const q = this.data.queue(queue);
    const job = await q.getJob(id);
    if (!job) throw new ActionError(ActionErrorCode.NotFound, `no job ${id} in queue ${queue}`);
    const wrong = (wanted: string) => new ActionError(ActionErrorCode.Conflict, `job ${id} is ${job.state}; only ${wanted} jobs can be ${action === 'retry' ? 'retried' : `${action}d`}`);
    switch (action) {
      case 'retry':
        if (!(await q.retryDead(id))) throw wrong('dead');
        return this.done(actor, { action, target: `${queue}/${id}`, count: 1, message: `job ${id} moved back to pending with fresh attempts` });
      case 'cancel':
        try {
          await q.cancel(id);
        } catch (err) {
          if (err instanceof NotCancellableError) throw wrong('pending or delayed');
          if (err instanceof JobNotFoundError) throw new ActionError(ActionErrorCode.NotFound, err.message);
          throw err;
        }
        return this.done(actor, { action, target: `${queue}/${id}`, count: 1, message: `job ${id} cancelled` });
      case 'promote': {
        const [moved] = (await this.run('promote', queue, ['one', id])) as [number, number];
        if (moved !== 1) throw wrong('delayed');
        return this.done(actor, { action, target: `${queue}/${id}`, count: 1, message: `job ${id} promoted: pending now` });
      }
      case 'delete': {
        const [code, state] = (await this.run('delete', queue, [id])) as [number, string];
        if (code === 0) throw new ActionError(ActionErrorCode.NotFound, `no job ${id} in queue ${queue}`);
        if (code === -1) throw new ActionError(ActionErrorCode.Conflict, `job ${id} is ${state}: a supervisor holds it; wait for it to finish (or pause the queue), then delete it`);
        return this.done(actor, { action, target: `${queue}/${id}`, count: 1, message: `job ${id} (${state}) deleted` });
      }
    }
  }

  async scheduleAction(actor: Actor, name: string, action: ScheduleAction): Promise<ActionResult> {
    this.allow(actor, `${action} on schedule ${name}`);
    const schedule = await this.data.schedules.get(name).catch((err: unknown) => {
      throw new ActionError(ActionErrorCode.Invalid, err instanceof Error ? err.message : String(err));
    });
    if (!schedule) throw new ActionError(ActionErrorCode.NotFound, `no schedule ${name}`);
    switch (action) {
      case 'pause':
      case 'resume': {
        const changed = await this.data.schedules.setPaused(name, action === 'pause');
        const message = changed ? `schedule ${name} ${action}d` : `schedule ${name} was already ${action === 'pause' ? 'paused' : 'running'}`;
        return this.done(actor, { action, target: name, count: changed ? 1 : 0, message });
      }
      case 'run': {
        if (schedule.queue === ANY_QUEUE) {
          throw new ActionError(ActionErrorCode.Conflict, `schedule ${name} sends each fire to the first queue of the supervisor that claims it ("queue": "*"); there is no one queue to run it on now`);
        }
        const runAt = new Date(this.data.clock()).toISOString();
        const metadata = { ...schedule.options.metadata, schedule: name, runNow: runAt, by: actor.who };
        try {
          const { id } = await this.data.queue(schedule.queue).enqueue(schedule.processor, schedule.data, { ...schedule.options, metadata });
          return this.done(actor, { action, target: name, count: 1, message: `schedule ${name} run now: job ${id} in queue ${schedule.queue}` });
        } catch (err) {
          if (err instanceof TroupeError) throw new ActionError(ActionErrorCode.Invalid, `the queue refused the job: ${err.message}`);
          throw err;
        }
      }
    }
  }

  private run(name: 'promote' | 'delete', queue: string, args: Array<string | number>): Promise<unknown> {
    const keys = queueKeys(queue);
    return name === 'promote' ? this.lua.run(name, keys.scriptKeys, [keys.prefix, this.data.clock(), ...args]) : this.lua.run(name, keys.scriptKeys, [keys.prefix, ...args]);
  }

  private allow(actor: Actor, what: string): void {
    if (!this.readOnly) return;
    this.logger.warn({ who: actor.who, remote: actor.remote, refused: what }, 'dashboard action refused: read-only');
    throw new ActionError(ActionErrorCode.ReadOnly, `the dashboard is read-only (--read-only / dashboardReadOnly); ${what} was not done`);
  }

  private done(actor: Actor, result: ActionResult): ActionResult {
    this.data.overview.invalidate();
    this.logger.info({ who: actor.who, remote: actor.remote, action: result.action, target: result.target, count: result.count }, `dashboard action: ${result.message}`);
    return result;
  }
}
