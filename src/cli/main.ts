import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commandsFor } from './commands/index.js';
import { EXIT_USAGE, reportError } from './exit.js';
import { endQuietlyWhenStdoutCloses } from './output.js';

export async function main(args: string[]): Promise<void> {
  const parser = yargs(args)
    .scriptName('troupe')
    .usage('$0 <command> [options]\n\nA job runtime: supervisors lease jobs from Redis and run them on worker threads.')
    .command(await commandsFor(args))
    .demandCommand(1, 'Name a command; try "troupe demo" for a first run, or "troupe supervise --help".')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((message, err) => {
      if (err) throw err;
      process.stderr.write(`troupe: ${message}\nRun with --help for usage.\n`);
      process.exit(EXIT_USAGE);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

endQuietlyWhenStdoutCloses();
await main(hideBin(process.argv));
