import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../queue/connection.js';
import type { Logger } from './logger.js';
import { Periodic } from './timers.js';

/** Cross-queue keys share their own hash tag, so the registry works on a Redis Cluster too. */
export const REGISTRY_KEY = 'troupe:{registry}:supervisors';
export const supervisorKey = (id: string) => `troupe:{registry}:supervisor:${id}`;

/** A supervisor entry expires on its own if its heartbeats stop for this many intervals. */
const EXPIRY_HEARTBEATS = 6;

export interface SupervisorSnapshot {
  /** Configured thread count (the pool's maximum). */
  threads: number;
  /**
   * Threads running a job now, and threads alive now (the pool shrinks to minThreads when idle;
   * the I/O thread counts). Optional: a registry fed by something other than a Supervisor may not know.
   */
  busyThreads?: number;
  liveThreads?: number;
  queues: string[];
  /** Jobs running on a thread now. */
  inFlight: number;
  held: number;
  completed: number;
  failed: number;
  dead: number;
  timedOut: number;
  leaseLost: number;
  threadRestarts: number;
}

/** Fields added after the first release: null in the entry of a supervisor too old to write them. */
type Added = 'busyThreads' | 'liveThreads';

export interface SupervisorEntry extends Omit<SupervisorSnapshot, Added> {
  busyThreads: number | null;
  liveThreads: number | null;
  /** Resident set size of the whole process (every thread) at the last heartbeat. */
  rssBytes: number | null;
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
  heartbeatMs: number;
  /** Heartbeat older than three intervals: the process is gone or stalled. */
  stale: boolean;
}

export function newSupervisorId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** Announces this supervisor in Redis and keeps its entry fresh; removes it on a clean exit. */
export class Registry {
  private readonly startedAt = Date.now();
  /** One beat at a time: a beat held up by a slow Redis skips the ticks it overlaps instead of queueing more. */
  private readonly heartbeat: Periodic;

  constructor(
    private readonly client: RedisClient,
    readonly id: string,
    private readonly heartbeatMs: number,
    private readonly snapshot: () => SupervisorSnapshot,
    private readonly logger: Logger,
  ) {
    this.heartbeat = new Periodic(heartbeatMs, () =>
      this.beat().catch((err: unknown) => {
        // The entry outlives several missed beats; the next one repairs it.
        this.logger.warn({ err }, 'registry heartbeat failed; retrying at the next interval');
      }),
    );
  }

  async start(): Promise<void> {
    await this.beat();
    this.heartbeat.start();
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    const s = this.snapshot();
    const key = supervisorKey(this.id);
    await this.client
      .multi()
      .hset(key, {
        id: this.id,
        host: hostname(),
        pid: process.pid,
        startedAt: this.startedAt,
        heartbeatAt: now,
        heartbeatMs: this.heartbeatMs,
        threads: s.threads,
        ...(s.busyThreads === undefined ? {} : { busyThreads: s.busyThreads }),
        ...(s.liveThreads === undefined ? {} : { liveThreads: s.liveThreads }),
        // process.memoryUsage.rss() reads one number; memoryUsage() would walk the heap too.
        rssBytes: process.memoryUsage.rss(),
        queues: s.queues.join(','),
        inFlight: s.inFlight,
        held: s.held,
        completed: s.completed,
        failed: s.failed,
        dead: s.dead,
        timedOut: s.timedOut,
        leaseLost: s.leaseLost,
        threadRestarts: s.threadRestarts,
      })
      .pexpire(key, this.heartbeatMs * EXPIRY_HEARTBEATS)
      .zadd(REGISTRY_KEY, now, this.id)
      .exec();
  }

  async stop(): Promise<void> {
    // Waits for a beat in flight (sent on the same connection, it lands first either way), then removes the entry.
    await this.heartbeat.stop();
    await this.client.multi().del(supervisorKey(this.id)).zrem(REGISTRY_KEY, this.id).exec();
  }
}

const optionalNumber = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

/** Live and recently gone supervisors, newest heartbeat first (`troupe status`, the dashboard). */
export async function listSupervisors(client: RedisClient, now = Date.now()): Promise<SupervisorEntry[]> {
  const ids = await client.zrange(REGISTRY_KEY, '0', '-1', 'REV');
  const entries: SupervisorEntry[] = [];
  const gone: string[] = [];
  for (const id of ids) {
    const h = await client.hgetall(supervisorKey(id));
    if (!h.id) {
      gone.push(id);
      continue;
    }
    const heartbeatMs = Number(h.heartbeatMs);
    const heartbeatAt = Number(h.heartbeatAt);
    entries.push({
      id,
      host: h.host ?? '',
      pid: Number(h.pid),
      startedAt: Number(h.startedAt),
      heartbeatAt,
      heartbeatMs,
      stale: now - heartbeatAt > heartbeatMs * 3,
      threads: Number(h.threads),
      busyThreads: optionalNumber(h.busyThreads),
      liveThreads: optionalNumber(h.liveThreads),
      rssBytes: optionalNumber(h.rssBytes),
      queues: (h.queues ?? '').split(',').filter(Boolean),
      inFlight: Number(h.inFlight),
      held: Number(h.held),
      completed: Number(h.completed),
      failed: Number(h.failed),
      dead: Number(h.dead),
      timedOut: Number(h.timedOut),
      leaseLost: Number(h.leaseLost),
      threadRestarts: Number(h.threadRestarts),
    });
  }
  // Entries whose hash expired belong to supervisors that died without saying so.
  if (gone.length > 0) await client.zrem(REGISTRY_KEY, ...gone);
  return entries;
}
