import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SupervisorEvents } from './events.js';
import type { Logger } from './logger.js';
import { RssWatch, type MemoryCapError } from './memory-watch.js';
import { threadEntryUrl } from '../threads/entry.js';
import { isThreadEvent, type ThreadEvent, type ThreadInit, type ThreadTask, type ThreadTaskResult } from '../threads/protocol.js';

export interface PoolOptions {
  threads: number;
  minThreads: number;
  tasksPerThread: number;
  maxMemoryMb: number;
  idleTimeoutMs: number;
  /** --max-rss-mb: the process RSS at which the RSS watch stops the thread holding the most (0 = off). */
  maxRssMb?: number;
  init: ThreadInit;
}

/** One RSS watch per process: RSS is the process's, whichever pools and supervisors share it. */
let rssWatch: RssWatch | undefined;

type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

/**
 * Piscina's least-busy choice, except that a thread being retired gets no new task: it is
 * terminated once its last task ended, so retiring never hands a job back.
 */
function skipping(retiring: ReadonlySet<number>, maximumUsage: number): Balancer {
  return (task, workers) => {
    let candidate: (typeof workers)[number] | null = null;
    let least = maximumUsage;
    for (const worker of workers) {
      if (retiring.has(worker.id) || worker.terminating || worker.destroyed) continue;
      if (worker.currentUsage === 0) return worker;
      if (worker.isRunningAbortableTask) continue;
      if (!task.isAbortable && worker.currentUsage < least) {
        candidate = worker;
        least = worker.currentUsage;
      }
    }
    return candidate;
  };
}

/**
 * The Piscina pool, narrowed to what the supervisor needs: run a task (a task is stopped by
 * terminating its thread), retire a thread between tasks, and hear thread events.
 */
export class ThreadPool {
  private readonly piscina: Piscina<ThreadTask, ThreadTaskResult>;
  /** Threads to retire: no new task goes to them, and they are terminated once idle. */
  private readonly retiring = new Set<number>();
  /** Threads the supervisor terminated (thread ids are never reused within a process). */
  private readonly stopped = new Set<number>();
  private readonly watched = new WeakSet<Worker>();
  /** The task whose thread the RSS watch stopped, and the error its run ends with. */
  private readonly memoryStops = new WeakMap<SharedArrayBuffer, MemoryCapError>();
  private closing = false;

  constructor(
    private readonly options: PoolOptions,
    private readonly logger: Logger,
    onEvent: (event: ThreadEvent) => void,
    events: SupervisorEvents,
  ) {
    this.piscina = new Piscina<ThreadTask, ThreadTaskResult>({
      filename: threadEntryUrl().href,
      maxThreads: options.threads,
      minThreads: options.minThreads,
      concurrentTasksPerWorker: options.tasksPerThread,
      idleTimeout: options.idleTimeoutMs,
      resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb },
      workerData: options.init,
      loadBalancer: skipping(this.retiring, options.tasksPerThread),
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
    const capMb = this.options.maxRssMb ?? 0;
    if (capMb <= 0) return this.piscina.run(task, { transferList });
    rssWatch ??= new RssWatch({ warn: (fields, message) => this.logger.warn(fields, message) });
    const unwatch = rssWatch.watch({
      cell: new BigInt64Array(task.cell),
      capMb,
      stop: (threadId, error) => {
        this.logger.error({ threadId, code: error.code, reason: error.message }, 'RSS over --max-rss-mb: stopping the thread holding the most memory outside the heap');
        this.memoryStops.set(task.cell, error);
        this.kill(threadId);
      },
    });
    return this.piscina.run(task, { transferList }).then(
      (result) => {
        unwatch();
        return result;
      },
      (err: unknown) => {
        unwatch();
        throw this.memoryStops.get(task.cell) ?? err;
      },
    );
  }

  /** Terminates one thread now (a job overstayed its limit, or shutdown): every task on it fails. */
  kill(threadId: number): boolean {
    const worker = this.piscina.threads.find((w) => w.threadId === threadId);
    if (!worker) return false;
    this.stopped.add(threadId);
    void worker.terminate();
    return true;
  }

  /**
   * Retires a thread between tasks: it gets no new task, and idle(threadId) terminates it once
   * the dispatcher has no task left on it. Piscina replaces it when below minThreads.
   */
  retire(threadId: number): boolean {
    if (!this.piscina.threads.some((w) => w.threadId === threadId) || this.stopped.has(threadId)) return false;
    this.retiring.add(threadId);
    return true;
  }

  /** The dispatcher has no task running on this thread: a thread being retired goes now. */
  idle(threadId: number): void {
    if (this.retiring.has(threadId) && !this.stopped.has(threadId)) this.kill(threadId);
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
