/**
 * The shipped code runs the thread entry as compiled JavaScript under plain node (no tsx), so
 * compile the sources and drive a pool from a child process that has no loader at all.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the repository, so the compiled files find piscina in its node_modules.
const outDir = join(root, 'tmp', `threads-compiled-${process.pid}`);

const script = `
import { Piscina } from 'piscina';
import { threadEntryUrl } from './threads/entry.js';
import { loadPlugins } from './processors/plugins.js';
import { CELL_SLOTS, toColumns } from './threads/protocol.js';
const [, , pluginsDir] = process.argv;
const plugins = await loadPlugins(['./greet.mjs'], pluginsDir);
const pool = new Piscina({
  filename: threadEntryUrl().href,
  workerData: { plugins: plugins.map((p) => p.url), defaultTimeoutMs: 0 },
  maxThreads: 1,
  resourceLimits: { maxOldGenerationSizeMb: 64 },
});
const job = (processor, data) => ({ id: processor, queue: 'q', processor, data, attempt: 1, maxAttempts: 1, timeoutMs: 0 });
const cell = new SharedArrayBuffer(CELL_SLOTS * 8);
const ok = await pool.run({ jobs: toColumns([job('echo', Buffer.from('bytes')), job('greet', { who: 'node' })]), cell });
let crash;
try {
  await pool.run({ jobs: toColumns([job('fail', { mode: 'crash', message: 'compiled crash' })]), cell });
} catch (err) {
  crash = err.message;
}
const after = await pool.run({ jobs: toColumns([job('noop', null)]), cell });
await pool.destroy();
console.log(JSON.stringify({
  entry: threadEntryUrl().pathname.split('/').slice(-2).join('/'),
  execArgv: process.execArgv,
  echoed: Buffer.from(ok.outcomes[0].result).toString(),
  greeted: ok.outcomes[1].result.text,
  crash,
  after: after.outcomes[0].status,
}));
`;

before(async () => {
  mkdirSync(outDir, { recursive: true });
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  try {
    await run(tsc, ['-p', join(root, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false']);
  } catch (err) {
    // Type errors elsewhere in src (another file mid-edit) do not stop tsc from emitting; the
    // thread code is checked by `tsc --noEmit` anyway, so only a missing output is fatal here.
    if (!existsSync(join(outDir, 'threads', 'worker.js'))) throw err;
  }
  writeFileSync(join(outDir, 'check-threads.mjs'), script);
});
after(() => {
  rmSync(outDir, { recursive: true, force: true });
});

test('the compiled thread entry runs under plain node, plugins and faults included', async () => {
  const pluginsDir = fileURLToPath(new URL('./fixtures/plugins/', import.meta.url));
  const { stdout } = await run(process.execPath, [join(outDir, 'check-threads.mjs'), pluginsDir], {
    env: { ...process.env, NODE_OPTIONS: '', TROUPE_TEST_GREETING: 'Hi' },
  });
  assert.deepEqual(JSON.parse(stdout), {
    entry: 'threads/worker.js',
    execArgv: [],
    echoed: 'bytes',
    greeted: 'Hi, node',
    crash: 'compiled crash',
    after: 'completed',
  });
});
