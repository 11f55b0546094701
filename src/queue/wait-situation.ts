/**
 * What a wait that timed out tells its caller about the job: running, waiting to retry, due
 * later, or pending and never started, and then whether any live supervisor serves the queue
 * (before, every timeout said "it keeps running", even of a job nothing would ever run).
 */
import type { WaitSituation } from './errors.js';
import type { JobRecord } from './job.js';

export interface QueueStanding {
  queue: string;
  /** `troupe queue pause`. */
  paused: boolean;
  /** A processor's "resource unavailable" pause, until this time (epoch ms), if one holds. */
  resourcePausedUntil?: number;
  /** Live supervisors serving the queue (the registry's count). */
  liveSupervisors: number;
}

const runs = (job: JobRecord): string => `run ${job.attempts} of ${job.maxAttempts}`;

/** Why a job waiting to run has not, or what will run it. */
function whoRunsIt(standing: QueueStanding, now: number): string {
  const { queue } = standing;
  if (standing.paused) return `queue ${queue} is paused; resume it with \`troupe queue resume ${queue}\``;
  if (standing.resourcePausedUntil !== undefined && standing.resourcePausedUntil > now) {
    return `queue ${queue} is held until ${new Date(standing.resourcePausedUntil).toISOString()} by a processor's "resource unavailable" signal`;
  }
  if (standing.liveSupervisors === 0) return `no live supervisor serves queue ${queue}; start one with \`troupe supervise --queues ${queue}\``;
  const n = standing.liveSupervisors;
  return `${n} live supervisor${n === 1 ? '' : 's'} serve${n === 1 ? 's' : ''} queue ${queue}, busy with the jobs ahead of it`;
}

/** `job` is the job as read when the wait ended (null: gone); `standing` is read only for waiting jobs. */
export function waitSituation(job: JobRecord | null, standing: QueueStanding | undefined, now: number): WaitSituation {
  if (!job) return { explanation: 'it no longer exists (cancelled, cleared or removed by retention)' };
  const { state } = job;
  if (state === 'active') {
    return { state, explanation: `it is running (${runs(job)}${job.owner ? `, held by ${job.owner}` : ''}) and keeps running; wait again or raise timeoutMs` };
  }
  if (state === 'completed' || state === 'dead') return { state, explanation: `it is ${state}; read it with getJob` };
  const liveSupervisors = standing?.liveSupervisors;
  const serving = standing ? whoRunsIt(standing, now) : 'wait again or raise timeoutMs';
  // The supervisors' clause matters for a delayed job only when nothing would run it when due.
  const servingIfStuck = standing && (standing.paused || standing.liveSupervisors === 0) ? `; ${serving}` : '';
  const due = job.runAt !== undefined ? new Date(job.runAt).toISOString() : 'a later time';
  if (job.attempts > 0 && job.error) {
    const failed = `${runs(job)} failed (${job.error.name}: ${job.error.message.split('\n')[0]})`;
    if (state === 'delayed') return { state, liveSupervisors, explanation: `${failed}; it waits to retry at ${due}${servingIfStuck}` };
    return { state, liveSupervisors, explanation: `${failed}; it is pending for its retry, not started yet: ${serving}` };
  }
  if (state === 'delayed') {
    return { state, liveSupervisors, explanation: `it is delayed until ${due} and ${job.attempts === 0 ? 'never started' : `ran ${job.attempts} times`}${servingIfStuck}` };
  }
  // Pending. A run released without an error (shutdown, a thread stopped for another task) counts no failure.
  const started = job.attempts === 0 ? 'never started' : `was handed back after ${runs(job)}`;
  if (standing && (standing.paused || standing.liveSupervisors === 0 || (standing.resourcePausedUntil ?? 0) > now)) {
    return { state, liveSupervisors, explanation: `it is pending and ${started}: ${serving}` };
  }
  return { state, liveSupervisors, explanation: `it is pending and ${job.attempts === 0 ? 'has not started yet' : started}; ${serving}` };
}
