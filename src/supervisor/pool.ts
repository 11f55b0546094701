import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SupervisorEvents } from './events.js';
import type { Logger } from './logger.js';
import { threadEntryUrl } from '../threads/entry.js';
import { isThreadEvent, type ThreadEvent, type ThreadInit, type ThreadTask, type ThreadTaskResult } from '../threads/protocol.js';

export interface PoolOptions {
  threads: number;
  minThreads: number;
  tasksPerThread: number;
  maxMemoryMb: number;
  idleTimeoutMs: number;
  init: ThreadInit;
}

/**
 * The Piscina pool, narrowed to what the supervisor needs: run a task (abortable, which
 * terminates its thread), retire an idle thread, and hear thread events.
 */
export class ThreadPool {
  private readonly piscina: Piscina<ThreadTask, ThreadTaskResult>;
  /** Threads we terminated on purpose, so their exit is not counted as a crash. */
  private readonly retiring = new Set<number>();
  /** Threads the supervisor terminated (thread ids are never reused within a process). */
  private readonly stopped = new Set<number>();
  private readonly watched = new WeakSet<Worker>();
  private closing = false;

  constructor(options: PoolOptions, logger: Logger, onEvent: (event: ThreadEvent) => void, events: SupervisorEvents) {
    this.piscina = new Piscina<ThreadTask, ThreadTaskResult>({
      filename: threadEntryUrl().href,
      maxThreads: options.threads,
      minThreads: options.minThreads,
      concurrentTasksPerWorker: options.tasksPerThread,
      idleTimeout: options.idleTimeoutMs,
      resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb },
      workerData: options.init,
      // The supervisor never queues inside Piscina (it submits only to free slots), so a full
      // queue would mean a bookkeeping bug: make it loud.
      maxQueue: options.threads * options.tasksPerThread,
    });
    this.piscina.on('message', (message: unknown) => {
      if (isThreadEvent(message)) onEvent(message);
    });
    this.piscina.on('error', (err: unknown) => {
      logger.error({ err }, 'thread pool error outside any task');
    });
    // Piscina's workerDestroy names a thread by an id that is already -1 once it exited, so each
    // thread's own exit is watched, with the id it had while it ran.
    const onExit = (id: number) => {
      if (this.closing) return;
      if (this.retiring.delete(id)) events.emit('threadStopped', { threadId: id, reason: 'retire' });
      else events.emit('threadStopped', { threadId: id, reason: this.stopped.has(id) ? 'kill' : 'crash' });
    };
    const watchNewThreads = () => {
      for (const worker of this.piscina.threads) {
        if (this.watched.has(worker)) continue;
        this.watched.add(worker);
        const id = worker.threadId;
        worker.once('exit', () => onExit(id));
      }
    };
    this.piscina.on('workerCreate', watchNewThreads);
    watchNewThreads();
  }

  /**
   * No AbortSignal: Piscina gives a task with a signal only to an idle thread, which would
   * defeat tasksPerThread. A task is stopped by stopping its thread (see stop()).
   */
  run(task: ThreadTask, transferList: ArrayBuffer[]): Promise<ThreadTaskResult> {
    return this.piscina.run(task, { transferList });
  }

  /**
   * Terminates one thread; Piscina replaces it when below minThreads. Every task on it then
   * fails with "worker exited": wasStopped() tells those apart from a crash.
   */
  stop(threadId: number, reason: 'retire' | 'kill'): boolean {
    const worker = this.piscina.threads.find((w) => w.threadId === threadId);
    if (!worker) return false;
    this.stopped.add(threadId);
    if (reason === 'retire') this.retiring.add(threadId);
    void worker.terminate();
    return true;
  }

  /** True when the supervisor stopped this thread on purpose (timeout, shutdown, retirement). */
  wasStopped(threadId: number): boolean {
    return this.stopped.has(threadId);
  }

  get threadCount(): number {
    return this.piscina.threads.length;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.piscina.destroy();
  }
}
