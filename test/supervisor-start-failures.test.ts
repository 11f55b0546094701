/**
 * Issue 16 item 5: a start that cannot finish must stop, within a bounded time, with exit 2 and
 * one line naming the cause and the fix; never hang without a word, nor exit 0 as if all was well.
 * Plugins that never finish importing, Redis users whose ACL refuses a command the supervisor
 * needs, and a Sentinel's port given as a plain Redis, each on a real process of the test's own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { runCli } from './helpers/supervisor-process.js';
import { SHARED_REDIS_URL } from './helpers/redis-server.js';
import { loadPlugins } from '../src/processors/plugins.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/start-failures/', import.meta.url));
const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** The lines a failed start printed, without the generic pointer to --help. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Run with --help'));

describe('a plugin whose import never finishes', () => {
  const supervise = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(['supervise', '--http-port', '0', '--redis-url', SHARED_REDIS_URL, ...args], env, 90_000);

  test('a top-level await nothing will settle: exit 2 at once, naming the plugin and why', async () => {
    const run = await supervise(['--plugin', join(FIXTURES, 'never-settles.mjs')]);
    assert.equal(run.code, 2, run.stderr);
    const lines = errorLines(run.stderr);
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /plugin ".*never-settles\.mjs": importing .* never finishes: its top-level await waits on a promise that nothing will settle/);
    assert.match(lines[0]!, /fix the module/);
  });

  test('a module that spins at import: the time-out still fires (env), exit 2 naming the plugin and the setting', async () => {
    const run = await supervise(['--plugin', join(FIXTURES, 'spins.mjs')], { TROUPE_PLUGIN_IMPORT_TIMEOUT_MS: '1500' });
    assert.equal(run.code, 2, run.stderr);
    const lines = errorLines(run.stderr);
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /plugin ".*spins\.mjs": importing .* did not finish within 1500 ms \(the time-out set by --plugin-import-timeout-ms, TROUPE_PLUGIN_IMPORT_TIMEOUT_MS or config "pluginImportTimeoutMs"\)/);
  });

  test('a slow import that ends within the time-out loads, checked in a thread and then here', async () => {
    const loaded = await loadPlugins(['./slow-but-fine.mjs'], FIXTURES, { importTimeoutMs: 20_000 });
    assert.deepEqual(loaded.map((p) => p.processor.name), ['slow-but-fine']);
  });

  test('the config key sets the time-out too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-start-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'troupe.json');
    writeFileSync(file, JSON.stringify({ pluginImportTimeoutMs: 1000, plugins: [join(FIXTURES, 'spins.mjs')] }));
    const spun = await supervise(['--config', file]);
    assert.equal(spun.code, 2, spun.stderr);
    assert.match(spun.stderr, /did not finish within 1000 ms/);
    assert.match((await runCli(['supervise', '--help'])).stdout, /--plugin-import-timeout-ms[\s\S]*TROUPE_PLUGIN_IMPORT_TIMEOUT_MS/);
  });
});
