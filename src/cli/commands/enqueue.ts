import { readFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { encodePayload } from '../../queue/codec.js';
import { ValidationError } from '../../queue/errors.js';
import { validateProcessorName, type JobSpec } from '../../queue/job-args.js';
import { PRIORITIES, type Priority } from '../../queue/keys.js';
import { DEFAULT_QUEUE_OPTIONS, MAX_ATTEMPTS, MAX_DELAY_MS, validateBackoff, validateJobOptions, type BackoffPolicy, type JobOptions } from '../../queue/options.js';
import { ENQUEUE_CHUNK, type EnqueueResult } from '../../queue/queue.js';
import { UsageError } from '../exit.js';
import { note, type JsonArgs } from '../output.js';
import { checkQueueName, wholeNumberFlag, withQueue, withRedisUrl, type RedisArgs } from '../redis-option.js';

const MAX_COUNT = 10_000_000;

interface EnqueueArgs extends RedisArgs, JsonArgs {
  queue: string;
  processor: string;
  data?: string;
  dataFile?: string;
  count?: number;
  id?: string;
  priority?: Priority;
  delayMs?: number;
  attempts?: number;
  timeoutMs?: number;
  metadata?: string;
  dedupeKey?: string;
  backoff?: string;
}

/** Queue-layer validation messages name option fields; people typed flags, so name those. */
function asUsage<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(`${flag}: ${err.detail}`);
    throw err;
  }
}

/** A .json file is a JSON payload; anything else is sent as its raw bytes (a PDF stays a PDF). */
function readPayload(argv: EnqueueArgs): unknown {
  if (argv.data !== undefined && argv.dataFile !== undefined) {
    throw new UsageError('give --data or --data-file, not both: --data takes inline JSON, --data-file reads a file');
  }
  if (argv.data !== undefined) {
    try {
      return JSON.parse(argv.data);
    } catch (err) {
      throw new UsageError(
        `--data is not valid JSON (${err instanceof Error ? err.message : String(err)}); quote it for the shell, e.g. --data '{"n":1}' or --data '"a string"'`,
      );
    }
  }
  if (argv.dataFile === undefined) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(argv.dataFile);
  } catch (err) {
    throw new UsageError(`--data-file: cannot read ${argv.dataFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!argv.dataFile.toLowerCase().endsWith('.json')) return bytes;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new UsageError(
      `--data-file: ${argv.dataFile} ends in .json but is not valid JSON (${err instanceof Error ? err.message : String(err)}); fix it, or rename it to send it as raw bytes`,
    );
  }
}

/** The validator names sub-fields (`backoff.ms`); on the command line that is `--backoff: ms ...`. */
function asFlagUsage<T>(flag: string, field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const sub = err.field.startsWith(`${field}.`) ? `${err.field.slice(field.length + 1)} ` : err.field.startsWith(`${field}[`) ? `${err.field.slice(field.length)} ` : '';
    throw new UsageError(`${flag}: ${sub}${err.detail}`);
  }
}

function parseJsonFlag(flag: string, text: string, example: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON (${err instanceof Error ? err.message : String(err)}); quote it for the shell, e.g. ${flag} '${example}'`);
  }
}

function parseMetadata(text: string): Record<string, unknown> {
  const value = parseJsonFlag('--metadata', text, '{"tenant":"acme"}');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new UsageError(`--metadata must be a JSON object of your own fields, e.g. --metadata '{"tenant":"acme"}', got ${got}`);
  }
  return value as Record<string, unknown>;
}

const BACKOFF_FORMS = 'fixed:MS, list:MS,MS,..., exp:INITIAL_MS[:MAX_MS[:MULTIPLIER[:JITTER]]] or the JSON forms ({"type":"fixed","ms":500}, [1000,5000])';

/**
 * `--backoff` takes the Queue API's forms as JSON, or short text like the form a job stores
 * (`fixed:250`, `list:10,20`, `exp:1000:3600000:2:0.2`); exponential fields left out take the
 * default policy's values, as they do in the API. The one validator checks the ranges.
 */
