import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { pino } from 'pino';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ValidationError } from '../../queue/errors.js';
import { validateProcessorName } from '../../queue/job-args.js';
import { CONFIG_KEYS, type ConfigKey, type Source } from '../../supervisor/config.js';
import { tuneSvg } from '../../tune/chart.js';
import { defaultSvgPath, sweep, tuneQueueName } from '../../tune/plan.js';
import { formatReport, reportJson } from '../../tune/report.js';
import { TuneInputError } from '../../tune/input-error.js';
import { SupervisorStuckError } from '../../tune/measure.js';
import { runTune } from '../../tune/run.js';
import { readSample, type Sample } from '../../tune/sample.js';
import { configFromArgs, flagName, withConfigFlags } from '../config-args.js';
import { EXIT_OK, EXIT_RUNTIME, reportError, UsageError } from '../exit.js';
import { note, print, printJson } from '../output.js';
import { startProgress } from '../progress.js';
import { wholeNumberFlag } from '../redis-option.js';

interface TuneArgs {
  processor: string;
  sample?: string;
  maxThreads?: number;
  maxTasksPerThread: number;
  seconds: number;
  rounds: number;
  svg?: string;
  json?: boolean;
}

/** Settings tune chooses itself: giving them would be ignored, so a flag naming one is refused. */
const SWEPT: readonly ConfigKey[] = ['threads', 'minThreads', 'tasksPerThread', 'queues', 'processes'];
/** Settings that do nothing in a tune run (it runs no services); hidden from its help. */
const UNUSED: readonly ConfigKey[] = [
  'scheduler', 'schedules', 'httpPort', 'httpHost', 'metricsInterval', 'alertFailurePercent', 'alertRunTimeMs', 'alertQueueDepth', 'alertDlqSize', 'idleTimeoutMs',
];
const MAX_SECONDS = 3600;
const MAX_ROUNDS = 100;

function checkSeconds(value: number): number {
  if (!Number.isFinite(value) || value < 0.1 || value > MAX_SECONDS) {
    const got = Number.isNaN(value) ? 'something that is not a number' : String(value);
    throw new UsageError(`--seconds must be a number of seconds from 0.1 to ${MAX_SECONDS} (fractions allowed, e.g. 2.5), got ${got}`);
  }
  return value;
}

function refuseSwept(argv: Record<string, unknown>, sources: Record<ConfigKey, Source>): void {
  for (const key of SWEPT) {
    if (argv[flagName(key)] !== undefined) {
      throw new UsageError(
        `--${flagName(key)}: troupe tune chooses ${key} itself; limit the sweep with --max-threads and --max-tasks-per-thread instead`,
      );
    }
    if (sources[key] === 'env' || sources[key] === 'file') {
      note(`ignoring ${key} from the ${sources[key] === 'env' ? `environment (${CONFIG_KEYS[key].env.join(' or ')})` : 'config file'}: tune sweeps it`);
    }
  }
}

/** tune/ reports bad input as TuneInputError; to the CLI it is a usage error (exit 2), same message. */
function asUsageError(err: unknown): unknown {
  return err instanceof TuneInputError ? new UsageError(err.message, { cause: err }) : err;
}

/** Refuses an unwritable chart path now, not after minutes of measuring. */
function checkSvgPath(path: string): string {
  const full = resolve(path);
  try {
    if (statSync(full, { throwIfNoEntry: false })?.isDirectory()) throw new Error('it is a directory');
    accessSync(dirname(full), constants.W_OK);
  } catch (err) {
    throw new UsageError(`--svg: cannot write the chart to ${path}: ${err instanceof Error ? err.message : String(err)}; give a writable file path`);
  }
  return path;
}

