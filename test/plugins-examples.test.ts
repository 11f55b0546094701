/**
 * The examples/ plugins, run the way docs/plugins.md tells a newcomer to run them: the
 * AssemblyScript module built with asc, a supervisor started with --plugin, jobs added and read
 * back with the CLI. The guide's listing of the JS plugin is checked against the real file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from '../src/index.js';
import type { ProcessorContext } from '../src/processors/contract.js';
import { SHARED_REDIS_URL, uniqueQueue } from './helpers/redis-server.js';
import { eventually, PROJECT_DIR, runCli, SupervisorProcess } from './helpers/supervisor-process.js';

const run = promisify(execFile);
const EXAMPLES = join(PROJECT_DIR, 'examples');
const JS_PLUGIN = join(EXAMPLES, 'js-plugin', 'word-count.mjs');
const WASM_DIR = join(EXAMPLES, 'wasm-plugin');
const WASM_PLUGIN = join(WASM_DIR, 'keywords.mjs');

interface Plugin {
  name: string;
  validate(input: unknown): string | undefined;
  run(input: unknown, ctx: ProcessorContext): Promise<unknown>;
}

const ctx = {
  signal: new AbortController().signal,
  progress: () => undefined,
  log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
} as unknown as ProcessorContext;

const TEXT = 'The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs. A fox!';

before(async () => {
  // The guide's build step, into a file of this run's own, then renamed into place: a
  // concurrent run never reads a half-written module.
  const build = join(WASM_DIR, 'build');
  mkdirSync(build, { recursive: true });
  const partial = join(build, `.keywords-${process.pid}.wasm`);
  await run(join(PROJECT_DIR, 'node_modules', '.bin', 'asc'), ['--config', join(WASM_DIR, 'asconfig.json'), '--outFile', partial]);
  renameSync(partial, join(build, 'keywords.wasm'));
});

describe('the example plugins on their own', () => {
  test('word-count counts, validates and refuses an empty text', async () => {
    const plugin = (await import(JS_PLUGIN)).default as Plugin;
    assert.deepEqual(await plugin.run({ text: TEXT, top: 2 }, ctx), {
      words: 17,
      distinct: 11,
      top: [
        { word: 'the', count: 4 },
        { word: 'fox', count: 3 },
      ],
    });
    assert.match(plugin.validate({ txt: 'x' }) ?? '', /data\.text must be a string/);
    await assert.rejects(plugin.run({ text: '... !!' }, ctx), (err: Error & { unrecoverable?: boolean }) => err.unrecoverable === true);
  });

  test('keywords runs its WebAssembly module with a fresh instance per job', async () => {
    const plugin = (await import(WASM_PLUGIN)).default as Plugin;
    const expected = {
      words: 17,
      top: [
        { word: 'fox', count: 3 },
        { word: 'dog', count: 2 },
        { word: 'brown', count: 1 },
        { word: 'jumps', count: 1 },
        { word: 'lazy', count: 1 },
      ],
    };
    assert.deepEqual(await plugin.run({ text: TEXT }, ctx), expected);
    assert.deepEqual(await plugin.run({ text: TEXT }, ctx), expected, 'a second job starts from zero counts');
    assert.deepEqual(await plugin.run({ text: 'Größe größe GRÖSSE' }, ctx), { words: 3, top: [{ word: 'größe', count: 2 }, { word: 'grösse', count: 1 }] });
  });
});

describe('the guide, end to end', () => {
  let supervisor: SupervisorProcess;
  let queueName: string;
  let queue: Queue;
  before(async () => {
    queueName = uniqueQueue('examples');
    queue = new Queue(queueName, { connection: SHARED_REDIS_URL });
    supervisor = new SupervisorProcess(['--queues', queueName, '--threads', '2', '--plugin', JS_PLUGIN, '--plugin', WASM_PLUGIN], {
      TROUPE_REDIS_URL: SHARED_REDIS_URL,
    });
    await supervisor.started();
  });
  after(async () => {
    await supervisor.kill();
    await queue.close();
  });

  test('troupe enqueue, then troupe job shows the word-count result', async () => {
    const env = { TROUPE_REDIS_URL: SHARED_REDIS_URL };
    const added = await runCli(['enqueue', queueName, 'word-count', '--data', JSON.stringify({ text: TEXT })], env);
    assert.equal(added.code, 0, added.stderr);
    const id = added.stdout.trim();
    const job = await eventually(async () => {
      const shown = await runCli(['job', id, '--queue', queueName, '--json'], env);
      const record = JSON.parse(shown.stdout) as { state: string; result: unknown };
      return record.state === 'completed' ? record : undefined;
    }, 20_000, 'the word-count job to complete');
    assert.deepEqual((job.result as { top: unknown[] }).top[0], { word: 'the', count: 4 });
  });

  test('the WebAssembly plugin answers through Redis, and bad input goes dead with the message', async () => {
    const { id } = await queue.enqueue('keywords', { text: TEXT });
    const result = (await queue.waitForResult(id, { timeoutMs: 20_000 })) as { top: Array<{ word: string }> };
    assert.equal(result.top[0]!.word, 'fox');
    const bad = await queue.enqueue('keywords', { words: ['no'] }, { attempts: 3 });
    await assert.rejects(queue.waitForResult(bad.id, { timeoutMs: 20_000 }), /keywords: data\.text must be a string/);
    assert.equal((await queue.getJob(bad.id))?.attempts, 1, 'no retries for input that can never work');
  });
});

test('docs/plugins.md shows the JS example exactly as it is in examples/', () => {
  const guide = readFileSync(fileURLToPath(new URL('../docs/plugins.md', import.meta.url)), 'utf8');
  const example = readFileSync(JS_PLUGIN, 'utf8');
  assert.ok(guide.includes(`\`\`\`js\n${example}\`\`\``), 'docs/plugins.md has word-count.mjs verbatim in a js block');
});
