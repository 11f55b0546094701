import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BUILTIN_PROCESSORS, burnCpu, cpu, fail, sleep } from '../src/processors/builtin.js';
import type { JobOutcome } from '../src/threads/protocol.js';
import { eventually, job, makePool, runJobs, task, type Pool } from './fixtures/threads/pool.js';

let pool: Pool;
before(() => {
  pool = makePool({ init: { defaultTimeoutMs: 0 } });
});
after(async () => {
  await pool.destroy();
});

async function runOne(processor: string, data: unknown, overrides = {}): Promise<JobOutcome> {
  const { outcomes } = await runJobs(pool, [job(processor, data, overrides)]);
  assert.equal(outcomes.length, 1);
  return outcomes[0]!;
}

function failed(outcome: JobOutcome) {
  assert.equal(outcome.status, 'failed', `expected a failed outcome, got ${JSON.stringify(outcome)}`);
  return outcome as Extract<JobOutcome, { status: 'failed' }>;
}

describe('built-in processors in a thread', () => {
  test('noop returns null and echo returns its input', async () => {
    assert.deepEqual(await runOne('noop', { anything: 1 }), { status: 'completed', result: null, followUps: [] });
    const input = { nested: { list: [1, 'two', null, true] }, text: 'héllo' };
    assert.deepEqual(await runOne('echo', input), { status: 'completed', result: input, followUps: [] });
  });

  test('bytes go in and come back byte-exact, as bytes', async () => {
    const bytes = Buffer.alloc(256 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
    const outcome = await runOne('echo', bytes);
    assert.equal(outcome.status, 'completed');
    const result = (outcome as { result: unknown }).result;
    assert.ok(result instanceof Uint8Array, 'bytes come back as a Uint8Array');
    assert.equal(Buffer.compare(Buffer.from(result.buffer, result.byteOffset, result.byteLength), bytes), 0);
    const empty = await runOne('echo', new Uint8Array(0));
    assert.equal(((empty as { result: Uint8Array }).result).byteLength, 0);
  });

  test('sleep waits about its ms without blocking the thread', async () => {
    const started = Date.now();
    const [a, b] = await Promise.all([runOne('sleep', { ms: 150 }), runOne('sleep', { ms: 150 })]);
    const took = Date.now() - started;
    assert.deepEqual(a, { status: 'completed', result: { sleptMs: 150 }, followUps: [] });
    assert.deepEqual(b, a);
    assert.ok(took >= 150 && took < 1000, `two 150 ms sleeps took ${took} ms`);
  });

  test('cpu keeps the thread busy for its ms, measured by the clock', async () => {
    const started = performance.now();
    const outcome = await runOne('cpu', { ms: 120 });
    const took = performance.now() - started;
    assert.equal(outcome.status, 'completed');
    const result = (outcome as { result: { ms: number; iterations: number } }).result;
    assert.equal(result.ms, 120);
    assert.ok(result.iterations > 0);
    assert.ok(took >= 120 && took < 1500, `cpu 120 ms took ${took} ms`);
    // In this thread too: the clock, not an iteration count, sets the length.
    const t0 = performance.now();
    burnCpu(50);
    const t1 = performance.now() - t0;
    assert.ok(t1 >= 50 && t1 < 500, `burnCpu(50) took ${t1} ms`);
  });

  test('fail modes that stay inside the job carry their flags', async () => {
    const thrown = failed(await runOne('fail', { mode: 'throw', message: 'plain' }, { attempt: 2 }));
    assert.equal(thrown.error.name, 'Error');
    assert.equal(thrown.error.message, 'plain');
    assert.equal(thrown.error.attempt, 2);
    assert.match(thrown.error.stack ?? '', /builtin\.ts/);
    assert.equal(thrown.unrecoverable, false);
    assert.equal(thrown.retryAfterMs, undefined);

    const dead = failed(await runOne('fail', { mode: 'unrecoverable' }));
    assert.equal(dead.error.name, 'UnrecoverableError');
    assert.equal(dead.unrecoverable, true);

    const later = failed(await runOne('fail', { mode: 'retry-after', ms: 2500 }));
    assert.equal(later.error.name, 'RetryAfterError');
    assert.equal(later.retryAfterMs, 2500);
    assert.equal(later.unrecoverable, false);

    const resource = failed(await runOne('fail', { mode: 'resource', ms: 60_000, message: 'quota' }));
    assert.deepEqual(
      { name: resource.error.name, message: resource.error.message, retryAfterMs: resource.retryAfterMs, resourceUnavailable: resource.resourceUnavailable },
      { name: 'ResourceUnavailableError', message: 'quota', retryAfterMs: 60_000, resourceUnavailable: true },
    );
  });

  test('every built-in has a description and a validate()', () => {
    // The runtime's own five come first; the working processors (pdf, fetch, ...) follow them.
    assert.deepEqual(BUILTIN_PROCESSORS.map((p) => p.name).slice(0, 5), ['noop', 'echo', 'sleep', 'cpu', 'fail']);
    for (const p of BUILTIN_PROCESSORS) {
      assert.equal(typeof p.validate, 'function', p.name);
      assert.ok((p.description ?? '').length > 10, p.name);
    }
  });
});

describe('validation', () => {
  const cases: Array<[string, unknown, string]> = [
    ['sleep', { ms: 'x' }, 'sleep: data.ms must be a whole number from 0 to 3600000, got "x"'],
    ['sleep', { ms: -1 }, 'sleep: data.ms must be a whole number from 0 to 3600000, got -1'],
    ['sleep', 5, 'sleep: data must be an object like { "ms": 100 }, got 5'],
    ['cpu', { ms: 1.5 }, 'cpu: data.ms must be a whole number from 0 to 3600000, got 1.5'],
    ['cpu', {}, 'cpu: data.ms must be a whole number from 0 to 3600000, got undefined'],
    ['fail', { mode: 'explode' }, 'fail: data.mode must be one of throw, unrecoverable, retry-after, resource, crash, exit, oom, loop, got "explode"'],
    ['fail', { mode: 'retry-after' }, 'fail: data.ms must be a whole number from 0 to 3600000, got undefined'],
    ['fail', { mode: 'throw', message: 7 }, 'fail: data.message must be a string when given, got 7'],
  ];
  for (const [processor, data, message] of cases) {
    test(`${processor} ${JSON.stringify(data)} fails unrecoverable with a clear message`, async () => {
      const outcome = failed(await runOne(processor, data));
      assert.deepEqual(
        { name: outcome.error.name, code: outcome.error.code, message: outcome.error.message, unrecoverable: outcome.unrecoverable },
        { name: 'InvalidInputError', code: 'INVALID_INPUT', message, unrecoverable: true },
      );
    });
  }

  test('valid inputs pass the validators', () => {
    assert.equal(sleep.validate!({ ms: 0 }), undefined);
    assert.equal(cpu.validate!({ ms: 3_600_000 }), undefined);
    assert.equal(fail.validate!({ mode: 'resource' }), undefined);
  });
});

test('an unknown processor fails unrecoverable, naming it, the known ones and --plugin', async () => {
  const outcome = failed(await runOne('resize-image', {}));
  assert.equal(outcome.error.name, 'UnknownProcessorError');
  assert.equal(outcome.error.code, 'UNKNOWN_PROCESSOR');
  assert.equal(outcome.unrecoverable, true);
  assert.match(outcome.error.message, /no processor named "resize-image"/);
  assert.ok(outcome.error.message.includes(`known: ${BUILTIN_PROCESSORS.map((p) => p.name).sort().join(', ')})`), outcome.error.message);
  assert.match(outcome.error.message, /--plugin/);
});

describe('time limits', () => {
  test("a job that respects its signal fails with TimeoutError at the job's limit", async () => {
    const started = Date.now();
    const outcome = failed(await runOne('sleep', { ms: 10_000 }, { timeoutMs: 100 }));
    const took = Date.now() - started;
    assert.equal(outcome.error.name, 'TimeoutError');
    assert.equal(outcome.error.code, 'JOB_TIMEOUT');
    assert.equal(outcome.unrecoverable, false);
    assert.match(outcome.error.message, /time limit of 100 ms, set by the job's timeoutMs/);
    assert.match(outcome.error.message, /raise it with the job's timeoutMs option/);
    assert.ok(took >= 100 && took < 1000, `aborted after ${took} ms`);
  });

  test('the default limit from workerData applies when the job sets none', async () => {
    const strict = makePool({ init: { defaultTimeoutMs: 80 } });
    try {
      const { outcomes, cell } = await runJobs(strict, [job('sleep', { ms: 5000 }), job('sleep', { ms: 5 })]);
      const timedOut = failed(outcomes[0]!);
      assert.equal(timedOut.error.code, 'JOB_TIMEOUT');
      assert.match(timedOut.error.message, /80 ms, set by the supervisor's default, and was aborted; raise it with --job-timeout-ms/);
      assert.equal(outcomes[1]!.status, 'completed');
      assert.equal(cell[2], 80n, 'the thread publishes the limit it applies');
    } finally {
      await strict.destroy();
    }
  });

  test('a synchronous job that finishes past its limit is a timeout too', async () => {
    const outcome = failed(await runOne('cpu', { ms: 150 }, { timeoutMs: 50 }));
    assert.equal(outcome.error.code, 'JOB_TIMEOUT');
  });
});

test('a batch of 3 jobs returns 3 outcomes in order and the cell ends at 3', async () => {
  const started = Date.now();
  const { outcomes, cell, jobsRun, threadId, heapUsedBytes } = await runJobs(pool, [
    job('echo', 'first'),
    job('fail', { mode: 'throw', message: 'second' }),
    job('echo', { third: true }),
  ]);
  assert.deepEqual(outcomes[0], { status: 'completed', result: 'first', followUps: [] });
  assert.equal(failed(outcomes[1]!).error.message, 'second');
  assert.deepEqual(outcomes[2], { status: 'completed', result: { third: true }, followUps: [] });
  assert.equal(outcomes.length, 3);
  assert.equal(cell[0], 3n);
  assert.ok(Number(cell[1]) >= started && Number(cell[1]) <= Date.now(), 'the cell holds the last start time');
  assert.ok(jobsRun >= 3);
  assert.ok(threadId > 0);
  assert.ok(heapUsedBytes > 1_000_000 && heapUsedBytes < 64 * 1024 * 1024, `heap ${heapUsedBytes}`);
});

test('the cell shows the running job and its start while the task runs', async () => {
  const { task: t, cell } = task([job('noop', null), job('sleep', { ms: 300 }), job('noop', null)]);
  const before = Date.now();
  const running = pool.run(t);
  await eventually(() => cell[0] === 1n);
  assert.ok(Number(cell[1]) >= before, 'start time is from this task');
  await running;
  assert.equal(cell[0], 3n);
});
