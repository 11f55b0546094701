import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCron } from '../src/scheduler/cron.js';
import { InvalidCronError, ScheduleErrorCode, ScheduleValidationError, UnknownTimezoneError } from '../src/scheduler/errors.js';
import { firesBetween } from '../src/scheduler/next-fire.js';
import { dailyAt, everyMinute, fireJobId, fireRule, hourlyAt, restoreSchedule, validateSchedule, validateScheduleList, weeklyOn } from '../src/scheduler/spec.js';
import { declaredSchedules, maintenanceSchedule } from '../src/scheduler/service.js';
import { ConfigError, defaultConfig, resolveConfig, type Layer } from '../src/supervisor/config.js';

const base = { name: 'nightly', queue: 'default', processor: 'echo' };

function rejects(input: Record<string, unknown>, field: string, code: string, message: RegExp): void {
  assert.throws(
    () => validateSchedule({ ...base, ...input }),
    (err: unknown) => {
      assert.ok(err instanceof ScheduleValidationError, `a ScheduleValidationError, got ${String(err)}`);
      assert.equal(err.field, field);
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`${field}: `), 'the message starts with the field');
      return true;
    },
  );
}

describe('invalid cron expressions name the bad field and the accepted values', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['61 * * * *', 'cron.minute', /minute field "61".*0-59/],
    ['0 24 * * *', 'cron.hour', /hour field "24".*0-23/],
    ['0 0 32 * *', 'cron.dayOfMonth', /day-of-month field "32".*1-31/],
    ['0 0 1 13 *', 'cron.month', /month field "13".*1-12 or jan-dec/],
    ['0 0 * * 8', 'cron.dayOfWeek', /day-of-week field "8".*0-7/],
    ['*/0 * * * *', 'cron.minute', /minute field "\*\/0"/],
    ['60 * * * * *', 'cron.second', /second field "60".*0-59/],
    ['0 1;2 * * *', 'cron.hour', /hour field "1;2" has characters cron does not use/],
    ['0 0 * * mon-funday', 'cron.dayOfWeek', /day-of-week field/],
    ['* * * *', 'cron', /has 4 fields; a cron expression has 5 fields .* or 6/],
    ['* * * * * * *', 'cron', /has 7 fields/],
    ['@fortnightly', 'cron', /not a cron nickname; use one of @yearly/],
    ['', 'cron', /must be a cron expression such as "30 2 \* \* \*"/],
    ['0 0 30 2 *', 'cron.dayOfMonth', /never fires: no month it names has day 30/],
    ['0 0 L-29 2 *', 'cron', /never fires in the next 30 years/],
    // A range end outside the field is refused whatever values the range yields (crontab and
    // cron-parser refuse both; node-cron took the first, whose steps stop at 56).
    ['1-60/5 * * * *', 'cron.minute', /minute field "1-60\/5" is not valid .*: 60 is outside 0-59, and both ends of a range must be in it, e\.g\. 1-59\/5 \(every 5 minutes from 1\)/],
    ['0-60/10 * * * *', 'cron.minute', /minute field "0-60\/10" .*: 60 is outside 0-59, .* e\.g\. 0-59\/10/],
    ['0 0 5-32/10 * *', 'cron.dayOfMonth', /day-of-month field "5-32\/10" .*: 32 is outside 1-31/],
    ['0 0 * * 1-8/3', 'cron.dayOfWeek', /day-of-week field "1-8\/3" .*: 8 is outside 0-7/],
    ['0 0 * 0-12 *', 'cron.month', /month field "0-12" .*: 0 is outside 1-12, .* e\.g\. 1-12$/],
    ['0-60/30 * * * * *', 'cron.second', /second field "0-60\/30" .*: 60 is outside 0-59/],
    ['0 20-24 * * *', 'cron.hour', /hour field "20-24" .*: 24 is outside 0-23/],
  ];
  for (const [cron, field, message] of cases) {
    test(JSON.stringify(cron), () => {
      rejects({ cron }, field, ScheduleErrorCode.InvalidCron, message);
      // "Never fires" is a property of the whole schedule (its zone and the horizon), not of the syntax.
      if (!String(message).includes('next 30 years')) assert.throws(() => parseCron(cron), InvalidCronError);
    });
  }
});

test('ranges inside the field are taken, steps and wrap-arounds too', () => {
  for (const cron of ['1-59/5 * * * *', '0-59/10 * * * *', '0 22-2 * * *', '0 0 * * 7-1', '0 0 1-31/2 * *', '0 0 * 1-12/3 *', '*/61 * * * *']) parseCron(cron);
  assert.deepEqual(parseCron('1-59/5 * * * *').minutes, [1, 6, 11, 16, 21, 26, 31, 36, 41, 46, 51, 56]);
});

