import type { CommandModule } from 'yargs';

/** The admin commands (enqueue, job, jobs, stats, dlq, status, queue), registered by main.ts. */
export const ADMIN_COMMANDS: Array<CommandModule<object, never>> = [];
