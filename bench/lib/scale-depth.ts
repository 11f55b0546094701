/**
 * The scale bench's depth part: one private redis-server per depth, each holding one queue of
 * `depth` pending no-op jobs, and slices of lease+complete taken from it through the queue API
 * (the same Lua scripts the supervisor's lease loop and acker call, in batches of 128) while the
 * depth stays where it is. Each slice is topped up first (topUp, untimed), so it runs from
 * depth + slice pending down to depth.
 */
import { Redis } from 'ioredis';
import { Queue, QueueConsumer } from '../../src/index.js';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/redis-server.js';
import { commandStatsProbe, type CommandStats } from './commandstats.js';
import { TROUPE_RETENTION } from './e2e-producers.js';
import { redisCpuSeconds } from './env.js';
import { redisMemory, scriptTimes, withSlowlogOfEverything, type RedisMemory } from './scale-redis.js';

/** As the supervisor's lease loop asks (src/supervisor/lease-loop.ts) and queue-ops measures. */
export const LEASE_BATCH = 128;
/** enqueueMany's own chunk: one script call per 1,000 jobs. */
const FILL_BATCH = 1000;
const LEASE_MS = 60_000;
/** Lease calls carry it; SLOWLOG tells them from completes by it (scale-redis.ts scriptTimes). */
export const DEPTH_OWNER = 'scale-bench-owner';
const QUEUE = 'scale-depth';
/** Room in the slowlog per job sliced: the script calls plus the commands they run (HMGET, HSET, ...). */
const SLOWLOG_ENTRIES_PER_JOB = 5;

interface NoopData {
  n: number;
}

export interface DepthFill {
  depth: number;
  seconds: number;
  /** Redis memory with the queue warm and empty, and with `depth` jobs pending. */
  before: RedisMemory;
  after: RedisMemory;
}

export interface SliceResult {
  jobs: number;
  seconds: number;
  /** Client-observed time inside lease() and inside complete() calls (round trips included). */
  leaseSeconds: number;
  completeSeconds: number;
  redisCpuSeconds: number;
  counts: CommandStats;
}

export interface ScriptTimes {
  /** Server µs of each lease call (LEASE_BATCH jobs) and each complete call in one slice. */
  lease: number[];
  complete: number[];
}

/** One depth's server and queue, filled once and then sliced round after round. */
export class DepthQueue {
  private next = 0;

  private constructor(
    readonly depth: number,
    private readonly server: PrivateRedis,
    private readonly admin: Redis,
    private readonly client: Redis,
    private readonly queue: Queue<NoopData>,
    private readonly consumer: QueueConsumer,
  ) {}

  static async open(depth: number): Promise<DepthQueue> {
    const server = await startPrivateRedis();
    try {
      const admin = new Redis(server.url);
      // One client for the queue and its consumer, connected before anything is timed.
      const client = new Redis(server.url);
      await Promise.all([admin.ping(), client.ping()]);
      const queue = new Queue<NoopData>(QUEUE, { connection: client, defaultJobOptions: TROUPE_RETENTION });
      const consumer = new QueueConsumer(QUEUE, { connection: client });
      return new DepthQueue(depth, server, admin, client, queue, consumer);
    } catch (err) {
      await server.destroy();
      throw err;
    }
  }

  /** Untimed: loads the scripts into Redis and warms the JIT on this queue. */
  async warm(jobs: number): Promise<void> {
    await this.add(jobs);
    await this.take(jobs);
    await this.expectPending(0);
  }

  /**
   * Fills the queue to `depth` while it is paused (as an operator would before a backlog is let
   * through; lease refuses a paused queue), then resumes it. Memory is read around the fill.
   */
  async fill(): Promise<DepthFill> {
    await this.queue.pause();
    const before = await redisMemory(this.admin);
    const started = performance.now();
    await this.add(this.depth);
    const seconds = (performance.now() - started) / 1000;
    const after = await redisMemory(this.admin);
    await this.expectPending(this.depth);
    await this.queue.resume();
    return { depth: this.depth, seconds, before, after };
  }

