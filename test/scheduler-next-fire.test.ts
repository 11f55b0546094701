/**
 * Next fire times against an independent reference: step through real instants one at a time,
 * read each one's wall clock in the zone with Intl, ask node-cron whether it matches, and apply
 * the daylight-saving rules as they read from the outside (a jump in the wall clock skips wall
 * times; a wall time seen before is a repeat). The code under test walks wall time instead and
 * finds transitions by search, so the two share nothing but node-cron's parser.
 *
 * node-cron requires both day fields to match; crontab accepts either when neither starts with
 * `*` (docs/scheduling.md). The reference applies that rule from outside: such an expression
 * matches when node-cron matches it with the day-of-week made `*`, or with the day-of-month made `*`.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import cron from 'node-cron';
import { firesBetween, latestFireIn, nextFire } from '../src/scheduler/next-fire.js';
import { fireRule, validateSchedule } from '../src/scheduler/spec.js';

const tasks: Array<{ destroy(): void | Promise<void> }> = [];
after(async () => {
  for (const t of tasks) await t.destroy();
});

function nodeCronMatcher(expression: string, timezone: string): { match(date: Date): boolean } {
  const task = cron.createTask(expression, () => undefined, { timezone });
  tasks.push(task);
  return task;
}

/** crontab's day rule on top of node-cron's matching (see the header). */
function matcher(expression: string, timezone: string): { match(date: Date): boolean } {
  const fields = expression.split(' ');
  const [dom, dow] = fields.length === 6 ? [3, 5] : [2, 4];
  const restricted = (i: number) => fields.length >= 5 && !/^[*?]/.test(fields[i]!);
  if (!restricted(dom) || !restricted(dow)) return nodeCronMatcher(expression, timezone);
  const byMonthDay = nodeCronMatcher(fields.map((f, i) => (i === dow ? '*' : f)).join(' '), timezone);
  const byWeekday = nodeCronMatcher(fields.map((f, i) => (i === dom ? '*' : f)).join(' '), timezone);
  return { match: (date) => byMonthDay.match(date) || byWeekday.match(date) };
}

const formats = new Map<string, Intl.DateTimeFormat>();
/** The wall clock at instant t in the zone, as the UTC ms of the same fields. */
function wallAt(t: number, timezone: string): number {
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(timezone, f);
  }
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/** Fires in (from, to], by brute force over instants `step` apart. */
function reference(expression: string, timezone: string, from: number, to: number, step: number): number[] {
  const inZone = matcher(expression, timezone);
  // Matching a wall time that never shows as an instant: evaluate its fields in UTC.
  const onWall = matcher(expression, 'UTC');
  const everyHour = cron.parse(expression).hour.length === 24;
  const seen = new Set<number>();
  const fires: number[] = [];
  let previousWall: number | undefined;
  // Start three hours early, so walls shown before `from` count as seen.
  for (let t = Math.floor((from - 3 * 3_600_000) / step) * step; t <= to; t += step) {
    const wall = wallAt(t, timezone);
    let fire = false;
    if (previousWall !== undefined && wall - previousWall > step && !everyHour) {
      for (let w = previousWall + step; w < wall; w += step) if (onWall.match(new Date(w))) fire = true;
    }
    if (inZone.match(new Date(t)) && (everyHour || !seen.has(wall))) fire = true;
    seen.add(wall);
    previousWall = wall;
    if (fire && t > from) fires.push(t);
  }
  return fires;
}

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

// expression, zone, window start (UTC), window length, reference step
const TABLE: Array<[string, string, string, number, number]> = [
  ['30 2 * * *', 'America/New_York', '2024-03-08T00:00:00Z', 5 * DAY, MIN],
  ['30 1 * * *', 'America/New_York', '2024-11-01T00:00:00Z', 5 * DAY, MIN],
  ['*/15 * * * *', 'America/New_York', '2024-11-02T20:00:00Z', DAY, MIN],
  ['*/15 * * * *', 'America/New_York', '2024-03-09T20:00:00Z', DAY, MIN],
  ['0 * * * *', 'Europe/London', '2024-03-30T20:00:00Z', DAY, MIN],
  ['0 * * * *', 'Europe/London', '2024-10-26T20:00:00Z', DAY, MIN],
  ['15 2 * * *', 'Europe/Berlin', '2024-03-29T00:00:00Z', 4 * DAY, MIN],
  ['0 2,3 * * *', 'Europe/Berlin', '2024-03-29T00:00:00Z', 4 * DAY, MIN],
  ['30 2 * * 0', 'Europe/Berlin', '2024-10-20T00:00:00Z', 14 * DAY, MIN],
  ['*/20 2 * * *', 'Europe/Berlin', '2024-10-26T00:00:00Z', 2 * DAY, MIN],
  ['0 0 * * *', 'America/Santiago', '2024-09-05T00:00:00Z', 6 * DAY, MIN],
  ['0 0 * * *', 'America/Santiago', '2024-04-04T00:00:00Z', 6 * DAY, MIN],
  ['15 2 * * *', 'Australia/Lord_Howe', '2024-10-03T00:00:00Z', 5 * DAY, MIN],
  ['0 30 1 * * *', 'Australia/Lord_Howe', '2024-04-06T12:00:00Z', 12 * HOUR, 1000],
  ['0 30 2 * * *', 'America/New_York', '2024-03-10T05:00:00Z', 4 * HOUR, 1000],
  ['*/10 * * * * *', 'Europe/Berlin', '2024-10-27T00:00:00Z', 2 * HOUR, 1000],
  ['* * * * * *', 'America/New_York', '2024-11-03T05:58:00Z', 5 * MIN, 1000],
  ['0 9 * * 1-5', 'Asia/Tokyo', '2024-06-01T00:00:00Z', 10 * DAY, MIN],
  ['0 0 * * *', 'Asia/Kolkata', '2024-06-01T00:00:00Z', 5 * DAY, MIN],
  ['45 23 * * *', 'Pacific/Chatham', '2024-09-27T00:00:00Z', 5 * DAY, MIN],
  ['0 0 L * *', 'UTC', '2024-01-15T00:00:00Z', 120 * DAY, HOUR],
  ['0 12 15W,LW * *', 'UTC', '2024-01-01T00:00:00Z', 180 * DAY, HOUR],
  ['0 8 * * 5L', 'UTC', '2024-01-01T00:00:00Z', 120 * DAY, HOUR],
  ['0 8 * * 1#2', 'Europe/Paris', '2024-01-01T00:00:00Z', 120 * DAY, HOUR],
  ['0 0 29 2 *', 'UTC', '2023-01-01T00:00:00Z', 6 * 366 * DAY, HOUR],
  ['0 0 1 jan,jul sun-sat', 'UTC', '2024-01-01T00:00:00Z', 400 * DAY, HOUR],
  ['30 2 1-7 * 0', 'America/New_York', '2024-02-28T00:00:00Z', 14 * DAY, MIN],
  ['0 9 L * mon', 'Europe/London', '2024-03-20T00:00:00Z', 45 * DAY, HOUR],
  ['@weekly', 'America/Sao_Paulo', '2024-01-01T00:00:00Z', 60 * DAY, HOUR],
  ['0 22-2 * * *', 'Europe/Dublin', '2024-03-30T12:00:00Z', 3 * DAY, MIN],
];

