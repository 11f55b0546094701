import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { JobState } from '../../queue/keys.js';
import { assertCanConfirm, confirm, print, printJson, type JsonArgs } from '../output.js';
import { checkQueueName, withAdminOptions, withQueue, type RedisArgs } from '../redis-option.js';

/** Active jobs are held by running supervisors; deleting them under a supervisor is not offered. */
const CLEARABLE = ['pending', 'delayed', 'completed', 'dead'] as const satisfies readonly JobState[];
type Clearable = (typeof CLEARABLE)[number];

interface QueueAdminArgs extends RedisArgs, JsonArgs {
  queue: string;
  state?: Clearable;
  yes?: boolean;
}

/** The queue positional first, the shared flags last, whatever the subcommand adds between. */
function common(yargs: Argv, own: (y: Argv) => Argv = (y) => y): Argv<QueueAdminArgs> {
  return withAdminOptions(own(yargs.positional('queue', { type: 'string', describe: 'the queue name' }))) as unknown as Argv<QueueAdminArgs>;
}

const pause: CommandModule<object, QueueAdminArgs> = {
  command: 'pause <queue>',
  describe: 'Stop every supervisor from starting this queue\'s jobs (running jobs finish)',
  builder: (yargs: Argv) => common(yargs).example([['$0 queue pause pdf', 'hold the pdf queue; "troupe queue resume pdf" lets it go']]) as Argv<QueueAdminArgs>,
  handler: async (argv: ArgumentsCamelCase<QueueAdminArgs>) => {
    const name = checkQueueName(argv.queue, 'QUEUE');
    await withQueue(argv, name, async (queue) => {
      await queue.pause();
      if (argv.json) printJson({ queue: name, paused: true });
      else print(`paused queue ${name}: no new jobs start until "troupe queue resume ${name}"; running jobs finish`);
    });
  },
};

const resume: CommandModule<object, QueueAdminArgs> = {
  command: 'resume <queue>',
  describe: 'Let supervisors start this queue\'s jobs again (also lifts a resource pause)',
  builder: (yargs: Argv) => common(yargs).example([['$0 queue resume pdf', 'undo "troupe queue pause pdf", or end a processor\'s resource pause early']]) as Argv<QueueAdminArgs>,
  handler: async (argv: ArgumentsCamelCase<QueueAdminArgs>) => {
    const name = checkQueueName(argv.queue, 'QUEUE');
    await withQueue(argv, name, async (queue) => {
      await queue.resume();
      if (argv.json) printJson({ queue: name, paused: false });
      else print(`resumed queue ${name}`);
    });
  },
};

const empty: CommandModule<object, QueueAdminArgs> = {
  command: 'empty <queue>',
  describe: 'Delete the jobs waiting in a queue (pending and delayed; never active ones)',
  builder: (yargs: Argv) =>
    common(yargs, (y) =>
      y
        .option('state', {
          choices: CLEARABLE,
          requiresArg: true,
          describe: 'delete only the jobs in this state (default: pending and delayed); active jobs are never deleted',
        })
        .option('yes', { alias: 'y', type: 'boolean', describe: 'delete without asking (required when not on a terminal)' }),
    ).example([
      ['$0 queue empty pdf', 'shows how many jobs are waiting and asks before deleting them'],
      ['$0 queue empty pdf --state completed --yes', 'delete the kept completed jobs, without asking'],
    ]) as Argv<QueueAdminArgs>,
  handler: async (argv: ArgumentsCamelCase<QueueAdminArgs>) => {
    const name = checkQueueName(argv.queue, 'QUEUE');
    // Refuse before connecting: a script that forgot --yes must not get as far as Redis.
    assertCanConfirm(argv.yes, 'queue empty');
    const states: Clearable[] = argv.state ? [argv.state] : ['pending', 'delayed'];
    await withQueue(argv, name, async (queue) => {
      const counts = await queue.counts();
      const total = states.reduce((sum, s) => sum + counts[s], 0);
      if (total > 0) {
        const what = states.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`).join(' and ');
        await confirm(`Delete ${what} job${total === 1 ? '' : 's'} from queue ${name}? This cannot be undone.`, argv.yes);
      }
      const deleted: Partial<Record<Clearable, number>> = {};
      for (const state of states) deleted[state] = total > 0 ? await queue.clear(state) : 0;
      if (argv.json) return printJson({ queue: name, deleted });
      print(`deleted ${states.map((s) => `${deleted[s]} ${s}`).join(' and ')} job(s) from queue ${name}`);
      if (counts.active > 0) print(`${counts.active} active job(s) were left to finish (pause the queue first to stop new ones starting)`);
    });
  },
};

export const queueCommand: CommandModule<object, QueueAdminArgs> = {
  command: 'queue [command]',
  describe: 'Pause, resume or empty a queue',
  builder: (yargs: Argv) =>
    yargs
      .command([pause, resume, empty] as unknown as CommandModule[])
      .demandCommand(1, 'name a queue command: pause QUEUE, resume QUEUE or empty QUEUE')
      .example([
        ['$0 queue pause pdf', 'supervisors stop starting pdf jobs'],
        ['$0 queue resume pdf', 'and start them again'],
        ['$0 queue empty pdf --yes', 'delete every pending and delayed pdf job'],
      ]) as unknown as Argv<QueueAdminArgs>,
  handler: () => undefined,
};
