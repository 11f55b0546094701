/**
 * Every way a thread task ends, and the ack each of its jobs gets: in process, without Redis or
 * threads. Outcomes are built the way the thread builds them (failedOutcome over the errors a
 * processor really throws), task errors the way Piscina and the pool report them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResourceUnavailableError, RetryAfterError, UnrecoverableError } from '../src/processors/contract.js';
import { decodeBackoff } from '../src/queue/backoff.js';
import { encodePayload } from '../src/queue/codec.js';
import type { LeasedJob } from '../src/queue/consumer.js';
import { Lease } from '../src/queue/lease.js';
import { SupervisorEvents, type SupervisorEventMap } from '../src/supervisor/events.js';
import type { HeldJob } from '../src/supervisor/held-job.js';
import { createLogger } from '../src/supervisor/logger.js';
import {
  DEFAULT_RESOURCE_PAUSE_MS,
  endingsOfFailure,
  endingsOfResult,
  Outcomes,
  type Ack,
  type JobEnding,
  type OutcomePolicy,
  type TaskFailure,
} from '../src/supervisor/outcomes.js';
import { newStats } from '../src/supervisor/stats.js';
import { failedOutcome, JobRunError, ThreadErrorCode } from '../src/threads/run-job.js';
import type { JobOutcome, ThreadTaskResult } from '../src/threads/protocol.js';

const policy: OutcomePolicy = {
  shutdownTimeoutMs: 7000,
  maxMemoryMb: 256,
  maxResourcePauseMs: 900_000,
  // The real codec with a small limit, so "too large to store" is reachable.
  encodeResult: (held, result) => encodePayload(result ?? null, 64, `result of job ${held.job.id}`),
};

function held(id: string, processor = 'work'): HeldJob {
  const job: LeasedJob = {
    queue: 'q', id, lease: new Lease(id, `t-${id}`, Number.MAX_SAFE_INTEGER), processor, data: null, dataType: 'json', attempt: 1, maxAttempts: 3,
    timeoutMs: 0, enqueuedAt: 0, dueAt: 0, leasedAt: 0, priority: 'normal', backoff: decodeBackoff(undefined),
  };
  return { job, state: 'running', lost: false };
}

const returned = (outcomes: JobOutcome[], durationsMs = outcomes.map(() => 2)): ThreadTaskResult => ({ outcomes, durationsMs, threadId: 1, jobsRun: 1, heapUsedBytes: 0 });
const threw = (err: unknown): JobOutcome => failedOutcome(err, 1);

/** The parts of an ending a reader checks: kind, run end, and the kind's own fields. */
function summary({ ack, run }: JobEnding): Record<string, unknown> {
  const base = { kind: ack.kind, end: run?.end ?? 'never started' };
  switch (ack.kind) {
    case 'complete':
      return { ...base, stored: String(ack.encoded.value) };
    case 'fail': {
      const error = ack.error as { name: string; code?: string };
      return { ...base, name: error.name, code: error.code, unrecoverable: ack.unrecoverable, retryAfterMs: ack.retryAfterMs };
    }
    case 'pause':
      return { ...base, reason: ack.reason, firstPauseMs: ack.firstPauseMs, maxPauseMs: ack.maxPauseMs };
    case 'release':
      return base;
  }
}

