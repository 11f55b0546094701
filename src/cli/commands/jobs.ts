import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { JobRecord } from '../../queue/job.js';
import { JOB_STATES, type JobState } from '../../queue/keys.js';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, type Queue } from '../../queue/queue.js';
import { formatAge, formatTable, oneLine, print, printJson, type Cell, type JsonArgs } from '../output.js';
import { checkQueueName, wholeNumberFlag, withAdminOptions, withQueue, withQueueOption, type QueueArgs, type RedisArgs } from '../redis-option.js';

export interface PageArgs {
  limit?: number;
  offset?: number;
}

interface JobsArgs extends RedisArgs, JsonArgs, QueueArgs, PageArgs {
  state: JobState;
}

export function withPageOptions<T>(yargs: Argv<T>): Argv<T & PageArgs> {
  return yargs
    .option('limit', { type: 'number', requiresArg: true, default: LIST_DEFAULT_LIMIT, describe: `most jobs to show (1 to ${LIST_MAX_LIMIT})` })
    .option('offset', { type: 'number', requiresArg: true, default: 0, describe: 'jobs to skip first, for the next page' }) as unknown as Argv<T & PageArgs>;
}

export function pageWindow(argv: PageArgs): { limit: number; offset: number } {
  return { limit: wholeNumberFlag('--limit', argv.limit ?? LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT), offset: wholeNumberFlag('--offset', argv.offset ?? 0, 0) };
}

export function jobRow(job: JobRecord, now: number): Cell[] {
  return [job.id, job.processor, job.state, `${job.attempts}/${job.maxAttempts}`, job.priority, formatAge(job.enqueuedAt, now), oneLine(job.error?.message, 60)];
}
export const JOB_HEADERS = ['ID', 'PROCESSOR', 'STATE', 'ATTEMPTS', 'PRIORITY', 'AGE', 'LAST ERROR'];

/** One page of jobs plus how many the state holds, so people and scripts know if more follow. */
export async function listPage(queue: Queue, state: JobState, window: { limit: number; offset: number }) {
  const [jobs, counts] = await Promise.all([queue.listJobs(state, window), queue.counts()]);
  return { queue: queue.name, state, total: counts[state], offset: window.offset, limit: window.limit, jobs };
}

export function printPage(page: Awaited<ReturnType<typeof listPage>>, json: boolean | undefined): void {
  if (json) return printJson(page);
  const { jobs, total, offset, state } = page;
  if (jobs.length === 0) {
    print(total === 0 ? `no ${state} jobs in queue ${page.queue}` : `no ${state} jobs at offset ${offset} (the queue has ${total}); try a smaller --offset`);
    return;
  }
  const now = Date.now();
  print(formatTable(JOB_HEADERS, jobs.map((job) => jobRow(job, now))));
  const last = offset + jobs.length;
  print(`showing ${offset + 1}-${last} of ${total} ${state} jobs${last < total ? `; next page: --offset ${last}` : ''}`);
}

export const jobsCommand: CommandModule<object, JobsArgs> = {
  command: 'jobs',
  describe: 'List the jobs of a queue in one state, a page at a time',
  builder: (yargs: Argv) =>
    withAdminOptions(
      withPageOptions(
        withQueueOption(yargs).option('state', {
          choices: JOB_STATES,
          demandOption: 'name the state, e.g. --state pending',
          requiresArg: true,
          describe: 'pending (in run order), delayed and active (soonest due first), completed and dead (newest first)',
        }),
      ),
    ).example([
        ['$0 jobs --queue default --state pending', 'the next 50 jobs to run'],
        ['$0 jobs --queue default --state dead --limit 20 --offset 20', 'the second page of 20 dead jobs, newest first'],
        ['$0 jobs --queue pdf --state active --json', 'running jobs as JSON: {queue, state, total, offset, limit, jobs}'],
      ]) as unknown as Argv<JobsArgs>,
  handler: async (argv: ArgumentsCamelCase<JobsArgs>) => {
    const queueName = checkQueueName(argv.queue, '--queue');
    const window = pageWindow(argv);
    await withQueue(argv, queueName, async (queue) => printPage(await listPage(queue, argv.state, window), argv.json));
  },
};
