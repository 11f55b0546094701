/**
 * The schedule model: what people write (config file, CLI, API), the one validator, and the
 * normalised form every supervisor evaluates. Errors name the field and the fix.
 */
import { encodePayload } from '../queue/codec.js';
import { ValidationError } from '../queue/errors.js';
import { validateProcessorName } from '../queue/job-args.js';
import { QUEUE_NAME_PATTERN } from '../queue/keys.js';
import { validateJobOptions, type JobOptions } from '../queue/options.js';
import { parseCron, type CronFields } from './cron.js';
import { InvalidCronError, ScheduleValidationError } from './errors.js';
import { HORIZON_MS, nextFire, type FireRule } from './next-fire.js';
import { Zone } from './zone.js';

export const MISSED_POLICIES = ['skip', 'run-once'] as const;
/** What a schedule does about fires that were due while no scheduler ran. */
export type MissedPolicy = (typeof MISSED_POLICIES)[number];

/** Job options a schedule may set; the id, and when the job runs, come from the fire. */
export type ScheduleJobOptions = Omit<JobOptions, 'jobId' | 'runAt' | 'delayMs'>;

/** A schedule as people write it. Exactly one of cron, everyMinute, hourly, daily, weekly. */
export interface ScheduleInput {
  name: string;
  /** 5 fields, or 6 with seconds first; @daily and the other nicknames. */
  cron?: string;
  everyMinute?: boolean;
  /** Minute past every hour (0-59). */
  hourly?: number;
  /** "HH:MM", 24-hour. */
  daily?: string;
  /** "DAY HH:MM", e.g. "mon 09:00". */
  weekly?: string;
  /** IANA zone the times are in; UTC when not given, so every supervisor agrees whatever its TZ. */
  timezone?: string;
  /** The queue each fire's job goes to, or ANY_QUEUE ("*"): the first queue of the supervisor that fires it. */
  queue: string;
  processor: string;
  /** The job's input, as JSON. */
  data?: unknown;
  options?: ScheduleJobOptions;
  /** Default 'skip'. */
  missed?: MissedPolicy;
}

/** Validated and normalised: what the store keeps. Keys are always in this order (compared as JSON). */
export interface Schedule {
  name: string;
  /** The cron expression evaluated, helpers already expanded. */
  cron: string;
  /** How it was written, for people: "daily at 02:30", or the cron expression. */
  when: string;
  timezone: string;
  queue: string;
  processor: string;
  data: unknown;
  options: ScheduleJobOptions;
  missed: MissedPolicy;
}

export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;
/**
 * A schedule's `queue` when it names no queue: each fire goes to the first queue of the
 * supervisor that claims it, which is up by definition. For jobs that any supervisor can run and
 * that act on every queue (the built-in maintenance schedule): a fixed queue would strand them
 * when no supervisor serves it. `*` cannot be a queue's name (QUEUE_NAME_PATTERN), so it means
 * nothing else.
 */
export const ANY_QUEUE = '*';
/** Every supervisor loads every definition on each change, so a schedule's input stays small. */
export const MAX_SCHEDULE_DATA_BYTES = 64 * 1024;

const TIMING_KEYS = ['cron', 'everyMinute', 'hourly', 'daily', 'weekly'] as const;
const KNOWN_KEYS = new Set<string>(['name', ...TIMING_KEYS, 'timezone', 'queue', 'processor', 'data', 'options', 'missed']);
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const FORBIDDEN_OPTIONS: Record<string, string> = {
  jobId: 'each fire gets its own id, <schedule>@<fire time>, so that supervisors agree on it',
  runAt: 'a scheduled job runs when it fires; change the schedule instead',
  delayMs: 'a scheduled job runs when it fires; change the schedule instead',
};

function fail(field: string, detail: string): never {
  throw new ScheduleValidationError(field, detail);
}

// ---- helpers: the common shapes, as cron expressions -----------------------------------------

/** Every minute, at second 0. */
export function everyMinute(): string {
  return '* * * * *';
}

/** Every hour at `minute` past. */
export function hourlyAt(minute: number, field = 'hourly'): string {
  // String(), not JSON: a flag that is not a number arrives as NaN, which JSON would print as null.
  if (!Number.isInteger(minute) || minute < 0 || minute > 59) fail(field, `must be the minute past each hour, a whole number from 0 to 59, got ${typeof minute === 'string' ? JSON.stringify(minute) : String(minute)}`);
  return `${minute} * * * *`;
}

