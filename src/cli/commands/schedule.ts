import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ScheduleNotFoundError, ScheduleValidationError } from '../../scheduler/errors.js';
import { firesBetween, HORIZON_MS, nextFire } from '../../scheduler/next-fire.js';
import { ANY_QUEUE, fireRule, MISSED_POLICIES, validateSchedule, type MissedPolicy, type Schedule } from '../../scheduler/spec.js';
import { ScheduleStore, type StoredSchedule } from '../../scheduler/store.js';
import { UsageError } from '../exit.js';
import { describeValue, formatAge, formatFields, formatTable, print, printJson, type JsonArgs } from '../output.js';
import { withAdminOptions, withRedis, wholeNumberFlag, type RedisArgs } from '../redis-option.js';

interface ScheduleArgs extends RedisArgs, JsonArgs {
  name: string;
  cron?: string;
  everyMinute?: boolean;
  hourly?: number;
  daily?: string;
  weekly?: string;
  queue?: string;
  processor?: string;
  data?: string;
  options?: string;
  tz?: string;
  missed?: MissedPolicy;
  replace?: boolean;
  next?: number;
}

/** Schedule fields as people typed them on this command line, for error messages. */
const FLAGS: Record<string, string> = {
  name: 'NAME', cron: '--cron', everyMinute: '--every-minute', hourly: '--hourly', daily: '--daily', weekly: '--weekly',
  timezone: '--tz', queue: '--queue', processor: '--processor', data: '--data', options: '--options', missed: '--missed',
};

/** A validation error names a schedule field; say which flag that was, keep the rest of the path (cron.minute). */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ScheduleValidationError)) throw err;
    const [head, ...rest] = err.field.split('.');
    const flag = FLAGS[head!] ?? head!;
    // A cron message names its field already ("the minute field ..."); an option's path is kept.
    const where = rest.length > 0 && head !== 'cron' ? `${flag} (${err.field})` : flag;
    throw new UsageError(`${where}: ${err.detail}`);
  }
}

