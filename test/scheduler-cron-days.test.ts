/**
 * Day-of-month and day-of-week combine as crontab combines them (issue 15 item 7): Vixie cron's
 * rule, kept by cronie and croniter. A day field whose text starts with `*` is unrestricted;
 * with one unrestricted field a day must match both (so the other field alone decides), with
 * neither a day matches if either field does. The expected fires below are calendar facts of
 * 2024-2025 (1 January 2024 is a Monday), worked out by hand from that rule, not by the code.
 * No Redis: pure computation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCron } from '../src/scheduler/cron.js';
import { firesBetween } from '../src/scheduler/next-fire.js';
import { fireRule, validateSchedule } from '../src/scheduler/spec.js';

const FROM = Date.UTC(2024, 0, 1) - 1000;

/** The first `count` fire dates (UTC, YYYY-MM-DD) from 1 January 2024 on. */
function firstDays(cron: string, count: number): string[] {
  const rule = fireRule(validateSchedule({ name: 't', cron, queue: 'q', processor: 'p' }));
  return firesBetween(rule, FROM, Date.UTC(2030, 0, 1), count).map((t) => new Date(t).toISOString().slice(0, 10));
}

const jan = (...days: number[]) => days.map((d) => `2024-01-${String(d).padStart(2, '0')}`);
const feb = (...days: number[]) => days.map((d) => `2024-02-${String(d).padStart(2, '0')}`);

// expression, both day fields restricted (so: either matches), the first fires
const TABLE: Array<[string, boolean, string[]]> = [
  // The case: the 1st to 7th of every month, and every Monday.
  ['0 0 1-7 * 1', true, [...jan(1, 2, 3, 4, 5, 6, 7, 8, 15, 22, 29), ...feb(1, 2, 3, 4, 5, 6, 7, 12)]],
  // The same with a seconds field.
  ['0 0 0 1-7 * 1', true, [...jan(1, 2, 3, 4, 5, 6, 7, 8, 15, 22, 29), ...feb(1)]],
  // One day field restricted: it alone decides, as before.
  ['0 0 * * 1', false, [...jan(1, 8, 15, 22, 29), ...feb(5)]],
  ['0 0 1 * *', false, ['2024-01-01', '2024-02-01', '2024-03-01', '2024-04-01']],
  ['0 0 ? * 1', false, [...jan(1, 8, 15)]],
  // Friday the 13th in crontab is every 13th and every Friday.
  ['0 0 13 * 5', true, [...jan(5, 12, 13, 19, 26), ...feb(2, 9, 13)]],
  // Names and the L token follow the same rule: the last day of the month, and every Friday.
  ['0 0 L * fri', true, [...jan(5, 12, 19, 26, 31), ...feb(2, 9, 16, 23, 29)]],
  // A step over * starts with *: unrestricted (Vixie and cronie), so both must match: odd days that are Mondays.
  ['0 0 */2 * 1', false, [...jan(1, 15, 29), ...feb(5, 19), '2024-03-11']],
  // ... and the 1st when it is a Sunday, Tuesday, Thursday or Saturday.
  ['0 0 1 * */2', false, ['2024-02-01', '2024-06-01', '2024-08-01', '2024-09-01', '2024-10-01', '2024-12-01']],
  // The first character decides, as in Vixie's parser: "*,10" is unrestricted (Tuesdays only) ...
  ['0 0 *,10 * 2', false, [...jan(2, 9, 16)]],
  // ... while "10,*" is restricted, and its days cover the month: every day.
  ['0 0 10,* * 2', true, [...jan(1, 2, 3, 4)]],
  // A day that no named month has still leaves its weekdays: every Monday in February.
  ['0 0 30 2 1', true, [...feb(5, 12, 19, 26), '2025-02-03']],
  // Nicknames have a * day field.
  ['@weekly', false, [...jan(7, 14, 21)]],
  ['@monthly', false, ['2024-01-01', '2024-02-01', '2024-03-01']],
];

describe('day-of-month and day-of-week: either matches when both are restricted (crontab), both otherwise', () => {
  for (const [cron, either, expected] of TABLE) {
    test(cron, () => {
      assert.equal(parseCron(cron).daysEither, either, 'restricted fields, by the first character of each');
      assert.deepEqual(firstDays(cron, expected.length), expected);
    });
  }

  test('a schedule that never fires under either rule is still refused', () => {
    assert.throws(() => validateSchedule({ name: 't', cron: '0 0 30 2 *', queue: 'q', processor: 'p' }), /never fires/);
  });
});
