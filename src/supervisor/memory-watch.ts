/**
 * The RSS watchdog (--max-rss-mb): stops the thread that is growing the process's memory
 * outside the V8 heap, which --max-memory-mb does not bound (pdf.js's inflated streams, Buffers,
 * native add-ons, WebAssembly memories).
 *
 * What it measures, honestly: worker threads share one process, so the only number that covers
 * everything is the process's RSS, sampled here every SAMPLE_MS on the supervisor's own event
 * loop (which a thread's synchronous run does not block). There is no per-thread RSS. To pick
 * the thread to stop, each running task's thread reports its isolate's external memory into the
 * task's cell every MEMORY_REPORT_MS (src/threads/memory-report.ts), and a thread whose reports
 * stopped (> STALE_MS) is in one long synchronous run: it is charged, on top of its last report,
 * all the RSS growth since that report. The task with the largest charge is stopped: its job
 * fails unrecoverable with THREAD_MEMORY_CAP (running it again would do the same), and the other
 * tasks on that thread go back to their queues without using an attempt. After a stop the watch
 * waits for the RSS to come down (the thread's memory is freed with it) before stopping another.
 *
 * One watch per process, since RSS is per process: every pool of every supervisor in it registers
 * its running tasks, and the lowest cap among them applies.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { CodedError } from '../errors.js';
import { CELL_EXTERNAL_BYTES, CELL_MEMORY_AT, CELL_THREAD_ID } from '../threads/protocol.js';
import { SupervisorErrorCode } from './task-failure.js';

export const SAMPLE_MS = 100;
/** A thread that has not reported for this long is in a synchronous run (it reports every 100 ms). */
const STALE_MS = 300;
/** After a stop, the longest the watch waits for the RSS to fall under the cap before it stops another thread. */
const SETTLE_MS = 2_000;
/**
 * A thread charged less than this is not stopped, however high the RSS: stopping it would free
 * nothing. RSS stays high after a stopped thread because glibc keeps freed memory for reuse
 * (measured after a pdf.js bomb: 547 MiB, 120 MiB after malloc_trim), and a job that happens to
 * run then must not pay for it.
 */
export const MIN_CHARGE_BYTES = 32 * 1024 * 1024;

const mib = (bytes: number) => Math.round(bytes / 1048576);

/** The job whose thread the watch stopped; unrecoverable, as its next run would grow the same way. */
export class MemoryCapError extends CodedError<typeof SupervisorErrorCode.MemoryCap> {
  readonly unrecoverable = true;
  constructor(rssBytes: number, capMb: number, chargedBytes: number, stuck: boolean) {
    super(
      SupervisorErrorCode.MemoryCap,
      `the supervisor's memory (RSS ${mib(rssBytes)} MiB) passed --max-rss-mb ${capMb} while this job ran, and its thread was stopped as the one ` +
        `holding the most memory outside the V8 heap (${mib(chargedBytes)} MiB${stuck ? ', growing in one synchronous run' : ''}); ` +
        `the job is not retried. Give the job a smaller input or a tighter processor limit, or raise --max-rss-mb (TROUPE_MAX_RSS_MB) if the supervisor has the memory`,
    );
  }
}

export interface WatchedTask {
  cell: BigInt64Array;
  capMb: number;
  /** Stops the task's thread; the task's run rejects with `error`. */
  stop(threadId: number, error: MemoryCapError): void;
  /** RSS at the last sample that found the thread's report fresh. */
  rssWhenFresh?: number;
}

export interface RssWatchOptions {
  rss?: () => number;
  now?: () => number;
  /** Told once per episode when the RSS is over the cap but no thread holds enough to be worth stopping. */
  warn?: (fields: { rssMb: number; capMb: number; largestChargeMb: number }, message: string) => void;
}