function parseJsonFlag(flag: string, text: string | undefined, example: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON (${err instanceof Error ? err.message : String(err)}); quote it for the shell, e.g. ${flag} '${example}'`);
  }
}

/** Everything is checked before connecting: a usage error never reaches Redis. */
function scheduleFromArgs(argv: ScheduleArgs): Schedule {
  const missing = (['queue', 'processor'] as const).filter((k) => argv[k] === undefined);
  if (missing.length > 0) throw new UsageError(`schedule add needs ${missing.map((k) => `--${k}`).join(' and ')}, e.g. --queue default --processor echo`);
  const input: Record<string, unknown> = {
    name: argv.name,
    queue: argv.queue,
    processor: argv.processor,
    cron: argv.cron,
    everyMinute: argv.everyMinute || undefined,
    hourly: argv.hourly,
    daily: argv.daily,
    weekly: argv.weekly,
    timezone: argv.tz,
    missed: argv.missed,
    data: parseJsonFlag('--data', argv.data, '{"n":1}'),
    options: parseJsonFlag('--options', argv.options, '{"attempts":5,"priority":"high"}'),
  };
  for (const key of Object.keys(input)) if (input[key] === undefined) delete input[key];
  return asUsage(() => validateSchedule(input));
}

/** "2024-03-10 03:00:00 EDT": the schedule's own zone, as people there read their clocks. */
export function formatInZone(at: number, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
    }).formatToParts(at).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

function nextOf(s: StoredSchedule, now: number): number | null {
  return s.paused ? null : nextFire(fireRule(s), now);
}

/** "*" names no queue: say what it means wherever a schedule is printed for people. */
export function describeQueue(queue: string, form: 'long' | 'short' = 'long'): string {
  if (queue !== ANY_QUEUE) return queue;
  return form === 'long' ? 'any (*): the first queue of the supervisor that fires it' : 'any (*)';
}

function summary(s: Schedule): string {
  const when = s.when === s.cron ? `cron "${s.cron}"` : `${s.when} ("${s.cron}")`;
  return `${when} ${s.timezone} → queue ${describeQueue(s.queue)}, processor ${s.processor}`;
}

function asJson(s: StoredSchedule, now: number) {
  const next = nextOf(s, now);
  return {
    ...s,
    next: next === null ? null : new Date(next).toISOString(),
    nextLocal: next === null ? null : formatInZone(next, s.timezone),
    lastFire: s.lastFire === undefined ? null : new Date(s.lastFire).toISOString(),
  };
}

function common(yargs: Argv, own: (y: Argv) => Argv = (y) => y): Argv<ScheduleArgs> {
  return withAdminOptions(own(yargs.positional('name', { type: 'string', describe: 'the schedule\'s name' }))) as unknown as Argv<ScheduleArgs>;
}

const add: CommandModule<object, ScheduleArgs> = {
  command: 'add <name>',
  describe: 'Add a schedule (every supervisor with the scheduler picks it up within a second)',
  builder: (yargs: Argv) =>
    common(yargs, (y) =>
      y
        .option('cron', { type: 'string', requiresArg: true, group: 'When (give one):', describe: 'cron expression: 5 fields, or 6 with seconds first ("*/5 * * * * *")' })
        .option('every-minute', { type: 'boolean', group: 'When (give one):', describe: 'every minute, at second 0' })
        .option('hourly', { type: 'number', requiresArg: true, group: 'When (give one):', describe: 'every hour at this minute past (0-59)' })
        .option('daily', { type: 'string', requiresArg: true, group: 'When (give one):', describe: 'every day at HH:MM (24-hour)' })
        .option('weekly', { type: 'string', requiresArg: true, group: 'When (give one):', describe: 'every week, "DAY HH:MM", e.g. "mon 09:00"' })
        .option('tz', { type: 'string', requiresArg: true, describe: 'IANA time zone the times are in (default UTC), e.g. Europe/Berlin' })
        .option('queue', { alias: 'q', type: 'string', requiresArg: true, describe: 'queue each fire\'s job goes to, or \'*\' (quoted) for the first queue of whichever supervisor fires it' })
        .option('processor', { alias: 'p', type: 'string', requiresArg: true, describe: 'processor that runs the job' })
        .option('data', { type: 'string', requiresArg: true, describe: 'the job\'s input as JSON text (default null)' })
        .option('options', { type: 'string', requiresArg: true, describe: 'job options as JSON, e.g. \'{"attempts":5,"priority":"high"}\'' })
        .option('missed', { choices: MISSED_POLICIES, requiresArg: true, describe: 'fires missed while no scheduler ran: skip them (default) or run the latest once at start' })
        .option('replace', { type: 'boolean', describe: 'replace a schedule of the same name instead of refusing' }),
    ).example([
      ['$0 schedule add nightly --daily 02:30 --tz Europe/Berlin --queue default --processor echo', 'every day at 02:30 Berlin time'],
      ['$0 schedule add tick --cron "* * * * * *" --queue default --processor noop', 'every second'],
      ['$0 schedule add report --cron "0 9 * * 1-5" --queue mail --processor report --data \'{"to":"ops"}\' --missed run-once', 'weekdays at 09:00 UTC'],
    ]) as Argv<ScheduleArgs>,
  handler: async (argv: ArgumentsCamelCase<ScheduleArgs>) => {
    const schedule = scheduleFromArgs(argv);
    await withRedis(argv, async (client) => {
      const store = new ScheduleStore(client);
      const { status } = await store.save(schedule, 'cli', argv.replace ? 'replace' : 'create');
      const stored = (await store.get(schedule.name))!;
      const now = Date.now();
      if (argv.json) return printJson({ status, schedule: asJson(stored, now) });
      const next = nextOf(stored, now);
      const verb = status === 'unchanged' ? 'unchanged:' : status === 'updated' ? 'replaced' : 'added';
      print(`${verb} schedule ${schedule.name}: ${summary(schedule)}`);
      print(stored.paused ? 'it is paused; "troupe schedule resume" starts it' : `next fire ${next === null ? 'never' : `${formatInZone(next, schedule.timezone)} (${formatAge(next, now)})`}`);
    });
  },
};

const list: CommandModule<object, ScheduleArgs> = {
  command: 'list',
  describe: 'List schedules with their next fire times',
  builder: (yargs: Argv) =>
    withAdminOptions(yargs).example([
      ['$0 schedule list', 'a row per schedule: when, zone, queue, next and last fire'],
      ['$0 schedule list --json', 'every field, with next fire times in ISO form and in the schedule\'s zone'],
    ]) as unknown as Argv<ScheduleArgs>,
  handler: async (argv: ArgumentsCamelCase<ScheduleArgs>) => {
    await withRedis(argv, async (client) => {
      const now = Date.now();
      const { schedules, broken } = await new ScheduleStore(client).list();
      if (argv.json) return printJson({ schedules: schedules.map((s) => asJson(s, now)), broken });
      if (schedules.length === 0 && broken.length === 0) return print('no schedules (add one with "troupe schedule add NAME --cron EXPR --queue Q --processor P")');
      const rows = schedules.map((s) => {
        const next = nextOf(s, now);
        return [
          s.name, s.when, s.timezone, describeQueue(s.queue, 'short'), s.processor, s.missed, s.paused ? 'paused' : 'active',
          next === null ? '-' : `${formatInZone(next, s.timezone)} (${formatAge(next, now)})`,
          s.lastFire === undefined ? '-' : formatAge(s.lastFire, now),
          s.source,
        ];
      });
      print(formatTable(['NAME', 'WHEN', 'TIME ZONE', 'QUEUE', 'PROCESSOR', 'MISSED', 'STATE', 'NEXT FIRE', 'LAST FIRE', 'SOURCE'], rows));
      if (schedules.some((s) => s.queue === ANY_QUEUE)) print('QUEUE any (*): each fire goes to the first queue of the supervisor that fires it');
      for (const b of broken) print(`schedule ${b.name} is invalid and never fires: ${b.problem}`);
    });
  },
};

const show: CommandModule<object, ScheduleArgs> = {
  command: 'show <name>',
  describe: 'Show one schedule and its next fire times (check a daylight-saving day here)',
  builder: (yargs: Argv) =>
    common(yargs, (y) => y.option('next', { type: 'number', requiresArg: true, describe: 'how many next fire times to list (1-100, default 5), within the next 30 years' }))
      .example([['$0 schedule show nightly --next 10', 'the definition and the next 10 fire times, in the schedule\'s zone and UTC']]) as Argv<ScheduleArgs>,
  handler: async (argv: ArgumentsCamelCase<ScheduleArgs>) => {
    const count = wholeNumberFlag('--next', argv.next ?? 5, 1, 100);
    await withRedis(argv, async (client) => {
      const s = await new ScheduleStore(client).get(argv.name);
      if (!s) throw new ScheduleNotFoundError(argv.name);
      const now = Date.now();
      // Fires are looked for as far ahead as a schedule is checked to fire when written (30 years).
      const horizon = now + HORIZON_MS;
      const fires = s.paused ? [] : firesBetween(fireRule(s), now, horizon, count);
      const short = !s.paused && fires.length < count;
      if (argv.json) return printJson({ ...asJson(s, now), nextFires: fires.map((f) => new Date(f).toISOString()), searchedUntil: new Date(horizon).toISOString() });
      print(formatFields([
        ['name', s.name], ['when', s.when === s.cron ? s.cron : `${s.when} (${s.cron})`], ['time zone', s.timezone],
        ['queue', describeQueue(s.queue)], ['processor', s.processor], ['data', describeValue(s.data)], ['options', describeValue(s.options)],
        ['missed fires', s.missed], ['state', s.paused ? 'paused' : 'active'], ['source', s.source],
        ['last fire', s.lastFire === undefined ? '-' : `${formatInZone(s.lastFire, s.timezone)} (${formatAge(s.lastFire, now)})`],
        ['next fires', fires.length === 0 ? '-' : fires.map((f) => `${formatInZone(f, s.timezone)}  ${new Date(f).toISOString()}`).join('\n')],
      ]));
      if (short) {
        const years = Math.round(HORIZON_MS / (366 * 86_400_000));
        print(`only ${fires.length} of the ${count} fires asked for: this schedule fires ${fires.length} time${fires.length === 1 ? '' : 's'} in the next ${years} years (until ${new Date(horizon).toISOString().slice(0, 10)}), as far ahead as fire times are searched`);
      }
    });
  },
};

function stateCommand(verb: 'pause' | 'resume' | 'remove', describe: string, example: string): CommandModule<object, ScheduleArgs> {
  return {
    command: `${verb} <name>`,
    describe,
    builder: (yargs: Argv) => common(yargs).example([[`$0 schedule ${verb} nightly`, example]]) as Argv<ScheduleArgs>,
    handler: async (argv: ArgumentsCamelCase<ScheduleArgs>) => {
      await withRedis(argv, async (client) => {
        const store = new ScheduleStore(client);
        if (verb === 'remove') {
          if (!(await store.remove(argv.name))) throw new ScheduleNotFoundError(argv.name);
          return argv.json ? printJson({ name: argv.name, removed: true }) : print(`removed schedule ${argv.name}`);
        }
        const changed = await store.setPaused(argv.name, verb === 'pause');
        const state = verb === 'pause' ? 'paused' : 'active';
        if (argv.json) return printJson({ name: argv.name, state, changed });
        print(changed ? `schedule ${argv.name} is now ${state}` : `schedule ${argv.name} was already ${state}`);
      });
    },
  };
}

export const scheduleCommand: CommandModule<object, ScheduleArgs> = {
  command: 'schedule [command]',
  describe: 'Cron and recurring jobs: add, list, show, remove, pause, resume',
  builder: (yargs: Argv) =>
    yargs
      .command([
        add, list, show,
        stateCommand('remove', 'Delete a schedule (a config-file schedule comes back when a supervisor starts)', 'no more nightly jobs'),
        stateCommand('pause', 'Stop a schedule firing until it is resumed (missed fires are not made up)', 'hold the nightly jobs'),
        stateCommand('resume', 'Let a paused schedule fire again, from now on', 'fire nightly again'),
      ] as unknown as CommandModule[])
      .demandCommand(1, 'name a schedule command: add, list, show, remove, pause or resume')
      .example([
        ['$0 schedule add nightly --daily 02:30 --queue default --processor echo', 'a job every day at 02:30 UTC'],
        ['$0 schedule list', 'every schedule with its next fire'],
        ['$0 schedule pause nightly', 'stop it firing, on every supervisor'],
      ]) as unknown as Argv<ScheduleArgs>,
  handler: () => undefined,
};
