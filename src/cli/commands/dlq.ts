import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { JobNotFoundError } from '../../queue/errors.js';
import { assertCanConfirm, confirm, print, printJson, type JsonArgs } from '../output.js';
import { checkQueueName, withAdminOptions, withQueue, withQueueOption, type QueueArgs, type RedisArgs } from '../redis-option.js';
import { listPage, pageWindow, printPage, withPageOptions, type PageArgs } from './jobs.js';

interface DlqArgs extends RedisArgs, JsonArgs, QueueArgs, PageArgs {
  id?: string;
  yes?: boolean;
}

/** Every dlq subcommand takes the same queue, connection and output flags. */
function common(yargs: Argv): Argv<DlqArgs> {
  return withAdminOptions(withQueueOption(yargs)) as unknown as Argv<DlqArgs>;
}

const list: CommandModule<object, DlqArgs> = {
  command: 'list',
  describe: 'List dead jobs, newest first, with their last error',
  builder: (yargs: Argv) => common(withPageOptions(yargs)).example([['$0 dlq list --queue default', 'the 50 most recent dead jobs']]) as Argv<DlqArgs>,
  handler: async (argv: ArgumentsCamelCase<DlqArgs>) => {
    const queueName = checkQueueName(argv.queue, '--queue');
    const window = pageWindow(argv);
    await withQueue(argv, queueName, async (queue) => printPage(await listPage(queue, 'dead', window), argv.json));
  },
};

const retry: CommandModule<object, DlqArgs> = {
  command: 'retry <id>',
  describe: 'Move one dead job back to pending with fresh attempts',
  builder: (yargs: Argv) =>
    common(yargs.positional('id', { type: 'string', describe: 'the dead job\'s id (see "troupe dlq list")' }))
      .example([['$0 dlq retry invoice-42 --queue pdf', 'run invoice-42 again from its first attempt']]) as Argv<DlqArgs>,
  handler: async (argv: ArgumentsCamelCase<DlqArgs>) => {
    const queueName = checkQueueName(argv.queue, '--queue');
    const id = String(argv.id);
    await withQueue(argv, queueName, async (queue) => {
      if (!(await queue.retryDead(id))) {
        // retryDead only says "not moved"; tell apart a missing job from one that is not dead.
        const job = await queue.getJob(id);
        if (!job) throw new JobNotFoundError(queueName, id);
        throw new Error(`job ${id} is ${job.state}, not dead; only dead jobs can be retried`);
      }
      if (argv.json) printJson({ queue: queueName, id, retried: true, state: 'pending' });
      else print(`job ${id} moved back to pending in queue ${queueName}`);
    });
  },
};

const retryAll: CommandModule<object, DlqArgs> = {
  command: 'retry-all',
  describe: 'Move every dead job back to pending with fresh attempts',
  builder: (yargs: Argv) => common(yargs).example([['$0 dlq retry-all --queue default', 'after fixing the cause, run every dead job again']]) as Argv<DlqArgs>,
  handler: async (argv: ArgumentsCamelCase<DlqArgs>) => {
    const queueName = checkQueueName(argv.queue, '--queue');
    await withQueue(argv, queueName, async (queue) => {
      const retried = await queue.retryAllDead();
      if (argv.json) printJson({ queue: queueName, retried });
      else print(`moved ${retried} dead job${retried === 1 ? '' : 's'} back to pending in queue ${queueName}`);
    });
  },
};

const purge: CommandModule<object, DlqArgs> = {
  command: 'purge',
  describe: 'Delete every dead job (asks first unless --yes)',
  builder: (yargs: Argv) =>
    common(yargs.option('yes', { alias: 'y', type: 'boolean', describe: 'delete without asking (required when not on a terminal)' }))
      .example([
        ['$0 dlq purge --queue default', 'shows how many dead jobs there are and asks before deleting them'],
        ['$0 dlq purge --queue default --yes', 'deletes them without asking (for scripts)'],
      ]) as Argv<DlqArgs>,
  handler: async (argv: ArgumentsCamelCase<DlqArgs>) => {
    const queueName = checkQueueName(argv.queue, '--queue');
    assertCanConfirm(argv.yes, 'dlq purge');
    await withQueue(argv, queueName, async (queue) => {
      const { dead } = await queue.counts();
      if (dead > 0) await confirm(`Delete ${dead} dead job${dead === 1 ? '' : 's'} from queue ${queueName}? This cannot be undone.`, argv.yes);
      const purged = dead > 0 ? await queue.purgeDead() : 0;
      if (argv.json) printJson({ queue: queueName, purged });
      else print(`deleted ${purged} dead job${purged === 1 ? '' : 's'} from queue ${queueName}`);
    });
  },
};

export const dlqCommand: CommandModule<object, DlqArgs> = {
  command: 'dlq [command]',
  describe: 'Dead jobs (out of attempts or failed for good): list, retry, retry-all, purge',
  builder: (yargs: Argv) =>
    yargs
      .command([list, retry, retryAll, purge] as unknown as CommandModule[])
      .demandCommand(1, 'name a dlq command: list, retry ID, retry-all or purge')
      .example([
        ['$0 dlq list --queue default', 'what died and why'],
        ['$0 dlq retry JOB_ID --queue default', 'one job back to pending'],
        ['$0 dlq retry-all --queue default', 'every dead job back to pending'],
        ['$0 dlq purge --queue default --yes', 'delete every dead job'],
      ]) as unknown as Argv<DlqArgs>,
  handler: () => undefined,
};
