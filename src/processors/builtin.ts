/**
 * Built-in processors: enough to exercise every path of the runtime (results, bytes, waiting,
 * CPU work, each kind of failure and each way a thread can die) without writing a plugin.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { isMainThread, resourceLimits } from 'node:worker_threads';
import { ResourceUnavailableError, RetryAfterError, UnrecoverableError, type Processor } from './contract.js';
import { CRAWL_SPEC, FETCH_SPEC } from './fetch/specs.js';
import { HTTP_SPEC } from './http-executor/spec.js';
import { importBeside, lazyProcessor } from './lazy.js';
import { MAINTENANCE_SPEC } from './maintenance-spec.js';
import { PDF_SPEC } from './pdf/spec.js';
import { wasm } from './wasm/processor.js';

/** Longest sleep, cpu or fail delay accepted: an hour, so a typo cannot park a thread for days. */
export const MAX_BUILTIN_MS = 3_600_000;

/** Above this heap limit the `oom` mode refuses to run: filling gigabytes would stall the machine. */
const OOM_MAX_HEAP_MB = 1024;

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // A value JSON cannot print (a cycle, a bigint) only affects this message, so fall back.
    return String(value);
  }
}

function asObject(processor: string, input: unknown, example: string): Record<string, unknown> | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return `${processor}: data must be an object like ${example}, got ${describe(input)}`;
  }
  return input as Record<string, unknown>;
}

function checkMs(processor: string, data: Record<string, unknown>, required: boolean): string | undefined {
  const ms = data.ms;
  if (ms === undefined && !required) return undefined;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_BUILTIN_MS) {
    return `${processor}: data.ms must be a whole number from 0 to ${MAX_BUILTIN_MS}, got ${describe(ms)}`;
  }
  return undefined;
}

function validateMsOnly(processor: string) {
  return (input: unknown): string | undefined => {
    const data = asObject(processor, input, '{ "ms": 100 }');
    return typeof data === 'string' ? data : checkMs(processor, data, true);
  };
}

export const noop: Processor<unknown, null> = {
  name: 'noop',
  description: 'does nothing and returns null (measures the runtime overhead per job)',
  validate: () => undefined,
  run: () => null,
};

export const echo: Processor<unknown, unknown> = {
  name: 'echo',
  description: 'returns its input unchanged; bytes come back as bytes',
  validate: () => undefined,
  run: (input) => input,
};

export const sleep: Processor<{ ms: number }, { sleptMs: number }> = {
  name: 'sleep',
  description: '{ ms }: waits without blocking its thread (an I/O processor: its own slots); stops at once when the job is aborted',
  concurrency: 100,
  validate: validateMsOnly('sleep'),
  async run(input, ctx) {
    // timers/promises rejects with an AbortError as soon as the signal fires, and clears its timer.
    await sleepFor(input.ms, undefined, { signal: ctx.signal });
    return { sleptMs: input.ms };
  },
};

/**
 * Busy work for a fixed wall-clock time. The loop body is Math.imul on a value that escapes, so V8
 * cannot drop it, and the length is set by the clock rather than an iteration count calibrated up
 * front: a count went 4x faster mid-run once when V8 re-optimised the loop.
 */
export function burnCpu(ms: number): { iterations: number; checksum: number } {
  const CHECK_EVERY = 4096;
  const end = performance.now() + ms;
  let x = 0x9e3779b9 | 0;
  let iterations = 0;
  do {
    for (let i = 0; i < CHECK_EVERY; i++) x = (Math.imul(x, 0x01000193) + i) | 0;
    iterations += CHECK_EVERY;
  } while (performance.now() < end);
  return { iterations, checksum: x };
}

export const cpu: Processor<{ ms: number }, { ms: number; iterations: number; checksum: number }> = {
  name: 'cpu',
  description: '{ ms }: keeps its thread busy with CPU work for that long (ignores the abort signal)',
  validate: validateMsOnly('cpu'),
  run(input) {
    return { ms: input.ms, ...burnCpu(input.ms) };
  },
};

export const FAIL_MODES = ['throw', 'unrecoverable', 'retry-after', 'resource', 'crash', 'exit', 'oom', 'loop'] as const;
export type FailMode = (typeof FAIL_MODES)[number];

export interface FailInput {
  mode: FailMode;
  /** retry-after: the delay asked for (required); resource: the first pause (optional). */
  ms?: number;
  message?: string;
}

