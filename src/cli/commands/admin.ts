import type { CommandModule } from 'yargs';
import { dlqCommand } from './dlq.js';
import { enqueueCommand } from './enqueue.js';
import { jobCommand } from './job.js';
import { jobsCommand } from './jobs.js';
import { queueCommand } from './queue-admin.js';
import { statsCommand } from './stats.js';
import { statusCommand } from './status.js';

/**
 * The admin commands (enqueue, job, jobs, stats, dlq, status, queue), registered by main.ts.
 * Each has its own argument type; yargs checks them at run time, so the list is widened here.
 */
export const ADMIN_COMMANDS: Array<CommandModule<object, never>> = [
  enqueueCommand, jobCommand, jobsCommand, statsCommand, dlqCommand, statusCommand, queueCommand,
] as unknown as Array<CommandModule<object, never>>;
