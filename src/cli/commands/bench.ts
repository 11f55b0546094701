import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UsageError } from '../exit.js';

interface BenchArgs {
  quick: boolean;
  only?: string;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The bench suite runs from a source checkout: it needs the peers (BullMQ, bee-queue), which are
 * dev dependencies, and its sources, which the package does not ship.
 */
export function benchRunner(packageRoot: string): string {
  const runner = join(packageRoot, 'bench', 'run.ts');
  if (!existsSync(runner)) {
    throw new UsageError(
      `the bench suite is not in this install (${runner} is missing); it runs from a source checkout: git clone the repository, npm ci, then npm run bench`,
    );
  }
  return runner;
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Run the bench suite against BullMQ, bee-queue and raw Piscina; writes bench/results/ (source checkout only)',
  builder: (yargs: Argv) =>
    yargs
      .option('quick', { type: 'boolean', default: false, describe: 'Smoke run: fewer jobs, one round (minutes, not tens of minutes)' })
      .option('only', { type: 'string', describe: 'Comma-separated benches to run, e.g. end-to-end,cpu' })
      .example([
        ['$0 bench', 'everything; the report is bench/results/README.md'],
        ['$0 bench --quick --only cpu', 'one bench, smoke-sized'],
      ]) as Argv<BenchArgs>,
  handler: async (args: ArgumentsCamelCase<BenchArgs>) => {
    const runner = benchRunner(ROOT);
    const forwarded = [...(args.quick ? ['--quick'] : []), ...(args.only ? ['--only', args.only] : [])];
    const child = spawn(process.execPath, ['--import', 'tsx', runner, ...forwarded], { cwd: ROOT, stdio: 'inherit' });
    const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
    process.exitCode = code;
  },
};
