import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { Queue } from '../../queue/queue.js';
import { configFromArgs, withConfigFlags } from '../config-args.js';
import { UsageError } from '../exit.js';
import { createLogger } from '../../supervisor/logger.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import { runSupervisor } from './supervise.js';
import type { JobSpec } from '../../queue/job-args.js';

const DEMO_QUEUE = 'troupe-demo';

interface DemoArgs {
  jobs: number;
  config?: string;
}

/** A realistic mix: short echoes, CPU work, waits, and failures that retry or go dead. */
function sampleJobs(count: number): JobSpec[] {
  return Array.from({ length: count }, (_, i): JobSpec => {
    switch (i % 10) {
      case 0:
        return { processor: 'cpu', data: { ms: 5 } };
      case 1:
        return { processor: 'sleep', data: { ms: 20 }, options: { priority: 'high' } };
      case 2:
        return { processor: 'fail', data: { mode: 'throw', message: 'a flaky dependency (retried, then dead)' }, options: { attempts: 2, backoff: { type: 'fixed', ms: 100 } } };
      default:
        return { processor: 'echo', data: { n: i, text: `sample job ${i}` } };
    }
  });
}

function table(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Start a supervisor, run a mix of sample jobs on it, print what happened, and stop',
  builder: (yargs: Argv) =>
    withConfigFlags(yargs)
      .option('jobs', { type: 'number', default: 500, describe: 'how many sample jobs to run' })
      .example([['$0 demo', '500 sample jobs on queue "troupe-demo", Redis started if none is running']]) as unknown as Argv<DemoArgs>,
  handler: async (argv: ArgumentsCamelCase<DemoArgs>) => {
    if (!Number.isInteger(argv.jobs) || argv.jobs < 1 || argv.jobs > 1_000_000) {
      throw new UsageError(`--jobs must be a whole number from 1 to 1000000, got ${argv.jobs}`);
    }
    const { config, sources } = configFromArgs({ ...(argv as Record<string, unknown>), queues: [DEMO_QUEUE] });
    const logger = createLogger(sources.logLevel === 'default' ? 'warn' : config.logLevel);
    const onStarted = async (supervisor: Supervisor) => {
      const queue = new Queue(DEMO_QUEUE, { connection: supervisor.connection });
      try {
        for (const state of ['pending', 'delayed', 'completed', 'dead'] as const) await queue.clear(state);
        const specs = sampleJobs(argv.jobs);
        const t0 = performance.now();
        process.stderr.write(`troupe demo: supervisor ${supervisor.id} with ${config.threads} threads; enqueueing ${specs.length} jobs on "${DEMO_QUEUE}"\n`);
        await queue.enqueueMany(specs);
        // Redraw one line on a terminal; elsewhere (CI logs) print a line a second.
        const tty = process.stderr.isTTY;
        let lastLine = 0;
        for (;;) {
          const c = await queue.counts();
          const finished = c.completed + c.dead;
          const line = `  finished ${finished}/${specs.length}  (active ${c.active}, waiting ${c.pending + c.delayed})`;
          if (tty) process.stderr.write(`\r${line}   `);
          else if (finished >= specs.length || performance.now() - lastLine > 1000) {
            process.stderr.write(`${line}\n`);
            lastLine = performance.now();
          }
          if (finished >= specs.length) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const seconds = (performance.now() - t0) / 1000;
        const c = await queue.counts();
        const dead = await queue.listDead({ limit: 1 });
        if (tty) process.stderr.write('\n');
        process.stdout.write(
          `\nDemo finished in ${seconds.toFixed(2)} s (${Math.round(specs.length / seconds)} jobs/s end to end)\n` +
            table([
              ['completed', c.completed],
              ['dead (failed every attempt, by design)', c.dead],
              ['jobs timed out / threads restarted', `${supervisor.stats.timedOut} / ${supervisor.stats.threadRestarts}`],
              ['example dead-letter error', dead[0]?.error?.message ?? '-'],
            ]) +
            `\n\nInspect them: npx troupe stats --queue ${DEMO_QUEUE}; npx troupe dlq list --queue ${DEMO_QUEUE}\n`,
        );
      } finally {
        await queue.close();
      }
    };
    process.exitCode = await runSupervisor(config, sources.redisUrl !== 'default', logger, onStarted);
  },
};