export function parseBackoffFlag(text: string): BackoffPolicy {
  const trimmed = text.trim();
  let value: unknown;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    value = parseJsonFlag('--backoff', trimmed, '{"type":"fixed","ms":500}');
  } else {
    const [kind, ...rest] = trimmed.split(':');
    const numbers = (parts: string[]): number[] =>
      parts.map((part) => {
        const n = part.trim() === '' ? Number.NaN : Number(part);
        if (Number.isNaN(n)) throw new UsageError(`--backoff: ${JSON.stringify(part)} in ${trimmed} is not a number; give ${BACKOFF_FORMS}`);
        return n;
      });
    if (kind === 'fixed' && rest.length === 1) {
      value = { type: 'fixed', ms: numbers(rest)[0] };
    } else if (kind === 'list' && rest.length === 1) {
      value = numbers(rest[0]!.split(','));
    } else if ((kind === 'exp' || kind === 'exponential') && rest.length >= 1 && rest.length <= 4) {
      const [initialMs, maxMs, multiplier, jitter] = numbers(rest);
      value = { type: 'exponential', initialMs, ...(maxMs !== undefined ? { maxMs } : {}), ...(multiplier !== undefined ? { multiplier } : {}), ...(jitter !== undefined ? { jitter } : {}) };
    } else {
      throw new UsageError(`--backoff: ${JSON.stringify(trimmed)} is not a back-off policy; give ${BACKOFF_FORMS}`);
    }
  }
  return asFlagUsage('--backoff', 'backoff', () => validateBackoff('backoff', value));
}

function jobOptions(argv: EnqueueArgs): JobOptions {
  const options: JobOptions = {};
  if (argv.priority !== undefined) options.priority = argv.priority;
  if (argv.delayMs !== undefined) options.delayMs = wholeNumberFlag('--delay-ms', argv.delayMs, 0, MAX_DELAY_MS);
  if (argv.attempts !== undefined) options.attempts = wholeNumberFlag('--attempts', argv.attempts, 1, MAX_ATTEMPTS);
  if (argv.timeoutMs !== undefined) options.timeoutMs = wholeNumberFlag('--timeout-ms', argv.timeoutMs, 0, MAX_DELAY_MS);
  if (argv.backoff !== undefined) options.backoff = parseBackoffFlag(argv.backoff);
  if (argv.metadata !== undefined) {
    const metadata = parseMetadata(argv.metadata);
    options.metadata = asFlagUsage('--metadata', 'options.metadata', () => validateJobOptions({ metadata }).metadata!);
  }
  if (argv.dedupeKey !== undefined) {
    const dedupeKey = argv.dedupeKey;
    options.dedupeKey = asFlagUsage('--dedupe-key', 'options.dedupeKey', () => validateJobOptions({ dedupeKey }).dedupeKey!);
  }
  return asUsage('options', () => validateJobOptions(options));
}

/** With --count, --id is a stem: ID-1 .. ID-N, so a rerun of the same command is idempotent. */
function jobId(stem: string | undefined, count: number, n: number): string | undefined {
  if (stem === undefined) return undefined;
  return count === 1 ? stem : `${stem}-${n}`;
}

function progress(done: number, total: number, last: { shown: number }): void {
  if (total <= ENQUEUE_CHUNK) return;
  // A terminal gets one redrawn line; logs get a line per tenth so they stay short.
  if (process.stderr.isTTY) {
    process.stderr.write(`\rtroupe: enqueued ${done}/${total}${done === total ? '\n' : ''}`);
  } else if (done === total || Math.floor((done * 10) / total) > Math.floor((last.shown * 10) / total)) {
    process.stderr.write(`troupe: enqueued ${done}/${total}\n`);
    last.shown = done;
  }
}

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

