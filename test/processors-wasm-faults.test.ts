/**
 * Modules that misbehave: each fault gets a clear error with a code, the thread survives what
 * it can survive, and what it cannot (a loop) is stopped by stopping the thread. The fault
 * modules are tiny .wat files under test/fixtures/wasm, compiled here with wabt.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from '../src/index.js';
import type { JobOutcome } from '../src/threads/protocol.js';
import { BUILT_FIXTURES_DIR, watModule } from './fixtures/wasm/build.js';
import { job, makePool, rejection, runJobs, task, type Pool } from './fixtures/threads/pool.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';
import { SupervisorProcess } from './helpers/supervisor-process.js';

let pool: Pool;
const modules: Record<string, string> = {};
const NAMES = ['trap', 'loop', 'bomb', 'abort', 'reject', 'not-json', 'out-of-range', 'wasi', 'own-memory', 'no-output-len', 'big-start'];
before(async () => {
  for (const name of NAMES) modules[name] = await watModule(name);
  pool = makePool({ maxThreads: 1, init: { wasmModuleDirs: [BUILT_FIXTURES_DIR] } });
});
after(async () => {
  await pool.destroy();
});

async function runOne(data: unknown, overrides = {}): Promise<JobOutcome> {
  const { outcomes } = await runJobs(pool, [job('wasm', data, overrides)]);
  return outcomes[0]!;
}

async function failure(name: string, extra: Record<string, unknown> = {}) {
  const outcome = await runOne({ html: '<p>hello</p>', module: modules[name], ...extra });
  assert.equal(outcome.status, 'failed', `expected a failure, got ${JSON.stringify(outcome)}`);
  const { error, unrecoverable } = outcome as Extract<JobOutcome, { status: 'failed' }>;
  return { name: error.name, code: error.code, message: error.message, unrecoverable };
}

async function stillServes(): Promise<void> {
  const outcome = await runOne('<title>ok</title>');
  assert.equal(outcome.status, 'completed');
  assert.equal((outcome as { result: { title: string } }).result.title, 'ok');
}

describe('faults inside the module fail the job, not the thread', () => {
  test('a trap: WasmTrapError, unrecoverable, naming the module and the trap', async () => {
    const f = await failure('trap');
    assert.deepEqual({ name: f.name, code: f.code, unrecoverable: f.unrecoverable }, { name: 'WasmTrapError', code: 'WASM_TRAP', unrecoverable: true });
    assert.match(f.message, new RegExp(`^wasm module ${modules.trap} trapped \\(RuntimeError: unreachable; memory 0\\.1 of 128 MiB\\); .*fix the module or the input; allocators also stop at unreachable when memory runs out: if this input needs more, give it more with .*$`));
    await stillServes();
  });

  test('a memory bomb stops at the cap: WasmMemoryLimitError, and the thread lives on', async () => {
    const f = await failure('bomb', { maxMemoryMb: 16 });
    assert.deepEqual({ name: f.name, code: f.code, unrecoverable: f.unrecoverable }, { name: 'WasmMemoryLimitError', code: 'WASM_MEMORY_LIMIT', unrecoverable: true });
    assert.match(f.message, /ran out of memory at its cap \(16 of 16 MiB in use when it trapped: unreachable\); give it more with .*, or send a smaller input$/);
    // The default cap holds too: the bomb gets 128 MiB and no more.
    const big = await failure('bomb');
    assert.match(big.message, /\(128 of 128 MiB in use/);
    await stillServes();
  });

  test('abort(msg_ptr, msg_len): WasmAbortError with the module\'s own words', async () => {
    const f = await failure('abort');
    assert.deepEqual({ name: f.name, code: f.code, unrecoverable: f.unrecoverable }, { name: 'WasmAbortError', code: 'WASM_ABORTED', unrecoverable: true });
    assert.match(f.message, /aborted: "table of contents is corrupt — giving up"; fix the module, or the input that makes it abort$/);
  });

  test('a refusal (non-zero status) carries the module\'s message', async () => {
    const f = await failure('reject');
    assert.deepEqual({ code: f.code, unrecoverable: f.unrecoverable }, { code: 'WASM_INPUT_REJECTED', unrecoverable: true });
    assert.match(f.message, /refused the input \(status 1\): "input is not UTF-8 HTML"$/);
  });

  test('output that is not JSON, or lies outside memory, is a broken ABI', async () => {
    const notJson = await failure('not-json');
    assert.equal(notJson.code, 'WASM_BAD_OUTPUT');
    assert.match(notJson.message, /returned output that is not JSON \(.*\): "title: hello"; the ABI asks for UTF-8 JSON$/);
    const outside = await failure('out-of-range');
    assert.equal(outside.code, 'WASM_BAD_OUTPUT');
    assert.match(outside.message, /the output \(16, 2147483647 bytes\) lies outside its memory of 65536 bytes; the module breaks the ABI$/);
  });
});

describe('modules that break the ABI are refused with the fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['wasi', /imports wasi_snapshot_preview1\.fd_write \(function\); modules get only env\.memory and env\.abort, with no filesystem, network, clock or randomness \(build without WASI/],
    ['own-memory', /defines its own memory; import it instead so its size can be capped \(AssemblyScript: --importMemory; Rust: .*\)$/],
    ['no-output-len', /does not export output_len as function; an extractor exports alloc\(len\), extract\(ptr, len, format\), output_ptr\(\) and output_len\(\)/],
  ];
  for (const [name, message] of cases) {
    test(name, async () => {
      const f = await failure(name);
      assert.deepEqual({ name: f.name, code: f.code, unrecoverable: f.unrecoverable }, { name: 'WasmModuleError', code: 'WASM_MODULE_INVALID', unrecoverable: true });
      assert.match(f.message, message);
    });
  }

  test('a module that needs more memory to start than its cap', async () => {
    const f = await failure('big-start', { maxMemoryMb: 32 });
    assert.equal(f.code, 'WASM_MEMORY_LIMIT');
    assert.match(f.message, /needs 40 MiB of memory to start, more than its cap of 32 MiB/);
  });

  test('a file that is not WebAssembly (the .wat source under a .wasm name)', async () => {
    const path = join(BUILT_FIXTURES_DIR, 'source-not-binary.wasm');
    writeFileSync(path, readFileSync(new URL('./fixtures/wasm/trap.wat', import.meta.url)));
    const f = await failure('trap', { module: path });
    assert.equal(f.code, 'WASM_MODULE_INVALID');
    assert.match(f.message, /is not a valid WebAssembly module \(.*\); give the compiled \.wasm file, not its source$/);
  });
});

test('a module that loops holds its thread until the thread is stopped, and the pool carries on', async () => {
  const controller = new AbortController();
  const { task: t, cell } = task([job('wasm', { html: '', module: modules.loop })]);
  const running = pool.run(t, { signal: controller.signal });
  const threadsBefore = pool.threads.map((w) => w.threadId);
  while (cell[0] !== 0n) await new Promise((resolve) => setTimeout(resolve, 5));
  // Compiling happens first; give the call time to enter the loop so the stop lands inside wasm.
  await new Promise((resolve) => setTimeout(resolve, 300));
  controller.abort(new Error('job overstayed its limit'));
  const err = await rejection(running);
  assert.equal(err.name, 'AbortError');
  await stillServes();
  assert.ok(threadsBefore.some((id) => !pool.threads.map((w) => w.threadId).includes(id)), 'the looping thread was replaced');
});

describe('through a real supervisor', () => {
  let supervisor: SupervisorProcess;
  let queue: Queue;
  before(async () => {
    const name = uniqueQueue('wasm-faults');
    queue = new Queue(name, { connection: SHARED_REDIS_URL });
    supervisor = new SupervisorProcess(['--queues', name, '--threads', '2', '--heartbeat-ms', '500', '--wasm-module-dirs', BUILT_FIXTURES_DIR], { TROUPE_REDIS_URL: SHARED_REDIS_URL });
    await supervisor.started();
  });
  after(async () => {
    await supervisor.kill();
    await queue.close();
  });

  test('an extraction completes with the JSON result', async () => {
    const { id } = await queue.enqueue('wasm', '<title>From Redis</title><h1>Hi</h1>');
    const result = (await queue.waitForResult(id, { timeoutMs: 20_000 })) as { title: string; headings: unknown[] };
    assert.equal(result.title, 'From Redis');
    assert.deepEqual(result.headings, [{ level: 1, text: 'Hi' }]);
  });

  test('a looping module is stopped at the job timeout by stopping its thread', async () => {
    const { id } = await queue.enqueue('wasm', { html: '', module: modules.loop }, { timeoutMs: 500, attempts: 1 });
    await assert.rejects(queue.waitForResult(id, { timeoutMs: 30_000 }), (err: Error & { jobError?: { name: string; code: string; message: string } }) => {
      assert.equal(err.jobError?.name, 'TimeoutError');
      assert.equal(err.jobError?.code, 'JOB_TIMEOUT');
      assert.match(err.jobError?.message ?? '', /ran past its 500 ms time limit, set by the job's timeoutMs, and its thread was stopped/);
      return true;
    });
  });

  test('a trap goes dead at once, without using the other attempts', async () => {
    const { id } = await queue.enqueue('wasm', { html: '', module: modules.trap }, { attempts: 5 });
    await assert.rejects(queue.waitForResult(id, { timeoutMs: 20_000 }), /WasmTrapError/);
    const dead = await queue.getJob(id);
    assert.equal(dead?.state, 'dead');
    assert.equal(dead?.attempts, 1);
  });
});
