/**
 * The one coded error base: every family is a CodedError and keeps its name and code, and the
 * CLI's exit code follows the class (2 for usage, config, validation and plugin errors, 1 else).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXIT_RUNTIME, EXIT_USAGE, reportError, UsageError } from '../src/cli/exit.js';
import { DeclinedError } from '../src/cli/output.js';
import { RedisUnreachableError } from '../src/cli/redis-option.js';
import { CodedError, hasCode } from '../src/errors.js';
import { FetchError, FetchErrorCode, statusError } from '../src/processors/fetch/errors.js';
import { HttpExecutorError, HttpExecutorErrorCode } from '../src/processors/http-executor/errors.js';
import { PdfError, PdfErrorCode } from '../src/processors/pdf/errors.js';
import { PluginError, PluginErrorCode } from '../src/processors/plugins.js';
import { WasmError, WasmErrorCode } from '../src/processors/wasm/errors.js';
import { ClosedError, ErrorCode, JobNotFoundError, TroupeError, ValidationError } from '../src/queue/errors.js';
import { validateJobOptions } from '../src/queue/options.js';
import { tlsOptions } from '../src/queue/redis-factory.js';
import { parseRedisUrl, RedisUrlError } from '../src/queue/redis-url.js';
import { InvalidCronError, ScheduleError, ScheduleNotFoundError, ScheduleValidationError } from '../src/scheduler/errors.js';
import { ConfigError } from '../src/supervisor/config.js';
import { RedisUnavailableError } from '../src/supervisor/local-redis.js';
import { SupervisorStuckError } from '../src/tune/measure.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

/** One of each family, with the name and code users match on. */
function families(): Array<{ err: Error; name: string; code: string; exit: number }> {
  return [
    { err: new TroupeError(ErrorCode.LeaseLost, 'lease lost'), name: 'TroupeError', code: 'LEASE_LOST', exit: EXIT_RUNTIME },
    { err: thrown(() => validateJobOptions({ attempts: 0 })) as Error, name: 'ValidationError', code: 'INVALID_OPTION', exit: EXIT_USAGE },
    { err: new JobNotFoundError('q', 'j1'), name: 'JobNotFoundError', code: 'JOB_NOT_FOUND', exit: EXIT_RUNTIME },
    { err: new ClosedError('queue q'), name: 'ClosedError', code: 'CLOSED', exit: EXIT_RUNTIME },
    { err: new ScheduleNotFoundError('nightly'), name: 'ScheduleNotFoundError', code: 'SCHEDULE_NOT_FOUND', exit: EXIT_RUNTIME },
    // Not a queue ValidationError: the scheduler CLI turns it into a UsageError itself; bare, it exits 1 as before.
    { err: new InvalidCronError('cron.minute', 'the minute field "61" is not valid'), name: 'InvalidCronError', code: 'INVALID_CRON', exit: EXIT_RUNTIME },
    { err: new PdfError(PdfErrorCode.Truncated, 'pdf: truncated'), name: 'PdfError', code: 'PDF_TRUNCATED', exit: EXIT_RUNTIME },
    { err: new WasmError(WasmErrorCode.Trap, 'wasm: trapped', true), name: 'WasmTrapError', code: 'WASM_TRAP', exit: EXIT_RUNTIME },
    { err: statusError('http://x/', 404, 'Not Found', null), name: 'FetchError', code: 'FETCH_HTTP_STATUS', exit: EXIT_RUNTIME },
    {
      err: new HttpExecutorError(HttpExecutorErrorCode.NoExecutors, 'http: no executors', { unrecoverable: true }),
      name: 'HttpExecutorError',
      code: 'HTTP_NO_EXECUTORS',
      exit: EXIT_RUNTIME,
    },
    { err: new PluginError(PluginErrorCode.NotFound, 'plugin "x": not found'), name: 'PluginError', code: 'PLUGIN_NOT_FOUND', exit: EXIT_USAGE },
    { err: new ConfigError('threads: must be a whole number'), name: 'ConfigError', code: 'CONFIG_INVALID', exit: EXIT_USAGE },
    { err: thrown(() => parseRedisUrl('http://localhost')) as Error, name: 'RedisUrlError', code: 'INVALID_REDIS_URL', exit: EXIT_RUNTIME },
    {
      err: thrown(() => tlsOptions({ url: 'rediss://localhost:6380', tls: { caFile: '/nonexistent/ca.pem' } }, parseRedisUrl('rediss://localhost:6380'))) as Error,
      name: 'RedisTlsFileError',
      code: 'REDIS_TLS_FILE',
      exit: EXIT_RUNTIME,
    },
    { err: new RedisUnavailableError('no Redis answers'), name: 'RedisUnavailableError', code: 'REDIS_UNAVAILABLE', exit: EXIT_RUNTIME },
    { err: new RedisUnreachableError('no Redis answers'), name: 'RedisUnreachableError', code: 'REDIS_UNREACHABLE', exit: EXIT_RUNTIME },
    { err: new SupervisorStuckError('a supervisor did not stop'), name: 'SupervisorStuckError', code: 'TUNE_SUPERVISOR_STUCK', exit: EXIT_RUNTIME },
    { err: new UsageError('--threads: must be a whole number'), name: 'UsageError', code: 'USAGE', exit: EXIT_USAGE },
    { err: new DeclinedError('not confirmed: nothing was changed'), name: 'DeclinedError', code: 'DECLINED', exit: EXIT_RUNTIME },
  ];
}