describe('next fire times agree with a brute-force reference', () => {
  for (const [expression, timezone, start, length, step] of TABLE) {
    test(`${expression} in ${timezone} from ${start}`, () => {
      const rule = fireRule(validateSchedule({ name: 't', cron: expression, timezone, queue: 'q', processor: 'p' }));
      const from = Date.parse(start);
      const expected = reference(expression, timezone, from, from + length, step);
      assert.ok(expected.length > 0, 'the window holds fires');
      const actual = firesBetween(rule, from, from + length, 100_000);
      assert.deepEqual(actual.map((t) => new Date(t).toISOString()), expected.map((t) => new Date(t).toISOString()));
      // The latest fire up to any point is the reference's last one before it.
      for (const probe of [from + length / 3, from + length / 2, from + length]) {
        const last = expected.filter((t) => t <= probe).at(-1) ?? null;
        assert.equal(latestFireIn(rule, from, probe), last, `latest fire before ${new Date(probe).toISOString()}`);
      }
    });
  }
});

describe('daylight saving: what people expect of a 02:30 daily job', () => {
  const daily = (time: string, timezone: string) => fireRule(validateSchedule({ name: 't', daily: time, timezone, queue: 'q', processor: 'p' }));
  const iso = (fires: number[]) => fires.map((t) => new Date(t).toISOString());

  test('spring forward (New York, 10 March 2024): 02:30 does not exist, so the job runs once, at 03:00 EDT', () => {
    const fires = firesBetween(daily('02:30', 'America/New_York'), Date.parse('2024-03-09T00:00:00Z'), Date.parse('2024-03-12T00:00:00Z'));
    assert.deepEqual(iso(fires), ['2024-03-09T07:30:00.000Z', '2024-03-10T07:00:00.000Z', '2024-03-11T06:30:00.000Z']);
  });

  test('node-cron by itself would skip that day: nothing on 10 March matches 02:30', () => {
    const task = nodeCronMatcher('30 2 * * *', 'America/New_York');
    const day = Date.parse('2024-03-10T05:00:00Z');
    const matches = Array.from({ length: 24 * 60 }, (_, i) => day + i * MIN).filter((t) => task.match(new Date(t)));
    assert.deepEqual(matches, []);
  });

  test('fall back (New York, 3 November 2024): 01:30 happens twice, the job runs once, at the first', () => {
    const fires = firesBetween(daily('01:30', 'America/New_York'), Date.parse('2024-11-02T12:00:00Z'), Date.parse('2024-11-04T12:00:00Z'));
    assert.deepEqual(iso(fires), ['2024-11-03T05:30:00.000Z', '2024-11-04T06:30:00.000Z']);
  });

  test('interval schedules keep their real spacing: every 15 minutes through the repeated hour, none in the skipped one', () => {
    const every15 = fireRule(validateSchedule({ name: 't', cron: '*/15 * * * *', timezone: 'America/New_York', queue: 'q', processor: 'p' }));
    const fall = firesBetween(every15, Date.parse('2024-11-03T04:50:00Z'), Date.parse('2024-11-03T07:10:00Z'));
    assert.equal(fall.length, 9);
    assert.ok(fall.every((t, i) => i === 0 || t - fall[i - 1]! === 15 * MIN), 'evenly spaced across 01:00-01:59 twice');
    const spring = firesBetween(every15, Date.parse('2024-03-10T06:20:00Z'), Date.parse('2024-03-10T07:20:00Z'));
    assert.deepEqual(iso(spring), ['2024-03-10T06:30:00.000Z', '2024-03-10T06:45:00.000Z', '2024-03-10T07:00:00.000Z', '2024-03-10T07:15:00.000Z']);
  });

  test('a zone without DST, and UTC, are plain arithmetic', () => {
    assert.equal(nextFire(daily('02:30', 'UTC'), Date.parse('2024-03-10T02:30:00Z')), Date.parse('2024-03-11T02:30:00Z'));
    assert.equal(nextFire(daily('00:00', 'Asia/Kolkata'), Date.parse('2024-01-01T00:00:00Z')), Date.parse('2024-01-01T18:30:00Z'));
  });
});