export class RssWatch {
  private readonly tasks = new Set<WatchedTask>();
  private timer: NodeJS.Timeout | undefined;
  private stoppedAt: number | undefined;
  private readonly rss: () => number;
  private readonly now: () => number;
  private warned = false;
  /** The RSS at the last sample (or when the watch started): one system call per SAMPLE_MS, not per task. */
  private lastRss: number | undefined;

  constructor(private readonly options: RssWatchOptions = {}) {
    this.rss = options.rss ?? (() => process.memoryUsage.rss());
    this.now = options.now ?? Date.now;
  }

  /** Watches a task until the returned function is called (the task ended). */
  watch(task: WatchedTask): () => void {
    // Not a fresh RSS read: at tens of thousands of tiny tasks a second the read was 9% of the
    // supervisor's thread (measured, issue 14). The last sample is at most SAMPLE_MS old, and
    // a task stuck from its start is charged the growth since then, which a sample absorbs.
    if (!this.timer || this.lastRss === undefined) this.lastRss = this.rss();
    task.rssWhenFresh = this.lastRss;
    this.tasks.add(task);
    if (!this.timer) {
      this.timer = setInterval(() => this.sample(), SAMPLE_MS);
      this.timer.unref();
    }
    // The timer stops at the first sample that finds no task (see sample()), not when the last
    // task ends: tiny tasks come and go thousands of times a second, each gap would restart it.
    return () => {
      this.tasks.delete(task);
    };
  }

  /** One sample: charge each running task, and stop the largest when the RSS is over the cap. */
  sample(): void {
    if (this.tasks.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const rss = this.rss();
    this.lastRss = rss;
    const now = this.now();
    let cap = Infinity;
    let victim: { task: WatchedTask; thread: number; charged: number; stuck: boolean } | undefined;
    for (const task of this.tasks) {
      const thread = Number(Atomics.load(task.cell, CELL_THREAD_ID));
      if (thread <= 0) continue; // not picked up yet: holds nothing
      cap = Math.min(cap, task.capMb);
      const reported = Number(Atomics.load(task.cell, CELL_EXTERNAL_BYTES));
      const stuck = now - Number(Atomics.load(task.cell, CELL_MEMORY_AT)) > STALE_MS;
      if (!stuck) task.rssWhenFresh = rss;
      const charged = reported + (stuck ? Math.max(0, rss - (task.rssWhenFresh ?? rss)) : 0);
      if (!victim || charged > victim.charged) victim = { task, thread, charged, stuck };
    }
    if (!victim || rss <= cap * 1048576) {
      this.stoppedAt = undefined;
      this.warned = false;
      return;
    }
    if (victim.charged < MIN_CHARGE_BYTES) {
      if (!this.warned) {
        this.warned = true;
        this.options.warn?.(
          { rssMb: mib(rss), capMb: cap, largestChargeMb: mib(victim.charged) },
          'RSS is over --max-rss-mb, but no running thread holds much memory outside its heap: nothing is stopped (memory freed earlier and kept by the allocator, or held by the supervisor itself)',
        );
      }
      return;
    }
    // The last stop's memory is freed when its thread is gone: give it time before another.
    if (this.stoppedAt !== undefined && now - this.stoppedAt < SETTLE_MS) return;
    this.stoppedAt = now;
    this.tasks.delete(victim.task);
    victim.task.stop(victim.thread, new MemoryCapError(rss, cap, victim.charged, victim.stuck));
  }
}

/** The memory this process may use: the machine's, or its control group's limit when lower (a container's). */
export function availableMemoryBytes(readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): number {
  let limit = totalmem();
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const value = Number(readFile(path).trim());
      if (Number.isFinite(value) && value > 0) limit = Math.min(limit, value);
    } catch {
      // No such control group file here (not Linux, or cgroup v1 vs v2).
    }
  }
  return limit;
}

/** --max-rss-mb's default: three quarters of the memory available, so the watch acts before the kernel's OOM killer does. */
export function defaultMaxRssMb(): number {
  return Math.floor((availableMemoryBytes() * 0.75) / 1048576);
}
