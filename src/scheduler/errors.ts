/**
 * The scheduler's error family. Callers match on `err.code` (and `err.field` for bad input),
 * never on message text; messages name the field, what was wrong and how to fix it.
 */
import { CodedError, type CodeOf } from '../errors.js';

export const ScheduleErrorCode = {
  InvalidCron: 'INVALID_CRON',
  UnknownTimezone: 'UNKNOWN_TIMEZONE',
  InvalidSchedule: 'INVALID_SCHEDULE',
  NotFound: 'SCHEDULE_NOT_FOUND',
  Exists: 'SCHEDULE_EXISTS',
} as const;
export type ScheduleErrorCode = CodeOf<typeof ScheduleErrorCode>;

export class ScheduleError extends CodedError<ScheduleErrorCode> {}

/**
 * A schedule field is wrong. `field` is a path into the schedule (`cron`, `cron.minute`,
 * `timezone`, `missed`, `queue`, `data`, `options.attempts`, `schedules[2].daily`, ...).
 */
export class ScheduleValidationError extends ScheduleError {
  readonly field: string;
  /** The message without the leading `field: `, for callers that name the field their own way (a CLI flag). */
  readonly detail: string;
  constructor(field: string, detail: string, code: ScheduleErrorCode = ScheduleErrorCode.InvalidSchedule) {
    super(code, `${field}: ${detail}`);
    this.field = field;
    this.detail = detail;
  }

  /** The same error one level down a path (`schedules[2]` + `cron.minute`). */
  within(prefix: string): ScheduleValidationError {
    // The same class, so `instanceof InvalidCronError` and `name` survive the move.
    const Same = this.constructor as new (field: string, detail: string, code?: ScheduleErrorCode) => ScheduleValidationError;
    return new Same(`${prefix}.${this.field}`, this.detail, this.code);
  }
}

/** One cron field (or the expression's shape) is wrong; `field` is `cron` or `cron.<field>`. */
export class InvalidCronError extends ScheduleValidationError {
  constructor(field: string, detail: string) {
    super(field, detail, ScheduleErrorCode.InvalidCron);
  }
}

export class UnknownTimezoneError extends ScheduleValidationError {
  constructor(field: string, detail: string) {
    super(field, detail, ScheduleErrorCode.UnknownTimezone);
  }
}

export class ScheduleNotFoundError extends ScheduleError {
  constructor(name: string) {
    super(ScheduleErrorCode.NotFound, `no schedule named "${name}" (see "troupe schedule list")`);
  }
}

export class ScheduleExistsError extends ScheduleError {
  constructor(name: string) {
    super(
      ScheduleErrorCode.Exists,
      `a different schedule named "${name}" already exists; remove it first, or replace it with --replace (troupe schedule add ${name} --replace ...)`,
    );
  }
}
