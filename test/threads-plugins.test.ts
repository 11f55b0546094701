import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { BUILTIN_PROCESSORS } from '../src/processors/builtin.js';
import { buildRegistry, loadPlugins, PluginError } from '../src/processors/plugins.js';
import type { JobOutcome, ThreadEvent } from '../src/threads/protocol.js';
import { eventually, job, makePool, PLUGINS_DIR, runJobs, type Pool } from './fixtures/threads/pool.js';

const pluginsDir = fileURLToPath(PLUGINS_DIR);

async function loadError(specs: string[], baseDir = pluginsDir): Promise<PluginError> {
  try {
    await loadPlugins(specs, baseDir);
  } catch (err) {
    assert.ok(err instanceof PluginError, `expected a PluginError, got ${String(err)}`);
    return err;
  }
  throw new Error(`loading ${specs.join(', ')} should have failed`);
}

describe('loading plugins', () => {
  test('a file path relative to the base dir loads, and the registry names its source', async () => {
    const plugins = await loadPlugins(['./greet.mjs'], pluginsDir);
    assert.equal(plugins.length, 1);
    assert.equal(plugins[0]!.processor.name, 'greet');
    assert.equal(plugins[0]!.url, pathToFileURL(join(pluginsDir, 'greet.mjs')).href);
    const registry = buildRegistry(plugins);
    assert.deepEqual([...registry.keys()], [...BUILTIN_PROCESSORS.map((p) => p.name), 'greet']);
    assert.equal(registry.get('greet')!.source, 'plugin "./greet.mjs"');
    assert.equal(registry.get('echo')!.source, 'built-in processor "echo"');
  });

  test('a path without ./, an absolute path and a file URL load the same module once', async () => {
    const absolute = join(pluginsDir, 'greet.mjs');
    const plugins = await loadPlugins(['greet.mjs', absolute, pathToFileURL(absolute).href], pluginsDir);
    assert.equal(plugins.length, 1);
  });

  const errors: Array<[string, string[], string, RegExp]> = [
    ['a missing file', ['./missing.mjs'], 'PLUGIN_NOT_FOUND', /^plugin "\.\/missing\.mjs": no file at .*missing\.mjs \(relative paths start from .*fixtures\/plugins; check the path/],
    ['a missing package', ['troupe-no-such-plugin'], 'PLUGIN_NOT_FOUND', /^plugin "troupe-no-such-plugin": cannot find it as a package from .*no such package is installed.*npm install troupe-no-such-plugin/],
    ['a file that is not JavaScript', ['./not-js.txt'], 'PLUGIN_INVALID', /^plugin "\.\/not-js\.txt": .*not-js\.txt is not a JavaScript file; a plugin file must end in \.js or \.mjs/],
    ['no default export', ['./no-default.mjs'], 'PLUGIN_INVALID', /^plugin "\.\/no-default\.mjs" has no default export \(it exports name, run\); add `export default \{ name: /],
    ['no name', ['./no-name.mjs'], 'PLUGIN_INVALID', /^plugin "\.\/no-name\.mjs": the default export has no name \(got undefined\); set name to the string jobs use/],
    ['run not a function', ['./run-not-function.mjs'], 'PLUGIN_INVALID', /^plugin "\.\/run-not-function\.mjs" \(processor "broken"\): run is not a function \(got a string\); define run\(input, ctx\)/],
    ['a module that throws on import', ['./throws-on-import.mjs'], 'PLUGIN_LOAD_FAILED', /^plugin "\.\/throws-on-import\.mjs": importing file:.*throws-on-import\.mjs failed \(Error: config file missing\)/],
    ['a built-in name', ['./echo-clash.mjs'], 'PROCESSOR_NAME_CLASH', /^processor name "echo" is defined twice: by built-in processor "echo" and by plugin "\.\/echo-clash\.mjs"; rename one/],
    ['two plugins with one name', ['./greet.mjs', './greet-again.mjs'], 'PROCESSOR_NAME_CLASH', /^processor name "greet" is defined twice: by plugin "\.\/greet\.mjs" and by plugin "\.\/greet-again\.mjs"; rename one/],
  ];
  for (const [what, specs, code, message] of errors) {
    test(`${what} is refused with ${code} and a message naming the fix`, async () => {
      const err = await loadError(specs);
      assert.equal(err.code, code);
      assert.match(err.message, message);
    });
  }

  describe('package names resolve from the base dir', () => {
    let project: string;
    before(() => {
      project = mkdtempSync(join(tmpdir(), 'troupe-plugins-'));
      const plugin = (name: string) => `export default { name: '${name}', run: () => '${name} ran' };\n`;
      const pkg = (dir: string, manifest: object, file: string, source: string) => {
        mkdirSync(join(project, 'node_modules', dir), { recursive: true });
        writeFileSync(join(project, 'node_modules', dir, 'package.json'), JSON.stringify(manifest));
        writeFileSync(join(project, 'node_modules', dir, file), source);
      };
      pkg('troupe-plugin-plain', { name: 'troupe-plugin-plain', type: 'module', main: 'index.js' }, 'index.js', plugin('plain'));
      pkg('@acme/troupe-esm', { name: '@acme/troupe-esm', exports: { '.': { import: './esm.mjs' } } }, 'esm.mjs', plugin('esm-only'));
    });
    after(() => {
      rmSync(project, { recursive: true, force: true });
    });

    test('a package with main, and a scoped package that exports only "import"', async () => {
      const plugins = await loadPlugins(['troupe-plugin-plain', '@acme/troupe-esm'], join(project, 'src'));
      assert.deepEqual(plugins.map((p) => [p.spec, p.processor.name]), [['troupe-plugin-plain', 'plain'], ['@acme/troupe-esm', 'esm-only']]);
      assert.equal(await plugins[1]!.processor.run(undefined, {} as never), 'esm-only ran');
    });
  });
});

describe('plugins in a thread', () => {
  let pool: Pool;
  const events: ThreadEvent[] = [];
  before(async () => {
    // A thread gets a copy of the environment when it starts, so set it before the pool does.
    process.env.TROUPE_TEST_GREETING = 'Bonjour';
    const plugins = await loadPlugins(['./greet.mjs', './patient.mjs', './bad-result.mjs'], pluginsDir);
    pool = makePool({ init: { plugins: plugins.map((p) => p.url), defaultTimeoutMs: 0 } });
    pool.on('message', (message: ThreadEvent) => events.push(message));
  });
  after(async () => {
    await pool.destroy();
    delete process.env.TROUPE_TEST_GREETING;
  });

  test('a plugin runs, reads the environment, reports progress and logs, and asks for a follow-up', async () => {
    const greetJob = job('greet', { who: 'Ada' }, { id: 'greet-1', queue: 'mail' });
    const { outcomes } = await runJobs(pool, [greetJob]);
    assert.deepEqual(outcomes, [
      {
        status: 'completed',
        result: { text: 'Bonjour, Ada', jobId: 'greet-1', queue: 'mail' },
        followUps: [{ processor: 'noop', data: { greeted: 'Ada' } }],
      },
    ]);
    // Events travel on the thread's own port, not with the result: they may land after it.
    await eventually(() => events.filter((e) => e.jobId === 'greet-1').length === 2);
    assert.deepEqual(
      events.filter((e) => e.jobId === 'greet-1'),
      [
        { kind: 'progress', queue: 'mail', jobId: 'greet-1', value: { step: 1, of: 2 } },
        { kind: 'log', queue: 'mail', jobId: 'greet-1', level: 'info', message: 'greeting', fields: { who: 'Ada', attempt: 1 } },
      ],
    );
  });

  test("a plugin's validate() failure is unrecoverable with its own message", async () => {
    const { outcomes } = await runJobs(pool, [job('greet', { who: 42 })]);
    const outcome = outcomes[0] as Extract<JobOutcome, { status: 'failed' }>;
    assert.deepEqual(
      { status: outcome.status, name: outcome.error.name, message: outcome.error.message, unrecoverable: outcome.unrecoverable },
      { status: 'failed', name: 'InvalidInputError', message: 'greet: data.who must be a string, got 42', unrecoverable: true },
    );
  });

  test("the processor's timeoutMs applies when the job sets none; the job's overrides it", async () => {
    const started = Date.now();
    const { outcomes } = await runJobs(pool, [job('patient', null), job('patient', null, { timeoutMs: 300 })]);
    const took = Date.now() - started;
    const [first, second] = outcomes as Array<Extract<JobOutcome, { status: 'failed' }>>;
    assert.equal(first!.error.code, 'JOB_TIMEOUT');
    assert.match(first!.error.message, /time limit of 100 ms, set by processor "patient"'s timeoutMs/);
    assert.match(second!.error.message, /time limit of 300 ms, set by the job's timeoutMs/);
    assert.ok(took >= 400 && took < 1500, `two limits of 100 and 300 ms took ${took} ms`);
  });

  test('a result that cannot leave the thread fails only its own job', async () => {
    const { outcomes } = await runJobs(pool, [job('bad-result', 'function'), job('bad-result', 'date')]);
    const bad = outcomes[0] as Extract<JobOutcome, { status: 'failed' }>;
    assert.equal(bad.error.code, 'RESULT_NOT_CLONEABLE');
    assert.equal(bad.unrecoverable, true);
    assert.match(bad.error.message, /processor "bad-result" returned a result that cannot leave its thread: result\.callback is a function/);
    assert.deepEqual(outcomes[1], { status: 'completed', result: { when: new Date(0), ok: true }, followUps: [] });
  });

  test('a thread whose plugins fail to load fails each job for retry, naming the plugin', async () => {
    const broken = makePool({ init: { plugins: ['./throws-on-import.mjs'], pluginBaseDir: pluginsDir, defaultTimeoutMs: 0 } });
    try {
      const { outcomes, cell } = await runJobs(broken, [job('noop', null), job('noop', null)]);
      assert.equal(outcomes.length, 2);
      for (const outcome of outcomes as Array<Extract<JobOutcome, { status: 'failed' }>>) {
        assert.equal(outcome.error.code, 'PLUGIN_LOAD_FAILED');
        assert.equal(outcome.unrecoverable, false);
        assert.match(outcome.error.message, /plugin "\.\/throws-on-import\.mjs": importing .* failed \(Error: config file missing\)/);
      }
      assert.equal(cell[0], 2n);
    } finally {
      await broken.destroy();
    }
  });
});
