import { CodedError, type CodedErrorOptions } from '../errors.js';
import { ValidationError } from '../queue/errors.js';
import { PluginError } from '../processors/plugins.js';
import { ConfigError } from '../supervisor/config.js';
import { RedisAuthError, RedisPermissionError } from '../supervisor/local-redis.js';

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
 * flag or argument, setting, job option or plugin, or a Redis password or ACL the server refused.
 * Matched by class, so renaming one cannot change an exit code; subclasses count too.
 * Everything else exits 1, but for a Redis reply NOPERM (see isRedisPermissionReply).
 */
const USAGE_ERRORS = [UsageError, ConfigError, ValidationError, PluginError, RedisAuthError, RedisPermissionError] as const;
/** Settings to fix on the Redis side, not ways the command was called: no pointer to --help. */
const REDIS_SETTING_ERRORS = [RedisAuthError, RedisPermissionError] as const;

/**
 * A command Redis refused with NOPERM mid-command (an admin command as a user whose ACL lacks it):
 * the ACL is a setting, as a refused password is, so exit 2. Redis's reply code is only in the
 * text of ioredis's ReplyError, which has no code field.
 */
function isRedisPermissionReply(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && /^(EXECABORT Transaction discarded because of: )?NOPERM\b/.test(err.message);
}

export function exitCodeOf(err: unknown): typeof EXIT_USAGE | typeof EXIT_RUNTIME {
  return USAGE_ERRORS.some((usage) => err instanceof usage) || isRedisPermissionReply(err) ? EXIT_USAGE : EXIT_RUNTIME;
}

/** Prints an error the way every command does and returns the exit code it deserves. */
export function reportError(err: unknown): number {
  const code = exitCodeOf(err);
  let message = err instanceof Error ? err.message : String(err);
  if (isRedisPermissionReply(err)) {
    message += ': the Redis user lacks a permission; grant the command with ACL SETUSER USER +COMMAND, or use the minimal ACL in docs/operations.md ("Access control (ACL)")';
  }
  process.stderr.write(`troupe: ${message}\n`);
  if (code === EXIT_USAGE && !REDIS_SETTING_ERRORS.some((e) => err instanceof e) && !isRedisPermissionReply(err)) process.stderr.write('Run with --help for usage.\n');
  return code;
}