describe('a task that returned: each job by its own outcome', () => {
  const cases: Array<{ what: string; outcome: JobOutcome | undefined; expect: Record<string, unknown> }> = [
    { what: 'returned a value', outcome: { status: 'completed', result: { ok: 1 }, followUps: [] }, expect: { kind: 'complete', end: 'completed', stored: '{"ok":1}' } },
    {
      what: 'returned a value too large to store',
      outcome: { status: 'completed', result: 'x'.repeat(100), followUps: [] },
      expect: { kind: 'fail', end: 'failed', name: 'ResultError', code: 'RESULT_INVALID', unrecoverable: true, retryAfterMs: undefined },
    },
    { what: 'threw', outcome: threw(new Error('boom')), expect: { kind: 'fail', end: 'failed', name: 'Error', code: undefined, unrecoverable: false, retryAfterMs: undefined } },
    {
      what: 'threw UnrecoverableError',
      outcome: threw(new UnrecoverableError('bad input')),
      expect: { kind: 'fail', end: 'failed', name: 'UnrecoverableError', code: undefined, unrecoverable: true, retryAfterMs: undefined },
    },
    {
      what: 'threw RetryAfterError',
      outcome: threw(new RetryAfterError('rate limited', 1500)),
      expect: { kind: 'fail', end: 'failed', name: 'RetryAfterError', code: undefined, unrecoverable: false, retryAfterMs: 1500 },
    },
    {
      what: 'reported an unavailable resource with a pause',
      outcome: threw(new ResourceUnavailableError('quota exceeded', 30_000)),
      expect: { kind: 'pause', end: 'resource', reason: 'quota exceeded', firstPauseMs: 30_000, maxPauseMs: 900_000 },
    },
    {
      what: 'reported an unavailable resource without a pause',
      outcome: threw(new ResourceUnavailableError('credentials rejected')),
      expect: { kind: 'pause', end: 'resource', reason: 'credentials rejected', firstPauseMs: DEFAULT_RESOURCE_PAUSE_MS, maxPauseMs: 900_000 },
    },
    {
      what: 'timed out in the thread (it stopped at its signal)',
      outcome: threw(new JobRunError('TimeoutError', ThreadErrorCode.Timeout, 'ran past its time limit')),
      expect: { kind: 'fail', end: 'timeout', name: 'TimeoutError', code: 'JOB_TIMEOUT', unrecoverable: false, retryAfterMs: undefined },
    },
    { what: 'has no outcome from the thread', outcome: undefined, expect: { kind: 'release', end: 'never started' } },
  ];
  for (const { what, outcome, expect } of cases) {
    test(what, () => {
      const [ending] = endingsOfResult([held('a')], returned(outcome ? [outcome] : [], [5]), 9, policy);
      assert.deepEqual(summary(ending!), expect);
      if (ending!.run) assert.equal(ending!.run.runMs, 5, "the thread's own run time");
    });
  }

  test('jobs packed in one task keep their own outcome and run time', () => {
    const jobs = [held('a'), held('b'), held('c')];
    const endings = endingsOfResult(jobs, returned([{ status: 'completed', result: 1, followUps: [] }, threw(new Error('x')), threw(new UnrecoverableError('y'))], [1, 2, 3]), 30, policy);
    assert.deepEqual(endings.map((e) => [e.ack.held.job.id, e.ack.kind, e.run?.runMs]), [['a', 'complete', 1], ['b', 'fail', 2], ['c', 'fail', 3]]);
  });

  test('follow-ups travel with the completion', () => {
    const followUps = [{ processor: 'email', data: { to: 'x' } }];
    const [ending] = endingsOfResult([held('a')], returned([{ status: 'completed', result: null, followUps }]), 1, policy);
    assert.equal(ending!.ack.kind, 'complete');
    assert.deepEqual((ending!.ack as Extract<Ack, { kind: 'complete' }>).followUps, followUps);
  });
});