export const tuneCommand: CommandModule<object, TuneArgs> = {
  command: 'tune <processor>',
  describe: 'Measure a processor on a sample job at increasing threads and tasks per thread; recommend the knee and print the flags',
  builder: (yargs: Argv) => {
    let y = yargs
      .positional('processor', { type: 'string', describe: 'a built-in processor (echo, cpu, pdf, wasm, ...) or one from --plugin' })
      .option('sample', {
        group: 'Tune:',
        type: 'string',
        requiresArg: true,
        describe: 'the job\'s data: a .json file is parsed, any other file is sent as raw bytes (a PDF for pdf, HTML for wasm)',
      })
      .option('max-threads', { group: 'Tune:', type: 'number', requiresArg: true, describe: `try 1 .. N threads (default: available cores, ${availableParallelism()} here)` })
      .option('max-tasks-per-thread', { group: 'Tune:', type: 'number', requiresArg: true, default: 4, describe: 'try 1, 2, 4, ... up to N tasks per thread' })
      .option('seconds', { group: 'Tune:', type: 'number', requiresArg: true, default: 5, describe: 'measuring time per configuration, after a short warm-up (fractions allowed)' })
      .option('rounds', { group: 'Tune:', type: 'number', requiresArg: true, default: 1, describe: 'sweeps to run, alternating direction; figures are medians (use 3 on a busy machine)' })
      .option('svg', { group: 'Tune:', type: 'string', requiresArg: true, describe: 'where to write the chart (default ./troupe-tune-<processor>.svg)' })
      .option('json', { group: 'Tune:', type: 'boolean', describe: 'print JSON for scripts instead of the table' });
    y = withConfigFlags(y);
    for (const key of [...SWEPT, ...UNUSED]) y = y.hide(flagName(key));
    return y
      .epilog('tune logs to stderr at warn unless --log-level, TROUPE_LOG_LEVEL or the config file\'s logLevel sets a level (the info default of supervise would bury the table).')
      .example([
      ['$0 tune echo --sample job.json', 'threads 1..cores × 1, 2, 4 tasks per thread, 5 s each'],
      ['$0 tune pdf --sample invoice.pdf --max-threads 4 --seconds 10', 'a PDF as the job\'s bytes'],
      ['$0 tune resize --plugin ./resize.mjs --sample img.json --config troupe.json', 'a plugin, under your production settings'],
    ]) as unknown as Argv<TuneArgs>;
  },
  handler: async (argv: ArgumentsCamelCase<TuneArgs>) => {
    // Every input is checked before any Redis or thread is started.
    let processor: string;
    try {
      processor = validateProcessorName(argv.processor);
    } catch (err) {
      if (err instanceof ValidationError) throw new UsageError(`PROCESSOR: ${err.detail}`);
      throw err;
    }
    const maxThreads = wholeNumberFlag('--max-threads', argv.maxThreads ?? availableParallelism(), 1, CONFIG_KEYS.threads.max);
    const maxTasksPerThread = wholeNumberFlag('--max-tasks-per-thread', argv.maxTasksPerThread, 1, CONFIG_KEYS.tasksPerThread.max);
    const seconds = checkSeconds(argv.seconds);
    const rounds = wholeNumberFlag('--rounds', argv.rounds, 1, MAX_ROUNDS);
    let sample: Sample;
    try {
      sample = readSample(argv.sample);
    } catch (err) {
      throw asUsageError(err);
    }
    const svgPath = checkSvgPath(argv.svg ?? defaultSvgPath(processor));
    const { config, sources } = configFromArgs(argv as Record<string, unknown>);
    refuseSwept(argv as Record<string, unknown>, sources);
    // Logs go to stderr: stdout carries the table or the JSON.
    const logger = pino({ level: sources.logLevel === 'default' ? 'warn' : config.logLevel }, pino.destination(2));

    const queueName = tuneQueueName(processor);
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        note(`second ${signal}: exiting now; the tune queue may be left behind: delete keys matching troupe:{${queueName}}:*`);
        process.exit(EXIT_RUNTIME);
      }
      note(`${signal}: stopping after the running jobs finish, then removing the tune queue (send it again to exit at once)`);
      controller.abort(new Error(`interrupted by ${signal}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const points = sweep(maxThreads, maxTasksPerThread).length;
    note(`tuning ${processor}: ${points} configurations × ~${seconds} s${rounds > 1 ? ` × ${rounds} rounds` : ''} on queue ${queueName}`);
    try {
      const result = await runTune({
        processor,
        sample,
        config,
        redisGiven: sources.redisUrl !== 'default',
        maxThreads,
        maxTasksPerThread,
        seconds,
        rounds,
        queueName,
        logger,
        signal: controller.signal,
        progress: (total) => startProgress(`tune ${processor}`, total),
      });
      const wrote = result.rows.length > 0 ? svgPath : undefined;
      if (wrote) writeFileSync(wrote, tuneSvg(processor, result.rows, result.choice));
      if (argv.json) printJson(reportJson(result, wrote));
      else print(formatReport(result, wrote));
      if (!result.choice.ok) note('no configuration to recommend (see the reason above)');
      process.exitCode = result.choice.ok ? EXIT_OK : EXIT_RUNTIME;
    } catch (err) {
      if (err instanceof SupervisorStuckError) {
        // Its threads and connections keep the event loop alive; the queue is already cleaned up.
        process.exit(reportError(err));
      }
      if (controller.signal.aborted) throw new Error(`tune interrupted: nothing to recommend; the tune queue ${queueName} was removed`, { cause: err });
      throw asUsageError(err);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
