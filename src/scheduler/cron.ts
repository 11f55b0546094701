/**
 * Cron expressions: node-cron parses and validates them and defines the syntax (5 fields, or
 * 6 with seconds first; names, ranges that wrap, steps, L, L-n, nW, LW, n#k, nL, @daily and the
 * other nicknames). This module turns node-cron's parsed fields into a matcher on wall-clock
 * time, which next-fire.ts walks.
 *
 * Day-of-month and day-of-week combine as crontab combines them, not as node-cron does (AND):
 * Vixie cron's rule, which cronie, croniter and cron-parser share. A day field whose text starts
 * with `*` (`*`, `*,10`, or a step over `*` such as every second day) is "unrestricted"; when either day field is,
 * a day must match both (for a plain `*`, that is the other field alone); when neither is, a day
 * matches if either does: `0 0 1-7 * 1` fires on the 1st to 7th and on every Monday. `?` (which
 * node-cron reads as `*`) counts as `*`. The nicknames (@weekly, @monthly, ...) have a `*` day.
 *
 * Why not node-cron's own next-run: it only answers "next after now" (not after an arbitrary
 * instant, which missed-fire detection needs), and its answers skip a 02:30 daily job on the
 * spring-forward day and an hour of an every-15-minutes job on the fall-back day (see docs/scheduling.md).
 */
import { parse, validateDetailed } from 'node-cron';
import { InvalidCronError } from './errors.js';

const DAY_MS = 86_400_000;

export interface CronFields {
  /** The expression as written (spacing normalised). */
  readonly expression: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: ReadonlySet<number>;
  /** Numbers, or node-cron's day tokens: L, L-n, nW, LW. */
  readonly daysOfMonth: ReadonlyArray<number | string>;
  /** Numbers 0-6 (Sunday 0), or node-cron's tokens: n#k (k-th n-day), nL (last n-day). */
  readonly daysOfWeek: ReadonlyArray<number | string>;
  /**
   * Neither day field starts with `*` (or `?`): a day matches when its day of month OR its day
   * of week does (crontab's rule). Otherwise both must match.
   */
  readonly daysEither: boolean;
  /**
   * The hour field covers all 24 hours (`*`, `0-23`, a step of 1): the schedule is an interval, not a
   * time of day. The daylight-saving rules differ for the two kinds (next-fire.ts).
   */
  readonly everyHour: boolean;
}

interface FieldInfo {
  key: string;
  label: string;
  accepts: string;
  /** The numbers the field takes; a number or a range end outside them is refused. */
  min: number;
  max: number;
  /** The unit a step counts, for the suggestion in a range error ("every 5 minutes"). */
  unit: string;
}

const FIELDS: readonly FieldInfo[] = [
  { key: 'second', label: 'second', accepts: '0-59', min: 0, max: 59, unit: 'seconds' },
  { key: 'minute', label: 'minute', accepts: '0-59', min: 0, max: 59, unit: 'minutes' },
  { key: 'hour', label: 'hour', accepts: '0-23', min: 0, max: 23, unit: 'hours' },
  { key: 'dayOfMonth', label: 'day-of-month', accepts: '1-31, L (last day), L-n, nW (nearest weekday) or LW', min: 1, max: 31, unit: 'days' },
  { key: 'month', label: 'month', accepts: '1-12 or jan-dec', min: 1, max: 12, unit: 'months' },
  { key: 'dayOfWeek', label: 'day-of-week', accepts: '0-7 (0 and 7 are Sunday) or sun-sat, n#k (k-th n-day of the month), nL (last n-day)', min: 0, max: 7, unit: 'days' },
];

/** A number or a range of numbers, with an optional step: ranges' bounds are checked here. */
const NUMERIC_ITEM = /^(\d+)(?:-(\d+))?(?:\/(\d+))?$/;

const NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const FIELD_CHARS = /^[A-Za-z0-9\-*/,#?]+$/;
const SHAPES = '5 fields (minute hour day-of-month month day-of-week) or 6 (a second field first)';

/** Parses and validates a cron expression; errors name the field (`cron.minute`) and the fix. */
export function parseCron(input: unknown, field = 'cron'): CronFields {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new InvalidCronError(field, `must be a cron expression such as "30 2 * * *" (02:30 every day), got ${JSON.stringify(input)}`);
  }
  const expression = input.trim().replace(/\s+/g, ' ');
  if (expression.startsWith('@')) {
    if (!NICKNAMES.includes(expression.toLowerCase())) {
      throw new InvalidCronError(field, `"${expression}" is not a cron nickname; use one of ${NICKNAMES.join(', ')}, or ${SHAPES}`);
    }
  } else {
    checkShape(expression, field);
  }
  const daysEither = bothDaysRestricted(expression);
  const result = validateDetailed(expression);
  if (!result.valid && daysEither && result.errors.every((e) => IMPOSSIBLE_DAY.test(e.message))) {
    // node-cron refuses a day of month no named month has (30 February), which is right when the
    // days must match both fields; with either, the weekdays still fire (`0 0 30 2 1`: every
    // Monday in February). The never-fires check (spec.ts) catches what truly never fires.
    return fieldsOf(expression, daysEither, true);
  }
  if (!result.valid) {
    const first = result.errors[0]!;
    const info = FIELDS.find((f) => f.key === first.field);
    if (!info) throw new InvalidCronError(field, `"${expression}" is not valid: ${first.message}; use ${SHAPES}`);
    if (IMPOSSIBLE_DAY.test(first.message)) {
      throw new InvalidCronError(
        `${field}.${info.key}`,
        `"${expression}" never fires: no month it names has day ${first.value}; pick days that exist in those months (or use L for the last day)`,
      );
    }
    throw new InvalidCronError(
      `${field}.${info.key}`,
      `the ${info.label} field "${first.value}" is not valid in "${expression}": use ${info.accepts}, as a number, * , a list (1,15), a range (1-5) or a step (*/5)`,
    );
  }
  return fieldsOf(expression, daysEither, false);
}

const IMPOSSIBLE_DAY = /impossible day of month/;

/**
 * node-cron's parse of a valid expression. `impossibleDays`: node-cron refuses the expression as
 * it stands (a day no named month has), so the days of month are parsed with any month and the
 * rest with any day.
 */
function fieldsOf(expression: string, daysEither: boolean, impossibleDays: boolean): CronFields {
  const p = parse(impossibleDays ? withField(expression, 'dayOfMonth', '*') : expression);
  const days = impossibleDays ? parse(withField(expression, 'month', '*')) : p;
  const sorted = (values: ReadonlyArray<number | string>) => [...new Set(values.map(Number))].sort((a, b) => a - b);
  const hours = sorted(p.hour);
  return {
    expression,
    seconds: sorted(p.second),
    minutes: sorted(p.minute),
    hours,
    months: new Set(p.month.map(Number)),
    daysOfMonth: days.dayOfMonth,
    daysOfWeek: p.dayOfWeek,
    daysEither,
    everyHour: hours.length === 24,
  };
}

/** The expression's fields by name (a nickname has none: every nickname's day fields include a `*`). */
function fieldTexts(expression: string): Map<string, string> {
  if (expression.startsWith('@')) return new Map();
  const parts = expression.split(' ');
  const infos = parts.length === 5 ? FIELDS.slice(1) : FIELDS;
  return new Map(infos.map((info, i) => [info.key, parts[i]!]));
}

/** Vixie cron's test, on the text as written: a day field is unrestricted when it starts with `*`. */
function bothDaysRestricted(expression: string): boolean {
  const texts = fieldTexts(expression);
  const restricted = (text: string | undefined) => text !== undefined && !text.startsWith('*') && !text.startsWith('?');
  return restricted(texts.get('dayOfMonth')) && restricted(texts.get('dayOfWeek'));
}

function withField(expression: string, key: string, text: string): string {
  const texts = fieldTexts(expression);
  texts.set(key, text);
  return [...texts.values()].join(' ');
}

/** Field count and characters, checked here so the message names the field that is wrong. */
function checkShape(expression: string, field: string): void {
  const parts = expression.split(' ');
  if (parts.length !== 5 && parts.length !== 6) {
    throw new InvalidCronError(field, `"${expression}" has ${parts.length} field${parts.length === 1 ? '' : 's'}; a cron expression has ${SHAPES}, e.g. "30 2 * * *"`);
  }
  const infos = parts.length === 5 ? FIELDS.slice(1) : FIELDS;
  parts.forEach((part, i) => {
    const info = infos[i]!;
    if (!FIELD_CHARS.test(part)) {
      throw new InvalidCronError(
        `${field}.${info.key}`,
        `the ${info.label} field "${part}" has characters cron does not use in "${expression}": use ${info.accepts}, with * , - / only`,
      );
    }
    checkBounds(part, info, expression, field);
  });
}

/**
 * Every number and range end must lie in the field's range, as crontab (Vixie cron, cronie) and
 * cron-parser require. node-cron checks only the values a range produces, so it took
 * `1-60/5` (1, 6, ... 56) and refused `0-60/10` (which reaches 60); both are refused here.
 */