function parseTime(time: unknown, field: string, example: string): { hour: number; minute: number } {
  const match = typeof time === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(time.trim()) : null;
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  if (!match || hour > 23 || minute > 59) fail(field, `must be a 24-hour time HH:MM such as ${example}, got ${JSON.stringify(time)}`);
  return { hour, minute };
}

/** Every day at "HH:MM". */
export function dailyAt(time: string, field = 'daily'): string {
  const { hour, minute } = parseTime(time, field, '"02:30"');
  return `${minute} ${hour} * * *`;
}

/** Every week on `day` (sun-sat, sunday-saturday, or 0-7) at "HH:MM". */
export function weeklyOn(day: string | number, time: string, field = 'weekly'): string {
  const text = String(day).trim().toLowerCase();
  const index = /^[0-7]$/.test(text) ? Number(text) % 7 : Math.max(WEEKDAYS.indexOf(text), WEEKDAY_NAMES.indexOf(text));
  if (index < 0) fail(field, `the day ${JSON.stringify(day)} is not a weekday; use sun, mon, tue, wed, thu, fri or sat (or 0-6, Sunday 0), e.g. "mon 09:00"`);
  const { hour, minute } = parseTime(time, field, '"mon 09:00"');
  return `${minute} ${hour} * * ${index}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The cron expression and the human text for whichever timing field the input has. */
function timing(input: Record<string, unknown>): { cron: string; when: string } {
  const given = TIMING_KEYS.filter((k) => input[k] !== undefined && input[k] !== false);
  if (given.length === 0) fail('cron', `a schedule needs its timing: one of ${TIMING_KEYS.join(', ')}, e.g. "cron": "30 2 * * *" or "daily": "02:30"`);
  if (given.length > 1) fail(given[1]!, `give one timing only; this schedule has ${given.join(' and ')}`);
  const key = given[0]!;
  const value = input[key];
  switch (key) {
    case 'cron': {
      const cron = parseCron(value, 'cron').expression;
      return { cron, when: cron };
    }
    case 'everyMinute':
      if (value !== true) fail('everyMinute', `must be true when given, got ${JSON.stringify(value)}`);
      return { cron: everyMinute(), when: 'every minute' };
    case 'hourly': {
      const cron = hourlyAt(value as number);
      return { cron, when: `hourly at :${pad(value as number)}` };
    }
    case 'daily': {
      const cron = dailyAt(value as string);
      const [minute, hour] = cron.split(' ');
      return { cron, when: `daily at ${pad(Number(hour))}:${pad(Number(minute))}` };
    }
    default: {
      const text = typeof value === 'string' ? value.trim().split(/\s+/) : [];
      if (text.length !== 2) fail('weekly', `must be "DAY HH:MM", e.g. "mon 09:00", got ${JSON.stringify(value)}`);
      const cron = weeklyOn(text[0]!, text[1]!);
      const [minute, hour, , , day] = cron.split(' ');
      return { cron, when: `weekly on ${WEEKDAYS[Number(day)]} at ${pad(Number(hour))}:${pad(Number(minute))}` };
    }
  }
}

/** The queue layer's messages name its own fields; here they name the schedule's. */
function asScheduleError<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ScheduleValidationError(err.field.startsWith(field) ? err.field : field, err.detail);
    }
    throw err;
  }
}

function validateOptions(value: unknown): ScheduleJobOptions {
  const options = asScheduleError('options', () => validateJobOptions(value, 'options'));
  for (const key of Object.keys(options)) {
    const why = FORBIDDEN_OPTIONS[key];
    if (why) fail(`options.${key}`, `cannot be set on a schedule: ${why}`);
  }
  return options;
}

function validateData(value: unknown): unknown {
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    fail('data', 'must be JSON: schedules are stored as JSON in Redis; store the bytes elsewhere and put a reference (a path, a URL) in data');
  }
  asScheduleError('data', () => encodePayload(value, MAX_SCHEDULE_DATA_BYTES, 'data'));
  return value === undefined ? null : value;
}

/** Validates one schedule; throws ScheduleValidationError naming the field (`cron.minute`, `timezone`, ...). */
export function validateSchedule(input: unknown, now = Date.now()): Schedule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail('schedule', 'must be an object like { "name": "nightly", "daily": "02:30", "queue": "default", "processor": "echo" }');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) fail(key, `unknown schedule setting; known settings are ${[...KNOWN_KEYS].join(', ')}`);
  }
  if (typeof raw.name !== 'string' || !SCHEDULE_NAME_PATTERN.test(raw.name)) {
    fail('name', `must be 1-100 letters, digits, or _ . : - (it becomes part of job ids and Redis keys), got ${JSON.stringify(raw.name)}`);
  }
  const { cron, when } = timing(raw);
  const zone = Zone.of((raw.timezone as string | undefined) ?? 'UTC', 'timezone');
  if (typeof raw.queue !== 'string' || (raw.queue !== ANY_QUEUE && !QUEUE_NAME_PATTERN.test(raw.queue))) {
    fail('queue', `${JSON.stringify(raw.queue)} is not a valid queue name: use 1-128 letters, digits, or _ . : - (no braces or spaces), or "*" for the first queue of whichever supervisor fires it`);
  }
  const processor = asScheduleError('processor', () => validateProcessorName(raw.processor));
  const missed = raw.missed ?? 'skip';
  if (!MISSED_POLICIES.includes(missed as MissedPolicy)) {
    fail('missed', `must be "skip" (fires missed while no scheduler ran are dropped) or "run-once" (the latest one runs at start), got ${JSON.stringify(missed)}`);
  }
  const schedule: Schedule = {
    name: raw.name,
    cron,
    when,
    timezone: zone.name,
    queue: raw.queue,
    processor,
    data: validateData(raw.data),
    options: validateOptions(raw.options),
    missed: missed as MissedPolicy,
  };
  if (nextFire(fireRule(schedule), now) === null) {
    throw new InvalidCronError('cron', `"${cron}" never fires in the next ${Math.round(HORIZON_MS / (366 * 86_400_000))} years in ${zone.name}; check the day and month fields`);
  }
  return schedule;
}

/**
 * A normalised schedule read back from Redis, validated again (a definition edited by hand must
 * not crash a supervisor). Its `cron` is already expanded; `when` only describes it.
 */
export function restoreSchedule(value: unknown, now = Date.now()): Schedule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('schedule', 'the stored definition is not an object');
  const { when, ...input } = value as Record<string, unknown>;
  const schedule = validateSchedule(input, now);
  return { ...schedule, when: typeof when === 'string' && when !== '' ? when : schedule.when };
}

/** A list of schedules (the config file's "schedules"): each validated, names unique. */
export function validateScheduleList(value: unknown, now = Date.now()): Schedule[] {
  if (!Array.isArray(value)) fail('schedules', 'must be a list of schedules, e.g. [{ "name": "nightly", "daily": "02:30", "queue": "default", "processor": "echo" }]');
  const seen = new Set<string>();
  return value.map((item, i) => {
    let schedule: Schedule;
    try {
      schedule = validateSchedule(item, now);
    } catch (err) {
      throw err instanceof ScheduleValidationError ? err.within(`schedules[${i}]`) : err;
    }
    if (seen.has(schedule.name)) fail(`schedules[${i}].name`, `"${schedule.name}" is used by two schedules; names must be unique`);
    seen.add(schedule.name);
    return schedule;
  });
}

/** The fire rule (parsed cron and zone) of a normalised schedule; cached per expression and zone. */
export function fireRule(schedule: Pick<Schedule, 'cron' | 'timezone'>): FireRule {
  return { cron: parsedCron(schedule.cron), zone: Zone.of(schedule.timezone) };
}

const parsed = new Map<string, CronFields>();
function parsedCron(expression: string): CronFields {
  let fields = parsed.get(expression);
  if (!fields) {
    fields = parseCron(expression);
    // Bounded: definitions change rarely, but a long-lived process should not grow without end.
    if (parsed.size > 1000) parsed.clear();
    parsed.set(expression, fields);
  }
  return fields;
}

/** The job id of one fire: the schedule's name and the fire's nominal time, so every supervisor derives the same one. */
export function fireJobId(name: string, fireMs: number): string {
  return `${name}@${new Date(fireMs).toISOString().replace('.000Z', 'Z')}`;
}
