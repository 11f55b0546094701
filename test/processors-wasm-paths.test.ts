/**
 * The module a `wasm` job names (data.module) must lie inside a configured directory, judged on
 * its real path: a symlink or a `..` that leads out is refused, as is any path when no directory
 * is configured (the default), except the built-in extractor itself.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allowedJobModule } from '../src/processors/wasm/module-dirs.js';
import { BUILTIN_EXTRACTOR_PATH } from '../src/processors/wasm/processor.js';
import type { JobOutcome } from '../src/threads/protocol.js';
import { watModule } from './fixtures/wasm/build.js';
import { job, makePool, runJobs } from './fixtures/threads/pool.js';

let root: string;
let allowed: string;
let outside: string;
let linkedDir: string;
before(async () => {
  const echo = await watModule('echo');
  root = mkdtempSync(join(tmpdir(), 'troupe-wasm-dirs-'));
  allowed = join(root, 'allowed');
  outside = join(root, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  copyFileSync(echo, join(allowed, 'echo.wasm'));
  copyFileSync(echo, join(outside, 'secret.wasm'));
  // A link inside the allowed directory that points out of it.
  symlinkSync(join(outside, 'secret.wasm'), join(allowed, 'escape.wasm'));
  // A configured directory may itself be a link: what counts is where it leads.
  linkedDir = join(root, 'linked');
  symlinkSync(allowed, linkedDir);
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

function refused(fn: () => unknown): { code: string; message: string; unrecoverable: boolean } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string; unrecoverable: boolean };
  }
  assert.fail('expected a refusal');
}

describe('which module paths a job may name', () => {
  test('a file inside a configured directory is allowed, as its real path', () => {
    assert.equal(allowedJobModule(join(allowed, 'echo.wasm'), BUILTIN_EXTRACTOR_PATH, [allowed]), join(allowed, 'echo.wasm'));
    assert.equal(allowedJobModule(join(linkedDir, 'echo.wasm'), BUILTIN_EXTRACTOR_PATH, [linkedDir]), join(allowed, 'echo.wasm'));
  });

  test('a symlink inside the directory that leads out of it is refused, saying where it leads', () => {
    const err = refused(() => allowedJobModule(join(allowed, 'escape.wasm'), BUILTIN_EXTRACTOR_PATH, [allowed]));
    assert.deepEqual([err.code, err.unrecoverable], ['WASM_MODULE_REFUSED', true]);
    assert.match(err.message, new RegExp(`escape\\.wasm: not inside a directory jobs may name modules in \\(it resolves to ${join(outside, 'secret.wasm').replace(/[.]/g, '\\.')}\\)`));
    assert.match(err.message, /--wasm-module-dirs \(TROUPE_WASM_MODULE_DIRS, config "wasmModuleDirs"\)/);
  });

  test('.. out of the directory, or a file elsewhere, is refused; a missing file elsewhere says nothing of the disk', () => {
    assert.equal(refused(() => allowedJobModule(join(allowed, '..', 'outside', 'secret.wasm'), BUILTIN_EXTRACTOR_PATH, [allowed])).code, 'WASM_MODULE_REFUSED');
    assert.equal(refused(() => allowedJobModule(join(outside, 'secret.wasm'), BUILTIN_EXTRACTOR_PATH, [allowed])).code, 'WASM_MODULE_REFUSED');
    assert.equal(refused(() => allowedJobModule('/etc/nope.wasm', BUILTIN_EXTRACTOR_PATH, [allowed])).code, 'WASM_MODULE_REFUSED');
    assert.equal(refused(() => allowedJobModule(join(allowed, '..', 'outside', 'nope.wasm'), BUILTIN_EXTRACTOR_PATH, [allowed])).code, 'WASM_MODULE_REFUSED');
    assert.equal(refused(() => allowedJobModule(join(allowed, 'nope.wasm'), BUILTIN_EXTRACTOR_PATH, [allowed])).code, 'WASM_MODULE_NOT_FOUND');
  });

  test('a directory named like an allowed one is not inside it (/a/allowed-2 is not under /a/allowed)', () => {
    const sibling = `${allowed}-2`;
    mkdirSync(sibling);
    copyFileSync(join(allowed, 'echo.wasm'), join(sibling, 'echo.wasm'));
    assert.equal(refused(() => allowedJobModule(join(sibling, 'echo.wasm'), BUILTIN_EXTRACTOR_PATH, [allowed])).code, 'WASM_MODULE_REFUSED');
  });

  test('with no directory configured only the built-in extractor may be named', () => {
    assert.match(refused(() => allowedJobModule(join(allowed, 'echo.wasm'), BUILTIN_EXTRACTOR_PATH, [])).message, /: none is configured; add its directory/);
    assert.equal(allowedJobModule(BUILTIN_EXTRACTOR_PATH, BUILTIN_EXTRACTOR_PATH, []), BUILTIN_EXTRACTOR_PATH);
  });
});

describe('through a thread: the directories come from the thread init', () => {
  test('refused by default, allowed once configured, the symlink escape refused either way', async () => {
    const data = (module: string) => ({ text: '{"ok":1}', module });
    const closed = makePool({ maxThreads: 1 });
    const open = makePool({ maxThreads: 1, init: { wasmModuleDirs: [allowed] } });
    try {
      const [byDefault] = (await runJobs(closed, [job('wasm', data(join(allowed, 'echo.wasm')))])).outcomes as Array<Extract<JobOutcome, { status: 'failed' }>>;
      assert.deepEqual([byDefault!.status, byDefault!.error.code, byDefault!.unrecoverable], ['failed', 'WASM_MODULE_REFUSED', true]);
      const builtin = (await runJobs(closed, [job('wasm', { html: '<title>t</title>', module: BUILTIN_EXTRACTOR_PATH })])).outcomes[0]!;
      assert.equal(builtin.status, 'completed', JSON.stringify(builtin));
      const [ok, escape] = (await runJobs(open, [job('wasm', data(join(allowed, 'echo.wasm'))), job('wasm', data(join(allowed, 'escape.wasm')))])).outcomes;
      assert.deepEqual(ok, { status: 'completed', result: { ok: 1 }, followUps: [] });
      assert.equal((escape as { error: { code: string } }).error.code, 'WASM_MODULE_REFUSED');
    } finally {
      await closed.destroy();
      await open.destroy();
    }
  });
});
