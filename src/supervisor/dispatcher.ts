import type { LeasedJob } from '../queue/consumer.js';
import type { Lease } from '../queue/lease.js';
import { CELL_INDEX, CELL_SLOTS, CELL_THREAD_ID, toColumns, type ThreadJob, type ThreadTaskResult } from '../threads/protocol.js';
import type { SupervisorConfig } from './config.js';
import type { HeldJob } from './held-job.js';
import type { Logger } from './logger.js';
import type { KilledFor, Outcomes } from './outcomes.js';
import type { ThreadPool } from './pool.js';
import type { SupervisorStats } from './stats.js';
import { Watchdog } from './watchdog.js';
import { ThreadRecycler } from './recycler.js';
import type { SupervisorEvents } from './events.js';
import type { InFlightJob } from './service.js';

export interface DispatcherDeps {
  pool: ThreadPool;
  events: SupervisorEvents;
  config: SupervisorConfig;
  logger: Logger;
  stats: SupervisorStats;
  /** Where every task result and task error goes to become acks. */
  outcomes: Outcomes;
  /** How many jobs of a processor that waits on I/O may run at once (Processor.concurrency); 0 for CPU work. */
  concurrencyOf(processor: string): number;
  /** The thread for jobs that wait on I/O, made on first use. */
  ioPool(): ThreadPool;
  /** Outcomes finished but not yet written to Redis (every queue's acker). */
  unwrittenOutcomes?(): number;
}

/**
 * Past this many outcomes waiting to be written, nothing more is leased: when Redis refuses
 * writes (full, read-only, down), jobs would otherwise keep running and their results pile up in
 * memory. Leasing resumes once writes catch up.
 */
export const MAX_UNWRITTEN_OUTCOMES = 1000;

interface RunningTask {
  jobs: HeldJob[];
  cell: BigInt64Array;
  pool: ThreadPool;
  /** The I/O processor whose slot this task holds; undefined for a CPU task. */
  io?: string;
  killedFor?: KilledFor;
  /** Shutdown met it before a thread picked it up: polls for the thread to stop it there. */
  killOnPickup?: NodeJS.Timeout;
}

/** Adds `by` to a count kept per key, dropping keys that reach 0. */
function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/** The thread running a task (0 until the thread picked it up). */
function threadOf(task: RunningTask): number {
  return Number(Atomics.load(task.cell, CELL_THREAD_ID));
}

/** A job at or under this average run time is packed with others into one thread task. */
const SHORT_JOB_MS = 1;
/** How far ahead the buffer should cover: enough jobs to hide a lease round trip. */
const LOOKAHEAD_MS = 5;
const EWMA_WEIGHT = 0.2;

/** Bytes cross to the thread by transfer; a Buffer sharing the socket's memory is copied once first. */
function transferable(data: unknown, transfer: ArrayBuffer[]): unknown {
  if (!(data instanceof Uint8Array)) return data;
  const exclusive = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const bytes = exclusive ? data : new Uint8Array(data);
  transfer.push(bytes.buffer as ArrayBuffer);
  return bytes;
}

/**
 * Holds leased jobs from lease to acknowledgement and schedules them: buffers them, packs them
 * into thread tasks when threads are free, and stops a thread whose job overstays its limit.
 * How a task ended goes to Outcomes as it is. Never queues inside Piscina, so a buffered job
 * never times out.
 *
 * Two lanes: CPU jobs fill `threads x tasksPerThread` slots; jobs of a processor that declares
 * `concurrency` (it waits on I/O) take that many slots of their own on the I/O thread, so a
 * long wait neither holds a CPU slot nor puts more CPU work on the threads than they have.
 */
export class Dispatcher {
  private buffer: HeldJob[] = [];
  private ioBuffer: HeldJob[] = [];
  /** Per I/O processor: tasks running, and jobs buffered. */
  private readonly ioRunning = new Map<string, number>();
  private readonly ioBuffered = new Map<string, number>();
  private cpuRunning = 0;
  private readonly held = new Map<string, Map<string, HeldJob>>();
  private readonly running = new Set<RunningTask>();
  private readonly slots: number;
  private readonly runMs = new Map<string, number>();
  private avgJobMs: number | undefined;
  private waiters: Array<() => void> = [];
  private readonly recycler: ThreadRecycler;

  constructor(private readonly deps: DispatcherDeps) {
    this.slots = deps.config.threads * deps.config.tasksPerThread;
    this.recycler = new ThreadRecycler(deps.config, deps.logger);
  }

  /**
   * How many more jobs the lease loops should take now: the CPU lane's free slots and prefetch,
   * plus the free slots of each I/O processor that has jobs here (a lease cannot ask for one
   * processor's jobs, so idle I/O slots are not counted: they would hoard CPU jobs).
   */
  wanted(): number {
    if ((this.deps.unwrittenOutcomes?.() ?? 0) >= MAX_UNWRITTEN_OUTCOMES) return 0;
    const cpu = Math.max(0, this.slots - this.cpuRunning + this.prefetchTarget() - this.buffer.length);
    let io = 0;
    for (const name of new Set([...this.ioRunning.keys(), ...this.ioBuffered.keys()])) {
      io += Math.max(0, this.deps.concurrencyOf(name) - (this.ioRunning.get(name) ?? 0) - (this.ioBuffered.get(name) ?? 0));
    }
    return cpu + io;
  }

