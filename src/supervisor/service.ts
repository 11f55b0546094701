import type { MemoryReport } from './memory-check.js';
import type { RedisClient } from '../queue/connection.js';
import type { SupervisorConfig } from './config.js';
import type { SupervisorEvents } from './events.js';
import type { Logger } from './logger.js';
import type { SupervisorStats } from './stats.js';

/** A job the supervisor holds right now. */
export interface InFlightJob {
  id: string;
  queue: string;
  processor: string;
  attempt: number;
  state: 'buffered' | 'running' | 'acking';
  /** Since the lease (ms). */
  heldMs: number;
}

export interface SupervisorStatus {
  id: string;
  startedAt: number;
  queues: string[];
  threads: { total: number; busy: number; idle: number; restarts: number };
  inFlight: InFlightJob[];
  stats: SupervisorStats;
  shuttingDown: boolean;
  /** Redis's memory policy and fill level per master, as last read (absent before the first read, or when INFO is refused). */
  redisMemory?: MemoryReport;
  /** Outcomes not yet written, and since when and why writing them fails, when it does. */
  outcomeWrites: { unwritten: number; failingSince?: number; cause?: string };
}

/** What a service gets from the supervisor it runs in. */
export interface ServiceContext {
  id: string;
  config: SupervisorConfig;
  /** The supervisor's own connection (shared; do not block on it). */
  redis: RedisClient;
  logger: Logger;
  events: SupervisorEvents;
  status(): SupervisorStatus;
  /** Reads Redis's memory policy and fill level again (for /health); undefined when not read. */
  refreshMemory?(): Promise<MemoryReport | undefined>;
}

/**
 * Something that runs alongside the lease loops (the scheduler, the HTTP endpoint, ...).
 * Started after the lease loops; stopped, in reverse order, once outcomes are written.
 */
export interface SupervisorService {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type ServiceFactory = (context: ServiceContext) => SupervisorService;
