import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { flagName } from '../src/cli/config-args.js';
import { CONFIG_KEYS, type ConfigKey } from '../src/supervisor/config.js';
import { BUILTIN_PROCESSORS } from '../src/processors/builtin.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the README documents every supervisor setting: flag, environment variable and config key', () => {
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as Array<[ConfigKey, (typeof CONFIG_KEYS)[ConfigKey]]>) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`--${flagName(key)}\``));
    assert.ok(row, `README has a row for --${flagName(key)}`);
    assert.ok(row.includes(`\`${key}\``), `the --${flagName(key)} row names config key ${key}`);
    for (const env of spec.env) assert.ok(row.includes(`\`${env}\``), `the --${flagName(key)} row names ${env}`);
  }
});

test('the README lists every built-in processor', () => {
  for (const p of BUILTIN_PROCESSORS) assert.match(readme, new RegExp(`\\| \`${p.name}\` \\|`), `README lists ${p.name}`);
});