function validateFail(input: unknown): string | undefined {
  const data = asObject('fail', input, '{ "mode": "throw" }');
  if (typeof data === 'string') return data;
  if (!FAIL_MODES.includes(data.mode as FailMode)) {
    return `fail: data.mode must be one of ${FAIL_MODES.join(', ')}, got ${describe(data.mode)}`;
  }
  if (data.message !== undefined && typeof data.message !== 'string') {
    return `fail: data.message must be a string when given, got ${describe(data.message)}`;
  }
  return checkMs('fail', data, data.mode === 'retry-after');
}

/** Waits for the job's abort, so a crash or exit scheduled outside the job lands while it runs. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The thread-killing modes would take the whole process down outside a worker thread. */
function requireThread(mode: FailMode): void {
  if (isMainThread) throw new UnrecoverableError(`fail: mode "${mode}" only runs in a worker thread (here it would kill the process)`);
}

function fillHeap(): never {
  const limit = resourceLimits.maxOldGenerationSizeMb ?? Infinity;
  if (!(limit <= OOM_MAX_HEAP_MB)) {
    throw new UnrecoverableError(
      `fail: mode "oom" needs a thread heap limit of at most ${OOM_MAX_HEAP_MB} MB, this thread has ${limit} MB; ` +
        'start the pool with a lower limit (e.g. --max-memory-mb 64)',
    );
  }
  const hog: unknown[] = [];
  for (;;) hog.push(Array.from({ length: 10_000 }, (_, i) => ({ i, s: `held-${i}` })));
}

function spinForever(): never {
  let x = 1;
  for (;;) x = Math.imul(x, 0x01000193) + 1;
}

export const fail: Processor<FailInput, never> = {
  name: 'fail',
  description:
    '{ mode, ms?, message? }: fails on purpose; mode throw | unrecoverable | retry-after | resource ' +
    '(ms = retry delay) | crash | exit | oom | loop (the last four take the thread down or hang it)',
  validate: validateFail,
  run(input, ctx) {
    const message = input.message ?? `fail: failed on purpose (mode "${input.mode}")`;
    switch (input.mode) {
      case 'throw':
        throw new Error(message);
      case 'unrecoverable':
        throw new UnrecoverableError(message);
      case 'retry-after':
        throw new RetryAfterError(message, input.ms ?? 0);
      case 'resource':
        throw new ResourceUnavailableError(message, input.ms);
      case 'crash':
        requireThread(input.mode);
        // Thrown from a timer, not from run(): nothing awaits it, so it is an uncaught exception.
        setTimeout(() => {
          throw new Error(message);
        }, 0);
        return untilAborted(ctx.signal);
      case 'exit':
        // In a worker thread process.exit ends that thread only (exit code 1), not the process.
        requireThread(input.mode);
        return process.exit(1);
      case 'oom':
        requireThread(input.mode);
        return fillHeap();
      case 'loop':
        requireThread(input.mode);
        return spinForever();
    }
  },
};

/**
 * The processors that need more code than their checks (HTTP client, pdf.js glue, Redis sweeps)
 * load it on their first job: every thread and the supervisor import this table.
 */
const pdf = lazyProcessor(PDF_SPEC, async () => (await importBeside<typeof import('./pdf/index.js')>(import.meta.url, './pdf/index.js')).pdf);
const fetchProcessor = lazyProcessor(FETCH_SPEC, async () => (await importBeside<typeof import('./fetch/fetch.js')>(import.meta.url, './fetch/fetch.js')).fetchProcessor);
const crawlProcessor = lazyProcessor(CRAWL_SPEC, async () => (await importBeside<typeof import('./fetch/crawl.js')>(import.meta.url, './fetch/crawl.js')).crawlProcessor);
const httpExecutor = lazyProcessor(HTTP_SPEC, async () => (await importBeside<typeof import('./http-executor/index.js')>(import.meta.url, './http-executor/index.js')).httpExecutor);
const maintenance = lazyProcessor(MAINTENANCE_SPEC, async () => (await importBeside<typeof import('./maintenance.js')>(import.meta.url, './maintenance.js')).maintenance);

export const BUILTIN_PROCESSORS: readonly Processor[] = Object.freeze([noop, echo, sleep, cpu, fail, pdf, wasm, fetchProcessor, crawlProcessor, httpExecutor, maintenance] as Processor[]);