  /** Short jobs need a deep buffer to keep threads busy across a lease round trip; long ones do not. */
  private prefetchTarget(): number {
    const { prefetch } = this.deps.config;
    if (this.avgJobMs === undefined) return Math.min(prefetch, this.slots);
    const cover = Math.ceil((this.slots * LOOKAHEAD_MS) / Math.max(this.avgJobMs, 0.001));
    return Math.min(prefetch, Math.max(this.slots, cover));
  }

  /** Resolves when a job settles or a thread frees up. */
  capacityChanged(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  add(jobs: readonly LeasedJob[]): void {
    const corrupt: HeldJob[] = [];
    for (const job of jobs) {
      const held: HeldJob = { job, state: 'buffered', lost: false };
      if (job.corrupt) {
        corrupt.push(held);
      } else if (this.deps.concurrencyOf(job.processor) > 0) {
        this.ioBuffer.push(held);
        bump(this.ioBuffered, job.processor, 1);
      } else {
        this.buffer.push(held);
      }
      let byId = this.held.get(job.queue);
      if (!byId) this.held.set(job.queue, (byId = new Map()));
      byId.set(job.id, held);
    }
    this.deps.stats.leased += jobs.length;
    if (jobs.length > 0) this.deps.events.emit('leased', { jobs, at: Date.now() });
    // Held like the others (renewed until its ack is written), but never run.
    for (const held of corrupt) this.deps.outcomes.corrupt(held, held.job.corrupt ?? []);
    this.pump();
  }

  /** Every lease this supervisor holds on a queue, for one renewal call. */
  leasesOf(queue: string): Lease[] {
    const byId = this.held.get(queue);
    if (!byId) return [];
    const leases: Lease[] = [];
    for (const held of byId.values()) if (!held.lost) leases.push(held.job.lease);
    return leases;
  }

  findHeld(queue: string, id: string): HeldJob | undefined {
    return this.held.get(queue)?.get(id);
  }

  /**
   * Renewal found these leases gone: drop buffered ones; running ones finish and are refused.
   * Returns the ids really lost. A job whose outcome is being written is left to the acker: its
   * lease may be gone only because that write landed first, and if it was really lost the
   * write says so and the acker counts it.
   */
  markLost(queue: string, ids: readonly string[]): string[] {
    const byId = this.held.get(queue);
    const dropped = new Set<HeldJob>();
    const lost: string[] = [];
    for (const id of ids) {
      const held = byId?.get(id);
      if (!held || held.state === 'acking') continue;
      held.lost = true;
      lost.push(id);
      if (held.state === 'buffered') dropped.add(held);
    }
    if (dropped.size > 0) {
      // One pass over each buffer, however many leases were lost.
      this.buffer = this.buffer.filter((h) => !dropped.has(h));
      this.ioBuffer = this.ioBuffer.filter((h) => !dropped.has(h));
      for (const held of dropped) if (this.deps.concurrencyOf(held.job.processor) > 0) bump(this.ioBuffered, held.job.processor, -1);
      for (const held of dropped) this.settle(held);
    }
    this.deps.stats.leaseLost += lost.length;
    return lost;
  }

  /** Called once Redis took a job's outcome (or the job was dropped): it is no longer held. */
  settle(held: HeldJob): void {
    const byId = this.held.get(held.job.queue);
    byId?.delete(held.job.id);
    this.notify();
  }

  get heldCount(): number {
    let n = 0;
    for (const byId of this.held.values()) n += byId.size;
    return n;
  }

  /** Every job held now, for /status. */
  inFlight(now = Date.now()): InFlightJob[] {
    const jobs: InFlightJob[] = [];
    for (const byId of this.held.values()) {
      for (const { job, state } of byId.values()) {
        jobs.push({ id: job.id, queue: job.queue, processor: job.processor, attempt: job.attempt, state, heldMs: now - job.leasedAt });
      }
    }
    return jobs;
  }

  /** Threads running at least one task of ours. */
  get busyThreads(): number {
    const threads = new Set<number>();
    for (const task of this.running) {
      const id = threadOf(task);
      if (id > 0) threads.add(id);
    }
    return threads.size;
  }

  get runningCount(): number {
    let n = 0;
    for (const task of this.running) n += task.jobs.length;
    return n;
  }

  /** Shutdown: hand back every job not started yet (without using an attempt). */
  releaseBuffered(): number {
    const buffered = [...this.buffer, ...this.ioBuffer];
    this.buffer = [];
    this.ioBuffer = [];
    this.ioBuffered.clear();
    this.deps.outcomes.released(buffered);
    return buffered.length;
  }

  /** Shutdown past its deadline: stop the threads of every running task; their jobs are failed for retry. */
  abortRunning(): void {
    for (const task of this.running) {
      task.killedFor = { reason: 'shutdown' };
      const thread = threadOf(task);
      if (thread > 0) {
        task.pool.kill(thread);
        continue;
      }
      // Still queued for a thread (one starting up). An abort signal would take it out of the
      // queue, but Piscina runs an abortable task alone on its thread, which would end the I/O
      // lane's sharing; so it is stopped on the thread that picks it up.
      task.killOnPickup = setInterval(() => {
        const picked = threadOf(task);
        if (picked > 0) {
          clearInterval(task.killOnPickup);
          task.pool.kill(picked);
        }
      }, 5);
    }
  }

  /** Resolves when no task is running. */
  async whenIdle(): Promise<void> {
    while (this.running.size > 0) await this.capacityChanged();
  }

  private pump(): void {
    while (this.cpuRunning < this.slots && this.buffer.length > 0) {
      const free = this.slots - this.cpuRunning;
      const size = this.batchSize(free);
      this.start(this.buffer.splice(0, size));
    }
    if (this.ioBuffer.length === 0) return;
    // One job per task, in lease order, while its processor has a free slot.
    const waiting: HeldJob[] = [];
    for (const held of this.ioBuffer) {
      const name = held.job.processor;
      if ((this.ioRunning.get(name) ?? 0) >= this.deps.concurrencyOf(name)) {
        waiting.push(held);
        continue;
      }
      bump(this.ioBuffered, name, -1);
      this.start([held], name);
    }
    this.ioBuffer = waiting;
  }

  private batchSize(free: number): number {
    const max = Math.min(this.deps.config.maxJobsPerTask, Math.ceil(this.buffer.length / free));
    let n = 0;
    while (n < max && n < this.buffer.length) {
      const avg = this.runMs.get(this.buffer[n]!.job.processor);
      if (avg === undefined || avg > SHORT_JOB_MS) break;
      n += 1;
    }
    return Math.max(1, n);
  }

  private start(jobs: HeldJob[], io?: string): void {
    const cellBuffer = new SharedArrayBuffer(CELL_SLOTS * 8);
    const cell = new BigInt64Array(cellBuffer);
    cell[CELL_INDEX] = -1n;
    const pool = io === undefined ? this.deps.pool : this.deps.ioPool();
    const task: RunningTask = { jobs, cell, pool, ...(io === undefined ? {} : { io }) };
    this.running.add(task);
    if (io === undefined) this.cpuRunning += 1;
    else bump(this.ioRunning, io, 1);
    const transfer: ArrayBuffer[] = [];
    const threadJobs: ThreadJob[] = jobs.map((held) => {
      held.state = 'running';
      const { job } = held;
      return {
        id: job.id,
        queue: job.queue,
        processor: job.processor,
        data: transferable(job.data, transfer),
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        // The job's own limit only: the thread resolves the rest and publishes what it applies.
        timeoutMs: job.timeoutMs,
      };
    });
    const watchdog = new Watchdog(cell, jobs.length, (_index, limit) => {
      task.killedFor = { reason: 'timeout', limit };
      // The watchdog fires only after the job started, so the thread id is set.
      pool.kill(threadOf(task));
    });
    const startedAt = performance.now();
    pool
      .run({ jobs: toColumns(threadJobs), cell: cellBuffer }, transfer)
      .then(
        (result) => this.finished(task, result, performance.now() - startedAt),
        (err: unknown) =>
          this.deps.outcomes.taskFailed(task.jobs, {
            err,
            index: Number(Atomics.load(cell, CELL_INDEX)),
            ...(task.killedFor ? { killedFor: task.killedFor } : {}),
            threadStopped: pool.wasStopped(threadOf(task)),
          }),
      )
      .catch((err: unknown) => this.deps.logger.error({ err }, 'handling a task outcome failed; its jobs will be reclaimed when their leases expire'))
      .finally(() => {
        watchdog.stop();
        clearInterval(task.killOnPickup);
        this.running.delete(task);
        if (io === undefined) this.cpuRunning -= 1;
        else bump(this.ioRunning, io, -1);
        const thread = threadOf(task);
        if (thread > 0 && ![...this.running].some((t) => threadOf(t) === thread)) pool.idle(thread);
        this.notify();
        this.pump();
      });
  }

  private finished(task: RunningTask, result: ThreadTaskResult, elapsedMs: number): void {
    // The task's round trip (hop to the thread and back) counts towards the buffer's lookahead;
    // each job's own run time decides whether its processor is short enough to pack.
    const perJob = elapsedMs / task.jobs.length;
    this.deps.outcomes.taskReturned(task.jobs, result, elapsedMs);
    this.recycler.afterTask(result, task.pool);
    // I/O waits say nothing about how deep the CPU lane's buffer must be, nor about packing.
    if (task.io !== undefined) return;
    this.avgJobMs = this.avgJobMs === undefined ? perJob : this.avgJobMs + EWMA_WEIGHT * (perJob - this.avgJobMs);
    task.jobs.forEach((held, i) => {
      const name = held.job.processor;
      const ran = result.durationsMs[i] ?? perJob;
      const before = this.runMs.get(name);
      this.runMs.set(name, before === undefined ? ran : before + EWMA_WEIGHT * (ran - before));
    });
  }
}