  /** Untimed: adds the jobs the next slice takes, so the slice runs from depth + jobs down to depth. */
  async topUp(jobs: number): Promise<void> {
    await this.add(jobs);
    await this.expectPending(this.depth + jobs);
  }

  /** Leases and completes `jobs` after a topUp(jobs), timed; the depth is back where it was. */
  async slice(jobs: number): Promise<SliceResult> {
    await this.expectPending(this.depth + jobs);
    const probe = commandStatsProbe(this.admin);
    const cpuBefore = await redisCpuSeconds(this.admin);
    await probe.start();
    const started = performance.now();
    const { leaseSeconds, completeSeconds } = await this.take(jobs);
    const seconds = (performance.now() - started) / 1000;
    const counts = await probe.stop();
    const redisCpu = (await redisCpuSeconds(this.admin)) - cpuBefore;
    await this.expectPending(this.depth);
    return { jobs, seconds, leaseSeconds, completeSeconds, redisCpuSeconds: redisCpu, counts };
  }

  /** A slice under SLOWLOG (every command logged with its server time): untimed, for the per-script split. */
  async scriptTimes(jobs: number): Promise<ScriptTimes> {
    await this.topUp(jobs);
    const calls = 2 * Math.ceil(jobs / LEASE_BATCH);
    // Redis logs the commands a script runs as entries of their own (about 3 per job here).
    const entries = await withSlowlogOfEverything(this.admin, jobs * SLOWLOG_ENTRIES_PER_JOB + 1000, async () => {
      await this.take(jobs);
    });
    await this.expectPending(this.depth);
    const times = scriptTimes(entries, DEPTH_OWNER);
    if (times.lease.length !== calls / 2 || times.complete.length !== calls / 2) {
      throw new Error(`SLOWLOG pass at depth ${this.depth}: expected ${calls / 2} lease and complete calls, saw ${times.lease.length} and ${times.complete.length}`);
    }
    return times;
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.consumer.close()]);
    for (const c of [this.client, this.admin]) await c.quit().catch(() => c.disconnect()); // Quit fails if the server died; then drop the socket.
    await this.server.destroy();
  }

  private async add(jobs: number): Promise<void> {
    for (let start = 0; start < jobs; start += FILL_BATCH) {
      const size = Math.min(FILL_BATCH, jobs - start);
      await this.queue.enqueueMany(Array.from({ length: size }, () => ({ processor: 'noop', data: { n: (this.next += 1) } })));
    }
  }

  /** Leases and completes exactly `jobs`; a short lease or a lost one means the queue is not what the bench thinks. */
  private async take(jobs: number): Promise<{ leaseSeconds: number; completeSeconds: number }> {
    let leaseMs = 0;
    let completeMs = 0;
    for (let done = 0; done < jobs; ) {
      const want = Math.min(LEASE_BATCH, jobs - done);
      const t0 = performance.now();
      const { jobs: leased } = await this.consumer.lease<NoopData>(DEPTH_OWNER, want, LEASE_MS);
      const t1 = performance.now();
      if (leased.length !== want) throw new Error(`depth ${this.depth}: lease of ${want} returned ${leased.length} jobs`);
      const lost = await this.consumer.complete(leased.map((job) => ({ lease: job.lease, result: null })));
      completeMs += performance.now() - t1;
      leaseMs += t1 - t0;
      if (lost.length > 0) throw new Error(`depth ${this.depth}: ${lost.length} leases lost (${lost[0]})`);
      done += want;
    }
    return { leaseSeconds: leaseMs / 1000, completeSeconds: completeMs / 1000 };
  }

  private async expectPending(pending: number): Promise<void> {
    const c = await this.queue.counts();
    if (c.pending !== pending || c.active !== 0 || c.delayed !== 0 || c.dead !== 0 || c.completed !== 0) {
      throw new Error(`depth ${this.depth}: expected ${pending} pending and nothing else, found pending ${c.pending}, active ${c.active}, delayed ${c.delayed}, dead ${c.dead}, completed ${c.completed}`);
    }
  }
}