export const enqueueCommand: CommandModule<object, EnqueueArgs> = {
  command: 'enqueue <queue> <processor>',
  describe: 'Add jobs to a queue and print their ids',
  builder: (yargs: Argv) =>
    withRedisUrl(yargs
      .positional('queue', { type: 'string', describe: 'queue to add the job to (supervisors lease from it with --queues)' })
      .positional('processor', { type: 'string', describe: 'processor that runs the job, e.g. echo, or one from a plugin' })
      .option('data', { type: 'string', requiresArg: true, describe: 'the payload as JSON text (default: null)' })
      .option('data-file', {
        type: 'string',
        requiresArg: true,
        describe: 'the payload from a file: parsed JSON if the name ends in .json, otherwise its raw bytes',
      })
      .option('count', { type: 'number', requiresArg: true, describe: `how many identical jobs to add (1 to ${MAX_COUNT}), sent ${ENQUEUE_CHUNK} at a time` })
      .option('id', {
        type: 'string',
        requiresArg: true,
        describe: 'job id (re-adding an existing id is a no-op); with --count N the ids are ID-1 .. ID-N',
      })
      .option('priority', { choices: PRIORITIES, requiresArg: true, describe: 'pending jobs of higher priority run first (default: normal)' })
      .option('delay-ms', { type: 'number', requiresArg: true, describe: 'run no earlier than this many ms from now' })
      .option('attempts', { type: 'number', requiresArg: true, describe: 'total runs allowed, including the first (default: 3)' })
      .option('timeout-ms', { type: 'number', requiresArg: true, describe: 'time limit per run in ms (0: the processor or supervisor decides)' })
      .option('backoff', {
        type: 'string',
        requiresArg: true,
        describe: 'delay before each retry: fixed:MS, list:MS,MS,..., exp:INITIAL_MS[:MAX_MS[:MULTIPLIER[:JITTER]]], or the Queue API\'s JSON (default: exp:1000:3600000:2:0.2)',
      })
      .option('metadata', { type: 'string', requiresArg: true, describe: 'your own fields as a JSON object, stored with the job (e.g. \'{"tenant":"acme"}\')' })
      .option('dedupe-key', {
        type: 'string',
        requiresArg: true,
        describe: 'jobs with the same key share work: while one is in flight, another enqueue returns it (outcome "coalesced")',
      })
      .option('json', { type: 'boolean', describe: 'print a JSON array of {id, outcome, state} instead of one id per line' })
      )
      .example([
        ['$0 enqueue default echo --data \'{"text":"hello"}\'', 'one job for the echo processor; prints its id'],
        ['$0 enqueue pdf render --data-file invoice.pdf --priority high', 'the PDF\'s bytes as the payload, ahead of normal jobs'],
        ['$0 enqueue default echo --count 10000 --id load-test', 'ten thousand jobs with ids load-test-1 .. load-test-10000'],
        ['$0 enqueue mail send --data-file msg.json --delay-ms 60000 --json', 'a JSON payload from a file, run in a minute; prints JSON'],
        ['$0 enqueue web fetch --data \'{"url":"https://example.com/"}\' --attempts 5 --backoff fixed:2000', 'retried up to 4 times, 2 s apart'],
        ['$0 enqueue reports build --dedupe-key report:acme --metadata \'{"tenant":"acme"}\'', 'one report build in flight per tenant, tagged'],
      ]) as unknown as Argv<EnqueueArgs>,
  handler: async (argv: ArgumentsCamelCase<EnqueueArgs>) => {
    // Everything is checked before connecting, so a usage error never leaves half a batch behind.
    const queueName = checkQueueName(argv.queue, 'QUEUE');
    const processor = asUsage('PROCESSOR', () => validateProcessorName(argv.processor));
    const data = readPayload(argv);
    asUsage(argv.dataFile !== undefined ? '--data-file' : '--data', () => encodePayload(data, DEFAULT_QUEUE_OPTIONS.maxPayloadBytes));
    const count = wholeNumberFlag('--count', argv.count ?? 1, 1, MAX_COUNT);
    const options = jobOptions(argv);
    // The last id is the longest, so if it passes the id rules every one does.
    const lastId = jobId(argv.id, count, count);
    if (lastId !== undefined) asUsage('--id', () => validateJobOptions({ jobId: lastId }));

    await withQueue(argv, queueName, async (queue) => {
      let done = 0;
      let existed = 0;
      const shown = { shown: 0 };
      if (argv.json) await write('[');
      try {
        while (done < count) {
          // One script call per enqueueMany, and the unit of progress reports.
          const size = Math.min(ENQUEUE_CHUNK, count - done);
          const specs = Array.from({ length: size }, (_, i): JobSpec => {
            const id = jobId(argv.id, count, done + i + 1);
            return { processor, data, options: id === undefined ? options : { ...options, jobId: id } };
          });
          const results: EnqueueResult[] = await queue.enqueueMany(specs);
          existed += results.filter((r) => r.outcome === 'exists').length;
          const lines = argv.json
            ? results.map((r, i) => `${done + i === 0 ? '' : ','}\n  ${JSON.stringify({ id: r.id, outcome: r.outcome, state: r.state })}`)
            : results.map((r) => `${r.id}\n`);
          await write(lines.join(''));
          done += size;
          progress(done, count, shown);
        }
      } catch (err) {
        if (done === 0) throw err;
        // Say how far it got, so a rerun with --id (idempotent) or a smaller --count can finish.
        throw new Error(`stopped after enqueueing ${done} of ${count} jobs: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      } finally {
        if (argv.json) await write('\n]\n');
      }
      if (existed > 0) {
        note(`${existed} of the ids already existed; those jobs were left as they were (outcome "exists")`);
      }
    });
  },
};
