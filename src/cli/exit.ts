import { CodedError, type CodedErrorOptions } from '../errors.js';
import { ValidationError } from '../queue/errors.js';
import { PluginError } from '../processors/plugins.js';
import { ConfigError } from '../supervisor/config.js';
import { RedisAuthError } from '../supervisor/local-redis.js';

/** Exit codes are a contract: scripts depend on them. */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
/**
 * 3, `troupe supervise`: the graceful shutdown gave up at --shutdown-timeout-ms (Redis not
 * answering) and left some outcomes to lease expiry; those jobs run again elsewhere.
 */
export { EXIT_SHUTDOWN_INCOMPLETE } from '../supervisor/exit-codes.js';

/** Codes of the CLI's own errors. */
export const CliErrorCode = {
  Usage: 'USAGE',
  Declined: 'DECLINED',
} as const;

/** A wrong flag, argument or config value: exit 2 with the message. */
export class UsageError extends CodedError<typeof CliErrorCode.Usage> {
  override name = 'UsageError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(CliErrorCode.Usage, message, options);
  }
}

/**
 * The errors that mean "the command was called wrong" (exit 2, with a pointer to --help): a bad
 * flag or argument, setting, job option or plugin, or a Redis password the server refused.
 * Matched by class, so renaming one cannot change an exit code; subclasses count too.
 * Everything else exits 1.
 */
const USAGE_ERRORS = [UsageError, ConfigError, ValidationError, PluginError, RedisAuthError] as const;

export function exitCodeOf(err: unknown): typeof EXIT_USAGE | typeof EXIT_RUNTIME {
  return USAGE_ERRORS.some((usage) => err instanceof usage) ? EXIT_USAGE : EXIT_RUNTIME;
}

/** Prints an error the way every command does and returns the exit code it deserves. */
export function reportError(err: unknown): number {
  const code = exitCodeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`troupe: ${message}\n`);
  // A refused password is a setting to fix, not a way the command was called: no pointer to --help.
  if (code === EXIT_USAGE && !(err instanceof RedisAuthError)) process.stderr.write('Run with --help for usage.\n');
  return code;
}
