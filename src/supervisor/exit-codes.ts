/**
 * The exit code of a `troupe supervise` whose shutdown gave up at --shutdown-timeout-ms with
 * Redis not answering: some outcomes were left to lease expiry. One of the CLI's exit codes
 * (src/cli/exit.ts lists them all); defined here so a director, below the CLI, passes it on.
 */
export const EXIT_SHUTDOWN_INCOMPLETE = 3;
