/**
 * The exit code of a `troupe supervise` whose shutdown gave up at --shutdown-timeout-ms with
 * Redis not answering: some outcomes were left to lease expiry. One of the CLI's exit codes
 * (src/cli/exit.ts lists them all); defined here so a director, below the CLI, passes it on.
 */
export const EXIT_SHUTDOWN_INCOMPLETE = 3;

/**
 * 2, a configuration error (src/cli/exit.ts: EXIT_USAGE): a director whose child exits with it
 * stops instead of restarting it, since a restart meets the same refusal (a password or an ACL
 * Redis refuses, found after the director's own probe while Redis was still out of reach).
 */
export const EXIT_CONFIGURATION = 2;