/** reportError's exit code and what it wrote to stderr. */
function report(err: unknown): { code: number; stderr: string } {
  const original = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: reportError(err), stderr };
  } finally {
    process.stderr.write = original;
  }
}

describe('CodedError', () => {
  test('every family is a CodedError and keeps its name and code', () => {
    for (const { err, name, code } of families()) {
      assert.ok(err instanceof CodedError, `${name} is a CodedError`);
      assert.ok(err instanceof Error);
      assert.equal(err.name, name);
      assert.equal((err as CodedError).code, code, name);
      assert.ok(hasCode(err, code));
    }
  });

  test('subclasses stay in their family', () => {
    const validation = thrown(() => validateJobOptions({ attempts: 0 }));
    assert.ok(validation instanceof ValidationError && validation instanceof TroupeError);
    const cron = new InvalidCronError('cron.minute', 'bad').within('schedules[2]');
    assert.ok(cron instanceof InvalidCronError && cron instanceof ScheduleValidationError && cron instanceof ScheduleError);
    assert.deepEqual([cron.name, cron.code, cron.field, cron.message], ['InvalidCronError', 'INVALID_CRON', 'schedules[2].cron.minute', 'schedules[2].cron.minute: bad']);
  });

  test('cause is passed on; fields of each family are unchanged', () => {
    const cause = new Error('ECONNRESET');
    assert.equal(new PdfError(PdfErrorCode.Corrupt, 'pdf: corrupt', { cause }).cause, cause);
    assert.equal(new ConfigError('x', { cause }).cause, cause);
    assert.equal(new UsageError('x', { cause }).cause, cause);
    const fetch = new FetchError(FetchErrorCode.Network, 'GET failed', { unrecoverable: false, url: 'http://x/', cause });
    assert.deepEqual([fetch.cause, fetch.unrecoverable, fetch.url, fetch.status], [cause, false, 'http://x/', undefined]);
    assert.equal(new FetchError(FetchErrorCode.Timeout, 'slow', { unrecoverable: false, url: 'http://x/' }).cause, undefined);
    assert.equal(new PdfError(PdfErrorCode.NoPages, 'none').unrecoverable, true);
    assert.equal(new WasmError(WasmErrorCode.ModuleNotFound, 'missing', false).unrecoverable, false);
    const plain = new CodedError('SOME_CODE', 'message');
    assert.deepEqual([plain.name, plain.code, plain.message, 'cause' in plain], ['CodedError', 'SOME_CODE', 'message', false]);
  });

  test('hasCode matches error-shaped values too (an error rebuilt from a thread or a stored ErrorInfo)', () => {
    assert.ok(hasCode({ name: 'Error', message: 'x', code: 'JOB_TIMEOUT' }, 'JOB_TIMEOUT', 'THREAD_CRASHED'));
    assert.ok(!hasCode({ name: 'Error', message: 'x', code: 'SHUTDOWN' }, 'JOB_TIMEOUT'));
    assert.ok(!hasCode(new Error('x'), 'JOB_TIMEOUT'));
    assert.ok(!hasCode(undefined, 'JOB_TIMEOUT'));
    assert.ok(!hasCode('JOB_TIMEOUT', 'JOB_TIMEOUT'));
  });
});

describe('ValidationError.detail', () => {
  test('is the message without the field prefix', () => {
    const err = new ValidationError('options.attempts', 'must be a whole number from 1 to 1000, got 0');
    assert.equal(err.message, 'options.attempts: must be a whole number from 1 to 1000, got 0');
    assert.equal(err.detail, 'must be a whole number from 1 to 1000, got 0');
    assert.equal(err.code, ErrorCode.InvalidOption);
    const real = thrown(() => validateJobOptions({ attempts: 0 }));
    assert.ok(real instanceof ValidationError);
    assert.equal(real.message, `${real.field}: ${real.detail}`);
  });
});

describe('reportError', () => {
  test('maps each family to its exit code and prints its message', () => {
    for (const { err, name, exit } of families()) {
      const { code, stderr } = report(err);
      assert.equal(code, exit, name);
      const hint = exit === EXIT_USAGE ? 'Run with --help for usage.\n' : '';
      assert.equal(stderr, `troupe: ${err.message}\n${hint}`, name);
    }
  });

  test('goes by class, not by name: a lookalike name does not change an exit code', () => {
    const lookalike = Object.assign(new Error('x'), { name: 'ConfigError' });
    assert.equal(report(lookalike).code, EXIT_RUNTIME);
    class RenamedConfigError extends ConfigError {
      override name = 'SettingsError';
    }
    assert.equal(report(new RenamedConfigError('x')).code, EXIT_USAGE);
  });

  test('anything that is not an Error exits 1 with its text', () => {
    assert.deepEqual(report('plain text'), { code: EXIT_RUNTIME, stderr: 'troupe: plain text\n' });
    assert.deepEqual(report(new Error('boom')), { code: EXIT_RUNTIME, stderr: 'troupe: boom\n' });
  });

  test('restores process.stderr.write', () => {
    const before = process.stderr.write;
    report(new UsageError('x'));
    assert.equal(process.stderr.write, before);
  });
});