describe('a task that did not return: the running job bears the cause, the others go back', () => {
  const oom = Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' });
  const limit = { ms: 300, source: 'default' } as const;
  // Three jobs, the second (index 1) running when the task died.
  const cases: Array<{ what: string; failure: Omit<TaskFailure, 'index'>; blamed: Record<string, unknown>; message?: RegExp }> = [
    {
      what: 'its job ignored the time limit and the watchdog stopped the thread',
      failure: { err: new Error('Terminating worker thread'), killedFor: { reason: 'timeout', limit }, threadStopped: true },
      blamed: { kind: 'fail', end: 'timeout', name: 'TimeoutError', code: 'JOB_TIMEOUT', unrecoverable: false, retryAfterMs: undefined },
      // The limit came from --job-timeout-ms, and the message says so (it used to blame the job's timeoutMs).
      message: /job b \(processor "work"\) ran past its 300 ms time limit, set by the supervisor's default, and its thread was stopped; raise it with --job-timeout-ms/,
    },
    {
      what: 'the thread crashed',
      failure: { err: new Error('uncaught in a timer'), threadStopped: false },
      blamed: { kind: 'fail', end: 'crash', name: 'ThreadCrashError', code: 'THREAD_CRASHED', unrecoverable: false, retryAfterMs: undefined },
      message: /the job's thread died and was replaced: uncaught in a timer/,
    },
    {
      what: 'the thread ran out of memory',
      failure: { err: oom, threadStopped: false },
      blamed: { kind: 'fail', end: 'crash', name: 'ThreadCrashError', code: 'THREAD_OUT_OF_MEMORY', unrecoverable: false, retryAfterMs: undefined },
      message: /ran out of memory \(over --max-memory-mb 256\)/,
    },
    {
      what: 'the thread exited (process.exit in a processor)',
      failure: { err: new Error('worker exited with code 3'), threadStopped: false },
      blamed: { kind: 'fail', end: 'crash', name: 'ThreadCrashError', code: 'THREAD_CRASHED', unrecoverable: false, retryAfterMs: undefined },
    },
    {
      what: 'shutdown passed its deadline and stopped the thread',
      failure: { err: new Error('Terminating worker thread'), killedFor: { reason: 'shutdown' }, threadStopped: true },
      blamed: { kind: 'fail', end: 'shutdown', name: 'ShutdownError', code: 'SHUTDOWN', unrecoverable: false, retryAfterMs: 0 },
      message: /--shutdown-timeout-ms 7000/,
    },
    {
      what: "the thread was stopped for another task's job (collateral)",
      failure: { err: new Error('Terminating worker thread'), threadStopped: true },
      blamed: { kind: 'release', end: 'interrupted' },
    },
    {
      what: 'the pool was being destroyed',
      failure: { err: new Error('Terminating worker thread'), threadStopped: false },
      blamed: { kind: 'release', end: 'interrupted' },
    },
  ];
  for (const { what, failure, blamed, message } of cases) {
    test(what, () => {
      const endings = endingsOfFailure([held('a'), held('b'), held('c')], { ...failure, index: 1 }, policy);
      assert.deepEqual(summary(endings[0]!), { kind: 'release', end: 'interrupted' }, 'the job before it finished, but its result died with the thread');
      assert.deepEqual(summary(endings[1]!), blamed);
      assert.deepEqual(summary(endings[2]!), { kind: 'release', end: 'never started' }, 'the job after it never started');
      if (message) {
        const ack = endings[1]!.ack;
        assert.equal(ack.kind, 'fail');
        assert.match((ack as Extract<Ack, { kind: 'fail' }>).error.message, message);
      }
    });
  }

  test('a task that died before its first job started hands every job back', () => {
    const endings = endingsOfFailure([held('a'), held('b')], { err: new Error('boom'), index: -1, threadStopped: false }, policy);
    assert.deepEqual(endings.map(summary), [{ kind: 'release', end: 'never started' }, { kind: 'release', end: 'never started' }]);
  });

  test("a limit set by the job or by the processor is named as such", () => {
    const byJob = endingsOfFailure([held('a')], { err: new Error('x'), index: 0, threadStopped: true, killedFor: { reason: 'timeout', limit: { ms: 500, source: 'job' } } }, policy);
    assert.match((byJob[0]!.ack as Extract<Ack, { kind: 'fail' }>).error.message, /500 ms time limit, set by the job's timeoutMs/);
    const byProcessor = endingsOfFailure([held('a', 'pdf')], { err: new Error('x'), index: 0, threadStopped: true, killedFor: { reason: 'timeout', limit: { ms: 900, source: 'processor' } } }, policy);
    assert.match((byProcessor[0]!.ack as Extract<Ack, { kind: 'fail' }>).error.message, /900 ms time limit, set by processor "pdf"'s timeoutMs/);
  });
});

describe('Outcomes reports each run and hands every ack to its queue', () => {
  function harness() {
    const events = new SupervisorEvents();
    const ran: Array<SupervisorEventMap['ran'][0]> = [];
    events.on('ran', (e) => ran.push(e));
    const pushed: Ack[] = [];
    const stats = newStats();
    const outcomes = new Outcomes({ ackerFor: () => ({ push: (ack) => void pushed.push(ack) }), events, logger: createLogger('silent'), stats, policy });
    return { outcomes, ran, pushed, stats };
  }

  test('a returned task: one ran event and one ack per job; timeouts counted', () => {
    const { outcomes, ran, pushed, stats } = harness();
    const timedOut = threw(new JobRunError('TimeoutError', ThreadErrorCode.Timeout, 'late'));
    outcomes.taskReturned([held('a'), held('b'), held('c')], returned([{ status: 'completed', result: 1, followUps: [] }, timedOut, threw(new ResourceUnavailableError('quota'))]), 6);
    assert.deepEqual(ran.map((e) => [e.job.id, e.end]), [['a', 'completed'], ['b', 'timeout'], ['c', 'resource']]);
    assert.deepEqual(pushed.map((a) => a.kind), ['complete', 'fail', 'pause']);
    assert.equal(stats.timedOut, 1);
  });

  test('a failed task: no ran event for a job that never started, but an ack for it', () => {
    const { outcomes, ran, pushed, stats } = harness();
    outcomes.taskFailed([held('a'), held('b'), held('c')], { err: new Error('x'), index: 1, threadStopped: true, killedFor: { reason: 'timeout', limit: { ms: 100, source: 'job' } } });
    assert.deepEqual(ran.map((e) => [e.job.id, e.end]), [['a', 'interrupted'], ['b', 'timeout']]);
    assert.deepEqual(pushed.map((a) => [a.held.job.id, a.kind]), [['a', 'release'], ['b', 'fail'], ['c', 'release']]);
    assert.equal(stats.timedOut, 1);
  });

  test('jobs handed back unstarted at shutdown are released with no run', () => {
    const { outcomes, ran, pushed } = harness();
    outcomes.released([held('a'), held('b')]);
    assert.deepEqual(ran, []);
    assert.deepEqual(pushed.map((a) => a.kind), ['release', 'release']);
  });
});
