import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { Queue } from '../src/index.js';
import { usePrivateRedis } from './helpers/fixture.js';
import { uniqueQueue } from './helpers/redis-server.js';
import { PROJECT_DIR } from './helpers/supervisor-process.js';

const fixture = usePrivateRedis();

interface EarlyClose {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Bytes read before the reader closed, as `head -c` would. */
  read: number;
}

/** Runs the CLI with its stdout read by something that stops after the first chunk, like `| head -c 100`. */
function runWithEarlyClose(args: string[], timeoutMs = 30_000): Promise<EarlyClose> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: PROJECT_DIR,
      env: { ...process.env, TROUPE_REDIS_URL: fixture.redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let read = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', (d: Buffer) => {
      read = d.length;
      child.stdout.destroy();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`troupe ${args.join(' ')} kept running after its reader closed\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, read });
    });
  });
}

function assertQuiet(run: EarlyClose, what: string): void {
  assert.ok(run.read > 0, `${what}: printed something before the reader closed`);
  assert.doesNotMatch(run.stderr, /EPIPE|Error|^\s+at /m, `${what}: no stack trace on stderr`);
  assert.deepEqual([run.code, run.signal], [0, null], `${what}: exits 0 (stderr: ${run.stderr})`);
}

test('troupe stats --watch --json | head: ends quietly with 0 once its reader closes', async () => {
  const queue = new Queue(uniqueQueue('epipe-watch'), { connection: fixture.redis.url });
  fixture.cleanup(() => queue.close());
  await queue.enqueue('echo', 1);
  assertQuiet(await runWithEarlyClose(['stats', '--watch', '--json', '--interval', '0.1']), 'stats --watch --json');
});

test('a one-shot command with more output than a pipe holds (troupe jobs --json) ends quietly with 0 when its reader closes', async () => {
  const name = uniqueQueue('epipe-jobs');
  const queue = new Queue(name, { connection: fixture.redis.url });
  fixture.cleanup(() => queue.close());
  // 400 jobs of 1 KB: about 500 KB of JSON, far more than the 64 KB a pipe buffers.
  await queue.enqueueMany(Array.from({ length: 400 }, (_, i) => ({ processor: 'echo', data: { i, pad: 'x'.repeat(1024) } })));
  assertQuiet(await runWithEarlyClose(['jobs', '--queue', name, '--state', 'pending', '--limit', '400', '--json']), 'jobs --json');
});
