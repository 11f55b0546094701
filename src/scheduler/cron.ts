/**
 * Cron expressions: node-cron parses and validates them and defines what they mean (5 fields, or
 * 6 with seconds first; names, ranges that wrap, steps, L, L-n, nW, LW, n#k, nL, @daily and the
 * other nicknames; day-of-month AND day-of-week, as node-cron documents). This module turns
 * node-cron's parsed fields into a matcher on wall-clock time, which next-fire.ts walks.
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
   * The hour field covers all 24 hours (`*`, `0-23`, a step of 1): the schedule is an interval, not a
   * time of day. The daylight-saving rules differ for the two kinds (next-fire.ts).
   */
  readonly everyHour: boolean;
}

interface FieldInfo {
  key: string;
  label: string;
  accepts: string;
}

const FIELDS: readonly FieldInfo[] = [
  { key: 'second', label: 'second', accepts: '0-59' },
  { key: 'minute', label: 'minute', accepts: '0-59' },
  { key: 'hour', label: 'hour', accepts: '0-23' },
  { key: 'dayOfMonth', label: 'day-of-month', accepts: '1-31, L (last day), L-n, nW (nearest weekday) or LW' },
  { key: 'month', label: 'month', accepts: '1-12 or jan-dec' },
  { key: 'dayOfWeek', label: 'day-of-week', accepts: '0-7 (0 and 7 are Sunday) or sun-sat, n#k (k-th n-day of the month), nL (last n-day)' },
];

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
  const result = validateDetailed(expression);
  if (!result.valid) {
    const first = result.errors[0]!;
    const info = FIELDS.find((f) => f.key === first.field);
    if (!info) throw new InvalidCronError(field, `"${expression}" is not valid: ${first.message}; use ${SHAPES}`);
    if (/impossible day of month/.test(first.message)) {
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
  const p = parse(expression);
  const sorted = (values: ReadonlyArray<number | string>) => [...new Set(values.map(Number))].sort((a, b) => a - b);
  const hours = sorted(p.hour);
  return {
    expression,
    seconds: sorted(p.second),
    minutes: sorted(p.minute),
    hours,
    months: new Set(p.month.map(Number)),
    daysOfMonth: p.dayOfMonth,
    daysOfWeek: p.dayOfWeek,
    everyHour: hours.length === 24,
  };
}

/** Field count and characters, checked here so the message names the field that is wrong. */
function checkShape(expression: string, field: string): void {
  const parts = expression.split(' ');
  if (parts.length !== 5 && parts.length !== 6) {
    throw new InvalidCronError(field, `"${expression}" has ${parts.length} field${parts.length === 1 ? '' : 's'}; a cron expression has ${SHAPES}, e.g. "30 2 * * *"`);
  }
  const infos = parts.length === 5 ? FIELDS.slice(1) : FIELDS;
  parts.forEach((part, i) => {
    if (!FIELD_CHARS.test(part)) {
      const info = infos[i]!;
      throw new InvalidCronError(
        `${field}.${info.key}`,
        `the ${info.label} field "${part}" has characters cron does not use in "${expression}": use ${info.accepts}, with * , - / only`,
      );
    }
  });
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

/** Whether the calendar day containing wall ms `dayStart` matches month, day-of-month and day-of-week. */
export function matchesDay(cron: CronFields, dayStart: number): boolean {
  const date = new Date(dayStart);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  const day = date.getUTCDate();
  return cron.months.has(month) && matchesDayOfMonth(cron.daysOfMonth, year, month, day) && matchesDayOfWeek(cron.daysOfWeek, year, month, day, date.getUTCDay());
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