function checkBounds(part: string, info: FieldInfo, expression: string, field: string): void {
  for (const item of part.split(',')) {
    // A single number node-cron checks itself, with or without a step (60, 60/5): it is a value.
    const match = NUMERIC_ITEM.exec(item);
    if (!match || match[2] === undefined) continue; // *, names, L, W, #: node-cron checks them too
    const [, from, to, step] = match;
    const outside = [Number(from), Number(to)].find((n) => n < info.min || n > info.max);
    if (outside === undefined) continue;
    const low = Math.min(Math.max(Number(from), info.min), info.max);
    const example = step === undefined ? `${low}-${info.max}` : `${low}-${info.max}/${step} (every ${step} ${info.unit} from ${low})`;
    throw new InvalidCronError(
      `${field}.${info.key}`,
      `the ${info.label} field "${part}" is not valid in "${expression}": ${outside} is outside ${info.min}-${info.max}, and both ends of a range must be in it, e.g. ${example}`,
    );
  }
}

// ---- matching on wall-clock time (wall ms: see zone.ts) ------------------------------------

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** node-cron's nW: the weekday nearest to day `target`, never crossing into another month. */
function nearestWeekday(year: number, month: number, target: number): number {
  const last = lastDayOfMonth(year, month);
  if (target < 1 || target > last) return -1;
  const weekday = new Date(Date.UTC(year, month - 1, target)).getUTCDay();
  if (weekday === 6) return target === 1 ? target + 2 : target - 1;
  if (weekday === 0) return target === last ? target - 2 : target + 1;
  return target;
}

function matchesDayOfMonth(tokens: ReadonlyArray<number | string>, year: number, month: number, day: number): boolean {
  for (const token of tokens) {
    if (token === day) return true;
    if (typeof token !== 'string') continue;
    if (token === 'L' && day === lastDayOfMonth(year, month)) return true;
    const weekday = /^(\d{1,2}|L)W$/.exec(token);
    if (weekday) {
      const target = weekday[1] === 'L' ? lastDayOfMonth(year, month) : Number(weekday[1]);
      if (nearestWeekday(year, month, target) === day) return true;
    }
    const offset = /^L-(\d{1,2})$/.exec(token);
    if (offset && lastDayOfMonth(year, month) - Number(offset[1]) === day) return true;
  }
  return false;
}

function matchesDayOfWeek(tokens: ReadonlyArray<number | string>, year: number, month: number, day: number, weekday: number): boolean {
  for (const token of tokens) {
    if (token === weekday) return true;
    if (typeof token !== 'string') continue;
    const nth = /^([0-7])#([1-5])$/.exec(token);
    if (nth && Number(nth[1]) % 7 === weekday && Math.floor((day - 1) / 7) + 1 === Number(nth[2])) return true;
    const last = /^([0-7])L$/i.exec(token);
    if (last && Number(last[1]) % 7 === weekday && day + 7 > lastDayOfMonth(year, month)) return true;
  }
  return false;
}

/** Whether the calendar day containing wall ms `dayStart` matches month and the day fields (see `daysEither`). */
export function matchesDay(cron: CronFields, dayStart: number): boolean {
  const date = new Date(dayStart);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  if (!cron.months.has(month)) return false;
  const day = date.getUTCDate();
  const ofMonth = matchesDayOfMonth(cron.daysOfMonth, year, month, day);
  if (ofMonth && cron.daysEither) return true;
  if (!ofMonth && !cron.daysEither) return false;
  return matchesDayOfWeek(cron.daysOfWeek, year, month, day, date.getUTCDay());
}

/** The first wall time at or after `from` (wall ms) and at or before `limit` that matches, or null. */
export function nextWallMatch(cron: CronFields, from: number, limit: number): number | null {
  const start = Math.ceil(from / 1000) * 1000;
  for (let dayStart = Math.floor(start / DAY_MS) * DAY_MS; dayStart <= limit; dayStart += DAY_MS) {
    if (!matchesDay(cron, dayStart)) continue;
    const floor = start - dayStart;
    for (const h of cron.hours) {
      if ((h + 1) * 3_600_000 <= floor) continue;
      for (const m of cron.minutes) {
        if (h * 3_600_000 + (m + 1) * 60_000 <= floor) continue;
        for (const s of cron.seconds) {
          const at = dayStart + h * 3_600_000 + m * 60_000 + s * 1000;
          if (at >= start) return at <= limit ? at : null;
        }
      }
    }
  }
  return null;
}
