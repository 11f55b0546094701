import type { Queue } from '../../src/index.js';
import { eventually, readRecord, type SupervisorProcess } from './supervisor-process.js';

/** What a fault test counts: every job must finish; a job may run twice only where a lease was lost. */
export interface RunCount {
  total: number;
  completed: number;
  lost: string[];
  doubled: string[];
  /** Doubled jobs whose lease was neither reclaimed (leaseExpiries) nor reported lost by a supervisor. */
  unexplained: string[];
  reclaimed: number;
  reportedLost: number;
}

/** Ids that supervisors logged as lost (renewal, or an outcome refused by the fencing token). */
export function reportedLostIds(supervisors: readonly SupervisorProcess[]): Set<string> {
  const ids = new Set<string>();
  for (const s of supervisors) for (const line of s.logs) if (Array.isArray(line.lost)) for (const id of line.lost as unknown[]) ids.add(String(id));
  return ids;
}

/**
 * Reads every job back and the record plugin's run log, and classifies them. `ids` are the jobs
 * the test enqueued (and had acknowledged).
 */
export async function countRuns(queue: Queue, ids: readonly string[], recordFile: string, supervisors: readonly SupervisorProcess[]): Promise<RunCount> {
  const perJob = new Map<string, number>();
  for (const r of readRecord(recordFile)) perJob.set(r.id, (perJob.get(r.id) ?? 0) + 1);
  const reported = reportedLostIds(supervisors);
  const lost: string[] = [];
  const doubled: string[] = [];
  const unexplained: string[] = [];
  let completed = 0;
  let reclaimed = 0;
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (job?.state === 'completed') completed += 1;
    else lost.push(id);
    if ((job?.leaseExpiries ?? 0) > 0) reclaimed += 1;
    if ((perJob.get(id) ?? 0) > 1) {
      doubled.push(id);
      if (!((job?.leaseExpiries ?? 0) > 0 || reported.has(id))) unexplained.push(id);
    }
  }
  return { total: ids.length, completed, lost, doubled, unexplained, reclaimed, reportedLost: reported.size };
}

/** Waits until nothing of the queue is pending, delayed or active (reads retry through failovers). */
export async function drained(queue: Queue, timeoutMs: number): Promise<void> {
  await eventually(async () => {
    try {
      const c = await queue.counts();
      return c.pending + c.delayed + c.active === 0;
    } catch {
      // Mid-failover reads fail until the client follows the new master.
      return false;
    }
  }, timeoutMs, 'the queue to drain');
}

/**
 * Polls the completed count until it passes `before`, returning the ms since `since`: the time
 * from a fault to the first completion after it.
 */
export async function firstCompletionAfter(queue: Queue, before: number, since: number, timeoutMs: number): Promise<number> {
  return eventually(async () => {
    try {
      const c = await queue.counts();
      return c.completed > before ? Date.now() - since : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs, 'a completion after the fault');
}
