import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { configFromArgs } from '../src/cli/config-args.js';

// A config file names plugin paths relative to its own folder, whatever form "plugins" takes.
const dir = mkdtempSync(join(tmpdir(), 'troupe-plugin-paths-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const folder = join(dir, 'conf');
mkdirSync(folder);

function configFile(name: string, content: unknown): string {
  const path = join(folder, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('plugin paths in a config file', () => {
  test('the array form resolves from the file\'s folder; package names stay as written', () => {
    const path = configFile('array.json', { plugins: ['./p.mjs', 'troupe-plugin-foo'] });
    assert.deepEqual(configFromArgs({ config: path }, {}).config.plugins, [join(folder, 'p.mjs'), 'troupe-plugin-foo']);
  });

  test('the string form resolves from the file\'s folder too, not from the working directory', () => {
    const path = configFile('string.json', { plugins: './p.mjs' });
    const { plugins } = configFromArgs({ config: path }, {}).config;
    assert.deepEqual(plugins, [join(folder, 'p.mjs')]);
    assert.notEqual(plugins[0], resolve('p.mjs'));
  });

  test('a comma-separated string resolves each path the same way', () => {
    const path = configFile('comma.json', { plugins: './a.mjs, ../b.mjs,troupe-plugin-foo' });
    assert.deepEqual(configFromArgs({ config: path }, {}).config.plugins, [join(folder, 'a.mjs'), join(dir, 'b.mjs'), 'troupe-plugin-foo']);
  });

  test('paths from flags and env stay relative to the working directory, as typed', () => {
    const path = configFile('none.json', {});
    assert.deepEqual(configFromArgs({ config: path, plugin: ['./p.mjs'] }, {}).config.plugins, ['./p.mjs']);
    assert.deepEqual(configFromArgs({ config: path }, { TROUPE_PLUGINS: './p.mjs' }).config.plugins, ['./p.mjs']);
  });
});
