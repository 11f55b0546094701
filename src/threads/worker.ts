/**
 * The Piscina task entry: runs a task's jobs in order and answers once with one outcome per job.
 *
 * Module state here is per thread by construction (each worker thread has its own module
 * graph), which is what the registry cache and the jobsRun counter mean to track.
 *
 * Bytes: a job's bytes arrive as a Uint8Array (structured clone drops the Buffer prototype) and
 * are handed to the processor as a Buffer over the same memory. A result that is bytes living in
 * the job's own input memory (echo) is transferred back, not copied; any other bytes are copied,
 * because transferring would detach memory the processor may still hold (a cached buffer would
 * silently become empty on its next use). The supervisor receives bytes as a Uint8Array.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { getHeapStatistics } from 'node:v8';
import { threadId, workerData } from 'node:worker_threads';
import { buildRegistry, loadPlugins, type RegistryEntry } from '../processors/plugins.js';
import { CELL_INDEX, CELL_LIMIT_SOURCE, CELL_STARTED_AT, CELL_THREAD_ID, CELL_TIMEOUT_MS, jobAt, type JobOutcome, type ThreadInit, type ThreadTask, type ThreadTaskResult } from './protocol.js';
import { failedOutcome, JobRunError, runJob, ThreadErrorCode, unknownProcessor } from './run-job.js';
import { reportMemoryInto } from './memory-report.js';
import { LIMIT_SOURCES, timeLimitFor } from './time-limit.js';

let registryPromise: Promise<Map<string, RegistryEntry>> | undefined;
let jobsRun = 0;

function threadInit(): ThreadInit {
  const init = (workerData ?? {}) as Partial<ThreadInit>;
  return {
    plugins: Array.isArray(init.plugins) ? init.plugins : [],
    defaultTimeoutMs: typeof init.defaultTimeoutMs === 'number' ? init.defaultTimeoutMs : 0,
    ...(typeof init.pluginBaseDir === 'string' ? { pluginBaseDir: init.pluginBaseDir } : {}),
  };
}

function registry(init: ThreadInit): Promise<Map<string, RegistryEntry>> {
  if (registryPromise) return registryPromise;
  const loading = loadPlugins(init.plugins, init.pluginBaseDir ?? process.cwd()).then(buildRegistry);
  registryPromise = loading;
  // A failed load is not cached: the cause (a file being deployed, a disk hiccup) may be gone by
  // the next task. The caller awaits `loading` itself and reports the error on every job.
  loading.catch(() => {
    if (registryPromise === loading) registryPromise = undefined;
  });
  return loading;
}

function asProcessorInput(data: unknown, inputBuffers: Set<ArrayBufferLike>): unknown {
  if (!(data instanceof Uint8Array)) return data;
  inputBuffers.add(data.buffer);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Input memory returned as a result, once per buffer (a buffer listed twice makes postMessage throw). */
function transferables(outcomes: JobOutcome[], inputBuffers: Set<ArrayBufferLike>): ArrayBuffer[] {
  const list = new Set<ArrayBuffer>();
  for (const outcome of outcomes) {
    if (outcome.status !== 'completed' || !(outcome.result instanceof Uint8Array)) continue;
    const buffer = outcome.result.buffer;
    if (buffer instanceof ArrayBuffer && inputBuffers.has(buffer)) list.add(buffer);
  }
  return [...list];
}

export default async function runTask(task: ThreadTask): Promise<ThreadTaskResult> {
  const init = threadInit();
  const cell = new BigInt64Array(task.cell);
  Atomics.store(cell, CELL_THREAD_ID, BigInt(threadId));
  const stopReporting = reportMemoryInto(cell);
  try {
    return await runJobs(task, init, cell);
  } finally {
    stopReporting();
  }
}

async function runJobs(task: ThreadTask, init: ThreadInit, cell: BigInt64Array): Promise<ThreadTaskResult> {
  const outcomes: JobOutcome[] = [];
  const durationsMs: number[] = [];
  const inputBuffers = new Set<ArrayBufferLike>();

  let processors: Map<string, RegistryEntry> | undefined;
  let loadError: unknown;
  try {
    processors = await registry(init);
  } catch (err) {
    loadError = err;
  }

  const count = task.jobs.ids.length;
  for (let index = 0; index < count; index++) {
    const job = jobAt(task.jobs, index);
    const entry = processors?.get(job.processor);
    const limit = timeLimitFor(job.timeoutMs, entry?.processor, init.defaultTimeoutMs);
    // Start and limit before the index: see the cell layout in protocol.ts.
    Atomics.store(cell, CELL_STARTED_AT, BigInt(Date.now()));
    Atomics.store(cell, CELL_TIMEOUT_MS, BigInt(limit.ms));
    Atomics.store(cell, CELL_LIMIT_SOURCE, BigInt(LIMIT_SOURCES.indexOf(limit.source)));
    Atomics.store(cell, CELL_INDEX, BigInt(index));
    jobsRun += 1;
    const jobStarted = performance.now();

    if (!processors) {
      // Plugins loaded in the supervisor at start but not here: a deploy changed them underneath.
      // The job is not at fault, so it is retried per policy rather than sent to dead.
      const err = new JobRunError(
        'PluginLoadError',
        ThreadErrorCode.PluginLoad,
        `this thread could not load its plugins: ${loadError instanceof Error ? loadError.message : String(loadError)}`,
      );
      outcomes.push(failedOutcome(err, job.attempt));
    } else if (!entry) {
      outcomes.push(unknownProcessor(job, processors));
    } else {
      const input = asProcessorInput(job.data, inputBuffers);
      outcomes.push(await runJob({ job, entry, input, limit }));
    }
    durationsMs.push(performance.now() - jobStarted);
  }
  Atomics.store(cell, CELL_INDEX, BigInt(count));

  const result: ThreadTaskResult = {
    outcomes,
    durationsMs,
    threadId,
    jobsRun,
    // The same number as process.memoryUsage().heapUsed, without the RSS system call it also makes.
    heapUsedBytes: getHeapStatistics().used_heap_size,
  };
  const transfer = transferables(outcomes, inputBuffers);
  if (transfer.length === 0) return result;
  // Piscina posts [valueSymbol] with [transferableSymbol] as the transfer list, and the pool
  // resolves with the plain ThreadTaskResult: the wrapper never leaves this thread.
  return move({
    get [transferableSymbol]() {
      return transfer;
    },
    get [valueSymbol]() {
      return result;
    },
  }) as unknown as ThreadTaskResult;
}
