import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { firesBetween, HORIZON_MS, nextFire } from '../src/scheduler/next-fire.js';
import { fireRule } from '../src/scheduler/spec.js';
import { freePort } from './helpers/redis-server.js';
import { eventually, runCli, SupervisorProcess } from './helpers/supervisor-process.js';
import { usePrivateRedis } from './helpers/fixture.js';

const fx = usePrivateRedis();
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-schedule-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const troupe = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { TROUPE_REDIS_URL: fx.redis.url, TROUPE_HTTP_PORT: '0', ...env });
const add = ['schedule', 'add'];
const nextFires = (cron: string, timezone: string, from: number, until: number) => firesBetween(fireRule({ cron, timezone }), from, until, 100);

describe('troupe schedule', () => {
  test('add, list with next fire times, show, pause, resume, remove', async () => {
    const added = await troupe([...add, 'nightly', '--daily', '02:30', '--tz', 'America/New_York', '--queue', 'default', '--processor', 'echo', '--data', '{"n":1}', '--missed', 'run-once']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^added schedule nightly: daily at 02:30 \("30 2 \* \* \*"\) America\/New_York → queue default, processor echo\nnext fire \d{4}-\d\d-\d\d 02:30:00 E[SD]T \(in /);
    const again = await troupe([...add, 'nightly', '--daily', '02:30', '--tz', 'America/New_York', '--queue', 'default', '--processor', 'echo', '--data', '{"n":1}', '--missed', 'run-once']);
    assert.equal(again.code, 0, 'an identical add is a no-op, so scripts can re-run it');
    assert.match(again.stdout, /^unchanged: schedule nightly/);
    assert.equal((await troupe([...add, 'tick', '--cron', '*/5 * * * * *', '--queue', 'q', '--processor', 'noop', '--options', '{"attempts":1}'])).code, 0);

    const list = await troupe(['schedule', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+WHEN\s+TIME ZONE\s+QUEUE\s+PROCESSOR\s+MISSED\s+STATE\s+NEXT FIRE\s+LAST FIRE\s+SOURCE$/);
    assert.match(lines[1]!, /^nightly\s+daily at 02:30\s+America\/New_York\s+default\s+echo\s+run-once\s+active\s+\d{4}-\d\d-\d\d 02:30:00 E[SD]T \(in .*\)\s+-\s+cli$/);
    assert.match(lines[2]!, /^tick\s+\*\/5 \* \* \* \* \*\s+UTC\s+q\s+noop\s+skip\s+active/);

    const before = Date.now();
    const json = JSON.parse((await troupe(['schedule', 'list', '--json'])).stdout) as { schedules: Array<Record<string, unknown>> };
    const nightly = json.schedules.find((s) => s.name === 'nightly')!;
    assert.deepEqual([nightly.cron, nightly.timezone, nightly.data, nightly.missed, nightly.paused, nightly.source], ['30 2 * * *', 'America/New_York', { n: 1 }, 'run-once', false, 'cli']);
    const expected = nextFire(fireRule({ cron: '30 2 * * *', timezone: 'America/New_York' }), before);
    assert.equal(nightly.next, new Date(expected!).toISOString(), 'list agrees with the next-fire computation');

    const show = await troupe(['schedule', 'show', 'nightly', '--next', '3']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /when\s+daily at 02:30 \(30 2 \* \* \*\)/);
    assert.equal(show.stdout.match(/02:30:00 E[SD]T {2}\d{4}-\d\d-\d\dT0[67]:30:00\.000Z/g)?.length, 3);

    assert.match((await troupe(['schedule', 'pause', 'nightly'])).stdout, /schedule nightly is now paused/);
    assert.match((await troupe(['schedule', 'pause', 'nightly'])).stdout, /was already paused/);
    assert.match((await troupe(['schedule', 'list'])).stdout, /nightly .* paused\s+-\s+-\s+cli/);
    assert.match((await troupe(['schedule', 'resume', 'nightly'])).stdout, /schedule nightly is now active/);
    assert.deepEqual(JSON.parse((await troupe(['schedule', 'remove', 'tick', '--json'])).stdout), { name: 'tick', removed: true });
    assert.deepEqual((JSON.parse((await troupe(['schedule', 'list', '--json'])).stdout) as { schedules: Array<{ name: string }> }).schedules.map((s) => s.name), ['nightly']);
  });

  test('usage errors exit 2 and name the flag and the field; nothing is written', async () => {
    const base = ['bad', '--queue', 'q', '--processor', 'echo'];
    const cases: Array<[string[], RegExp]> = [
      [['--cron', '61 * * * *'], /--cron: the minute field "61" is not valid in "61 \* \* \* \*": use 0-59/],
      [['--cron', '0 0 * 13 *'], /--cron: the month field "13"/],
      [['--cron', '* * *'], /--cron: "\* \* \*" has 3 fields/],
      [['--cron', '* * * * *', '--tz', 'Mars/Olympus'], /--tz: "Mars\/Olympus" is not a time zone/],
      [['--cron', '* * * * *', '--data', '{x'], /--data is not valid JSON .* e\.g\. --data '\{"n":1\}'/],
      [['--cron', '* * * * *', '--missed', 'always'], /Invalid values:\n\s+Argument: missed, Given: "always", Choices: "skip", "run-once"/],
      [['--cron', '* * * * *', '--daily', '02:30'], /--daily: give one timing only; this schedule has cron and daily/],
      [['--cron', '* * * * *', '--options', '{"jobId":"x"}'], /--options \(options\.jobId\): cannot be set on a schedule/],
      [['--weekly', 'caturday 09:00'], /--weekly: the day "caturday" is not a weekday/],
      [[], /--cron: a schedule needs its timing/],
    ];
    for (const [extra, message] of cases) {
      const run = await troupe([...add, ...base, ...extra]);
      assert.equal(run.code, 2, `${extra.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    const queue = await troupe([...add, 'bad', '--cron', '* * * * *', '--queue', 'a b', '--processor', 'echo']);
    assert.equal(queue.code, 2);
    assert.match(queue.stderr, /--queue: "a b" is not a valid queue name/);
    const missing = await troupe([...add, 'bad', '--cron', '* * * * *']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /schedule add needs --queue and --processor/);
    assert.equal(await fx.client.exists('troupe:{schedules}:schedule:bad'), 0);
  });

  test('a schedule on any queue (*) is printed as what it means, not as a queue called "*"', async () => {
    const added = await troupe([...add, 'sweep', '--daily', '03:00', '--queue', '*', '--processor', 'maintenance']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /→ queue any \(\*\): the first queue of the supervisor that fires it, processor maintenance/);
    const list = await troupe(['schedule', 'list']);
    assert.match(list.stdout, /^sweep\s+daily at 03:00\s+UTC\s+any \(\*\)\s+maintenance/m);
    assert.match(list.stdout, /^QUEUE any \(\*\): each fire goes to the first queue of the supervisor that fires it$/m);
    const show = await troupe(['schedule', 'show', 'sweep', '--next', '1']);
    assert.match(show.stdout, /queue\s+any \(\*\): the first queue of the supervisor that fires it\n/);
    assert.equal((JSON.parse((await troupe(['schedule', 'show', 'sweep', '--json'])).stdout) as { queue: string }).queue, '*', 'JSON keeps the stored value');
    assert.equal((await troupe(['schedule', 'remove', 'sweep'])).code, 0);
  });

  test('show --next N says why it lists fewer fires than asked (the 30-year search); zone names are printed as given', async () => {
    const added = await troupe([...add, 'leap', '--cron', '0 12 29 2 *', '--tz', 'Europe/Kyiv', '--queue', 'q', '--processor', 'noop']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /cron "0 12 29 2 \*" Europe\/Kyiv → queue q/);
    // Leap days in the next 30 years: 7 or 8, whatever today is.
    const now = Date.now();
    const horizon = now + HORIZON_MS;
    const expected = nextFires('0 12 29 2 *', 'Europe/Kyiv', now, horizon);
    assert.ok(expected.length >= 7 && expected.length <= 8);
    const show = await troupe(['schedule', 'show', 'leap', '--next', '10']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /time zone\s+Europe\/Kyiv\n/);
    assert.equal(show.stdout.match(/-02-29 12:00:00 /g)?.length, expected.length);
    assert.match(show.stdout, new RegExp(`only ${expected.length} of the 10 fires asked for: this schedule fires ${expected.length} times in the next 30 years \\(until \\d{4}-\\d\\d-\\d\\d\\), as far ahead as fire times are searched\\n$`));
    const json = JSON.parse((await troupe(['schedule', 'show', 'leap', '--next', '10', '--json'])).stdout) as { timezone: string; nextFires: string[]; searchedUntil: string };
    assert.deepEqual([json.timezone, json.nextFires.length], ['Europe/Kyiv', expected.length]);
    assert.ok(Math.abs(Date.parse(json.searchedUntil) - horizon) < 60_000);
    const enough = await troupe(['schedule', 'show', 'leap', '--next', '3']);
    assert.doesNotMatch(enough.stdout, /only \d+ of/, 'no note when every fire asked for is listed');
    assert.match((await troupe(['schedule', 'list'])).stdout, /^leap\s+0 12 29 2 \*\s+Europe\/Kyiv\s/m);
    assert.equal((await troupe(['schedule', 'remove', 'leap'])).code, 0);
  });

  test('runtime errors exit 1: unknown schedule, a different one already there, no Redis', async () => {
    const removed = await troupe(['schedule', 'remove', 'ghost']);
    assert.equal(removed.code, 1);
    assert.match(removed.stderr, /no schedule named "ghost"/);
    assert.equal((await troupe(['schedule', 'pause', 'ghost'])).code, 1);
    assert.equal((await troupe([...add, 'taken', '--hourly', '5', '--queue', 'q', '--processor', 'echo'])).code, 0);
    const clash = await troupe([...add, 'taken', '--hourly', '6', '--queue', 'q', '--processor', 'echo']);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /a different schedule named "taken" already exists; .*--replace/);
    const replaced = await troupe([...add, 'taken', '--hourly', '6', '--queue', 'q', '--processor', 'echo', '--replace']);
    assert.match(replaced.stdout, /^replaced schedule taken: hourly at :06/);
    const closed = await troupe(['schedule', 'list'], { TROUPE_REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /cannot reach Redis/);
  });
});

describe('schedules from the config file', () => {
  test('a supervisor writes them at start (and the built-in maintenance schedule); --no-scheduler writes nothing', async () => {
    await fx.client.flushall();
    const off = new SupervisorProcess(['--queues', 'cfg', '--threads', '1', '--no-scheduler'], { TROUPE_REDIS_URL: fx.redis.url, TROUPE_HTTP_PORT: '0' });
    fx.cleanup(() => off.kill());
    await off.started();
    assert.deepEqual(await fx.client.keys('troupe:{schedules}:*'), []);
    off.child.kill('SIGTERM');
    assert.equal(await off.exited, 0);

    const file = join(dir, 'troupe.json');
    writeFileSync(file, JSON.stringify({
      queues: ['cfg'],
      schedules: [{ name: 'weekly-report', weekly: 'mon 09:00', timezone: 'Europe/Berlin', queue: 'cfg', processor: 'echo', data: { report: true } }],
    }));
    const s = new SupervisorProcess(['--config', file, '--threads', '1'], { TROUPE_REDIS_URL: fx.redis.url, TROUPE_HTTP_PORT: '0' });
    fx.cleanup(() => s.kill());
    await s.started();
    await s.waitForLog((l) => l.msg === 'schedule created from config' && l.schedule === 'weekly-report');
    const listed = await eventually(async () => {
      const json = JSON.parse((await troupe(['schedule', 'list', '--json'])).stdout) as { schedules: Array<Record<string, unknown>> };
      return json.schedules.length === 2 ? json.schedules : undefined;
    }, 5000, 'two schedules');
    assert.deepEqual(listed.map((x) => [x.name, x.when, x.timezone, x.queue, x.source]), [
      ['maintenance', 'daily at 03:00', 'UTC', '*', 'builtin'],
      ['weekly-report', 'weekly on mon at 09:00', 'Europe/Berlin', 'cfg', 'config'],
    ]);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
  });

  test('a bad schedule in the config file stops the start with exit 2, naming the entry and field', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ schedules: [{ name: 'x', cron: '0 99 * * *', queue: 'q', processor: 'echo' }] }));
    const run = await troupe(['supervise', '--config', file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /schedules\[0\]\.cron\.hour: the hour field "99" is not valid .* \(from "schedules" in .*bad\.json\)/);
  });
});
