#!/usr/bin/env node
/**
 * Installs Troupe the way an application does before it is on the npm registry, and checks that
 * it works there: `npm pack` of the current tree (which builds it through "prepare"), then
 * `npm install <tarball>` into an empty app, `import('troupe')` and `npx troupe --help`.
 * With --git it also installs from a git URL (git+file:// of this repository's HEAD), the path
 * `npm install git+https://…#main` takes: npm clones, installs devDependencies and runs
 * "prepare" itself.
 *
 *   node scripts/check-install.mjs [--git] [--keep]
 *
 * It uses the npm registry for the dependencies, preferring the local cache (--prefer-offline).
 * It takes about 30 s (60 s with --git) on the 2-core development machines, so it is not part of
 * `npm test`; test/package-install.test.ts checks the package's contents cheaply instead.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'troupe-install-check-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function run(cmd, argv, cwd) {
  const started = Date.now();
  const out = execFileSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
  console.log(`ok: ${cmd} ${argv.join(' ')} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return out;
}

/** An empty application that installs `spec` and uses it as an application would. */
function checkApp(name, spec) {
  const app = join(work, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `check-${name}`, version: '1.0.0', private: true, type: 'module' }));
  run(npm, ['install', '--prefer-offline', spec], app);
  const imported = run(process.execPath, ['-e', "import('troupe').then((t) => console.log(typeof t.Queue, typeof t.QueueConsumer))"], app).trim();
  if (imported !== 'function function') throw new Error(`${name}: import('troupe') gave ${imported}, not the Queue and QueueConsumer classes`);
  const help = run(npx, ['--no-install', 'troupe', '--help'], app);
  if (!help.includes('troupe <command>')) throw new Error(`${name}: npx troupe --help printed no usage:\n${help}`);
  console.log(`ok: ${name}: import('troupe') and npx troupe --help work`);
}

try {
  // A copy of the work tree (tracked and new files, not ignored ones such as dist/ and
  // node_modules/), so packing builds nothing in the real tree.
  const copy = join(work, 'troupe');
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of tracked) {
    try {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(root, file), join(copy, file));
    } catch (err) {
      // A tracked file deleted in the work tree is not part of what is packed.
      if (err.code !== 'ENOENT') throw err;
    }
  }
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], copy));
  const tarball = join(work, packed[0].filename);
  console.log(`ok: ${packed[0].filename}: ${packed[0].entryCount} files, ${(packed[0].size / 1024).toFixed(0)} KiB packed`);
  checkApp('from-tarball', tarball);
  if (args.has('--git')) checkApp('from-git', `git+file://${root}#HEAD`);
  console.log('install check passed');
} finally {
  if (args.has('--keep')) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
