/** Exit codes are a contract: scripts depend on them. */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A wrong flag, argument or config value: exit 2 with the message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Prints an error the way every command does and sets the exit code it deserves. */
export function reportError(err: unknown): number {
  const usage = err instanceof UsageError || (err instanceof Error && ['ConfigError', 'ValidationError', 'PluginError'].includes(err.name));
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`troupe: ${message}\n`);
  if (usage) process.stderr.write('Run with --help for usage.\n');
  return usage ? EXIT_USAGE : EXIT_RUNTIME;
}
