import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { JobNotFoundError, type ErrorInfo } from '../../queue/errors.js';
import type { JobRecord } from '../../queue/job.js';
import { describeValue, formatDuration, formatFields, formatTime, print, printJson, type JsonArgs } from '../output.js';
import { checkQueueName, withAdminOptions, withQueue, withQueueOption, type QueueArgs, type RedisArgs } from '../redis-option.js';

interface JobArgs extends RedisArgs, JsonArgs, QueueArgs {
  id: string;
}

function describeError(error: ErrorInfo): string {
  const head = `${error.name}: ${error.message}${error.code ? ` [${error.code}]` : ''}${error.attempt ? ` (attempt ${error.attempt})` : ''}`;
  // The stack repeats the message on its first line; the frames below it are what helps.
  const frames = (error.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at ')).slice(0, 5);
  return [head, ...frames.map((f) => `  ${f.trim()}`)].join('\n');
}

export function jobFields(job: JobRecord, now = Date.now()): Array<[string, string]> {
  const fields: Array<[string, string]> = [
    ['id', job.id],
    ['queue', job.queue],
    ['processor', job.processor],
    ['state', job.state],
    ['priority', job.priority],
    ['attempts', `${job.attempts} of ${job.maxAttempts}`],
    ['enqueued', formatTime(job.enqueuedAt, now)],
  ];
  if (job.runAt) fields.push([job.state === 'delayed' ? 'due' : 'run at', formatTime(job.runAt, now)]);
  if (job.startedAt) fields.push(['started', formatTime(job.startedAt, now)]);
  if (job.finishedAt) fields.push(['finished', formatTime(job.finishedAt, now)]);
  if (job.startedAt && job.finishedAt) fields.push(['ran for', formatDuration(job.finishedAt - job.startedAt)]);
  if (job.timeoutMs) fields.push(['timeout', formatDuration(job.timeoutMs)]);
  if (job.owner) fields.push([job.state === 'active' ? 'held by' : 'last held by', job.owner]);
  if (job.leaseExpiries) fields.push(['lease expiries', String(job.leaseExpiries)]);
  if (job.dedupeKey) fields.push(['dedupe key', job.dedupeKey]);
  if (job.cachedFrom) fields.push(['result cached from', job.cachedFrom]);
  if (job.progress !== undefined) fields.push(['progress', describeValue(job.progress)]);
  fields.push(['data', describeValue(job.data)]);
  if (job.result !== undefined) fields.push(['result', describeValue(job.result)]);
  if (job.error) fields.push(['error', describeError(job.error)]);
  if (job.errors.length > 1) fields.push(['earlier errors', job.errors.slice(0, -1).map((e) => `${e.name}: ${e.message}`.split('\n')[0]).join('\n')]);
  if (job.metadata) fields.push(['metadata', describeValue(job.metadata)]);
  if (job.corrupt) fields.push(['corrupt', `${job.corrupt.join('\n')}\n(a supervisor fails this job as JOB_CORRUPT without running it; enqueue a corrected copy)`]);
  return fields;
}

export const jobCommand: CommandModule<object, JobArgs> = {
  command: 'job <id>',
  describe: 'Show one job: state, attempts, payload, result and last error',
  builder: (yargs: Argv) =>
    withAdminOptions(
      withQueueOption(yargs.positional('id', { type: 'string', describe: 'the job id (as printed by "troupe enqueue" or listed by "troupe jobs")' })),
    )
      .example([
        ['$0 job 3f2a9c1e-... --queue default', 'the job as a readable list of fields'],
        ['$0 job invoice-42 --queue pdf --json', 'the whole record as JSON (bytes appear as {"type":"bytes","length":N})'],
      ]) as unknown as Argv<JobArgs>,
  handler: async (argv: ArgumentsCamelCase<JobArgs>) => {
    const queueName = checkQueueName(argv.queue, '--queue');
    await withQueue(argv, queueName, async (queue) => {
      const job = await queue.getJob(String(argv.id));
      if (!job) throw new JobNotFoundError(queueName, String(argv.id));
      // result and error are always present in JSON, so scripts need no existence checks.
      if (argv.json) printJson({ ...job, result: job.result ?? null, error: job.error ?? null });
      else print(formatFields(jobFields(job)));
    });
  },
};