describe('other bad input: a typed error naming the field and the fix', () => {
  test('unknown time zone, with a suggestion', () => {
    rejects({ cron: '* * * * *', timezone: 'Mars/Olympus' }, 'timezone', ScheduleErrorCode.UnknownTimezone, /not a time zone this Node knows; use an IANA name/);
    rejects({ cron: '* * * * *', timezone: 'new_york' }, 'timezone', ScheduleErrorCode.UnknownTimezone, /did you mean "America\/New_York"/);
    assert.throws(() => validateSchedule({ ...base, cron: '* * * * *', timezone: 'Nowhere' }), UnknownTimezoneError);
  });

  test('bad missed-fire policy', () => {
    rejects({ cron: '* * * * *', missed: 'always' }, 'missed', ScheduleErrorCode.InvalidSchedule, /must be "skip" .* or "run-once"/);
  });

  test('queue name outside the pattern', () => {
    rejects({ cron: '* * * * *', queue: 'my queue' }, 'queue', ScheduleErrorCode.InvalidSchedule, /not a valid queue name: use 1-128 letters, digits, or _ \. : -/);
    rejects({ cron: '* * * * *', queue: 'a{b}' }, 'queue', ScheduleErrorCode.InvalidSchedule, /no braces/);
  });

  test('data that JSON cannot carry', () => {
    rejects({ cron: '* * * * *', data: { n: Number.NaN } }, 'data.n', ScheduleErrorCode.InvalidSchedule, /NaN, which JSON cannot carry/);
    rejects({ cron: '* * * * *', data: Buffer.from('pdf') }, 'data', ScheduleErrorCode.InvalidSchedule, /must be JSON: schedules are stored as JSON/);
    rejects({ cron: '* * * * *', data: 'x'.repeat(70_000) }, 'data', ScheduleErrorCode.InvalidSchedule, /over the limit of 65536 bytes/);
  });

  test('name, processor, timing and options', () => {
    rejects({ cron: '* * * * *', name: 'a b' }, 'name', ScheduleErrorCode.InvalidSchedule, /1-100 letters/);
    rejects({ cron: '* * * * *', processor: '' }, 'processor', ScheduleErrorCode.InvalidSchedule, /must name the processor/);
    rejects({}, 'cron', ScheduleErrorCode.InvalidSchedule, /needs its timing: one of cron, everyMinute, hourly, daily, weekly/);
    rejects({ cron: '* * * * *', daily: '02:30' }, 'daily', ScheduleErrorCode.InvalidSchedule, /give one timing only; this schedule has cron and daily/);
    rejects({ daily: '25:00' }, 'daily', ScheduleErrorCode.InvalidSchedule, /24-hour time HH:MM/);
    rejects({ hourly: 60 }, 'hourly', ScheduleErrorCode.InvalidSchedule, /0 to 59/);
    rejects({ weekly: 'someday 09:00' }, 'weekly', ScheduleErrorCode.InvalidSchedule, /not a weekday/);
    rejects({ cron: '* * * * *', options: { jobId: 'x' } }, 'options.jobId', ScheduleErrorCode.InvalidSchedule, /each fire gets its own id/);
    rejects({ cron: '* * * * *', options: { attempts: 0 } }, 'options.attempts', ScheduleErrorCode.InvalidSchedule, /whole number from 1 to 1000/);
    rejects({ cron: '* * * * *', tz: 'UTC' }, 'tz', ScheduleErrorCode.InvalidSchedule, /unknown schedule setting; known settings are name, cron/);
  });

  test('a config list names the entry: schedules[1].cron.minute, and duplicate names', () => {
    const good = { ...base, daily: '02:30' };
    assert.throws(() => validateScheduleList([good, { ...base, name: 'b', cron: '99 * * * *' }]), (err: unknown) => {
      assert.ok(err instanceof InvalidCronError);
      assert.equal(err.field, 'schedules[1].cron.minute');
      return true;
    });
    assert.throws(() => validateScheduleList([good, good]), /schedules\[1\]\.name: "nightly" is used by two schedules/);
    assert.throws(() => validateScheduleList({}), /schedules: must be a list/);
  });

  test('the config file setting is checked when the config resolves (exit 2 with the path)', () => {
    const layer = (values: Record<string, unknown>): Layer => ({ source: 'file', values, describe: (k) => `"${k}" in troupe.json` });
    assert.throws(() => resolveConfig([layer({ schedules: [{ ...base, cron: '0 0 * * 9' }] })]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message.split(':')[0], 'schedules[0].cron.dayOfWeek');
      assert.match(err.message, /\(from "schedules" in troupe\.json\)$/);
      return true;
    });
    const { config } = resolveConfig([layer({ schedules: JSON.stringify([{ ...base, weekly: 'fri 17:00' }]), scheduler: 'false' })]);
    assert.equal(config.scheduler, false);
    assert.equal(config.schedules[0]!.cron, '0 17 * * 5');
    assert.equal(defaultConfig().scheduler, true);
  });
});

describe('helpers and normalised schedules', () => {
  test('every minute, hourly at M, daily at H:M, weekly on D at H:M', () => {
    assert.equal(everyMinute(), '* * * * *');
    assert.equal(hourlyAt(5), '5 * * * *');
    assert.equal(dailyAt('02:30'), '30 2 * * *');
    assert.equal(dailyAt('7:05'), '5 7 * * *');
    assert.equal(weeklyOn('mon', '09:00'), '0 9 * * 1');
    assert.equal(weeklyOn('Sunday', '23:59'), '59 23 * * 0');
    assert.equal(weeklyOn(7, '00:00'), '0 0 * * 0');
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ everyMinute: true }, '* * * * *', 'every minute'],
      [{ hourly: 5 }, '5 * * * *', 'hourly at :05'],
      [{ daily: '2:30' }, '30 2 * * *', 'daily at 02:30'],
      [{ weekly: 'FRI 17:00' }, '0 17 * * 5', 'weekly on fri at 17:00'],
      [{ cron: '  */5   * * * * * ' }, '*/5 * * * * *', '*/5 * * * * *'],
      [{ cron: '@daily' }, '@daily', '@daily'],
    ];
    for (const [timing, cron, when] of cases) {
      const s = validateSchedule({ ...base, ...timing });
      assert.deepEqual([s.cron, s.when], [cron, when], JSON.stringify(timing));
    }
  });

  test('defaults: UTC, skip, null data; a zone\'s letter case is put right', () => {
    const s = validateSchedule({ ...base, daily: '02:30' });
    assert.deepEqual(s, { name: 'nightly', cron: '30 2 * * *', when: 'daily at 02:30', timezone: 'UTC', queue: 'default', processor: 'echo', data: null, options: {}, missed: 'skip' });
    assert.equal(validateSchedule({ ...base, daily: '02:30', timezone: 'america/new_york' }).timezone, 'America/New_York');
    assert.equal(validateSchedule({ ...base, daily: '02:30', timezone: 'utc' }).timezone, 'UTC');
  });

  test('a zone keeps the name the user gave, not the older alias Intl answers with; its fires are the alias\'s', () => {
    // Node 20's ICU answers each of these with the older name (Kiev, Calcutta, Katmandu, Saigon, US/Eastern's America/New_York).
    for (const [given, alias] of [['Europe/Kyiv', 'Europe/Kiev'], ['Asia/Kolkata', 'Asia/Calcutta'], ['Asia/Kathmandu', 'Asia/Katmandu'], ['Asia/Ho_Chi_Minh', 'Asia/Saigon'], ['US/Eastern', 'America/New_York']] as const) {
      const mine = validateSchedule({ ...base, daily: '02:30', timezone: given });
      assert.equal(mine.timezone, given);
      assert.equal(restoreSchedule(JSON.parse(JSON.stringify(mine))).timezone, given, 'read back from Redis unchanged');
      const theirs = validateSchedule({ ...base, daily: '02:30', timezone: alias });
      assert.equal(theirs.timezone, alias, 'the old name is kept too');
      const from = Date.UTC(2024, 0, 1);
      assert.deepEqual(firesBetween(fireRule(mine), from, from + 400 * 86_400_000), firesBetween(fireRule(theirs), from, from + 400 * 86_400_000), `${given} fires as ${alias}`);
    }
  });

  test('a fire\'s job id is the name and the nominal fire time', () => {
    assert.equal(fireJobId('nightly', Date.UTC(2024, 2, 10, 7)), 'nightly@2024-03-10T07:00:00Z');
  });

  test('the built-in maintenance schedule: daily 03:00 UTC on any queue (the claimer\'s first), unless the config names one', () => {
    assert.deepEqual(maintenanceSchedule(), {
      name: 'maintenance', cron: '0 3 * * *', when: 'daily at 03:00', timezone: 'UTC', queue: '*', processor: 'maintenance', data: {}, options: { attempts: 2 }, missed: 'run-once',
    });
    const declared = declaredSchedules({ schedules: [] });
    assert.deepEqual(declared.map((d) => [d.schedule.name, d.schedule.queue, d.source, d.mode]), [['maintenance', '*', 'builtin', 'ensure']]);
    const own = validateSchedule({ name: 'maintenance', weekly: 'sun 04:00', queue: 'mail', processor: 'maintenance' });
    assert.deepEqual(declaredSchedules({ schedules: [own] }).map((d) => [d.schedule.when, d.source, d.mode]), [['weekly on sun at 04:00', 'config', 'sync']]);
  });
});
