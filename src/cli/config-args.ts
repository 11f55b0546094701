import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { CONFIG_KEYS, ConfigError, defaultConfig, envLayer, resolveConfig, type ConfigKey, type Layer, type ResolvedConfig, type SupervisorConfig } from '../supervisor/config.js';

/** Flag names derive from config keys (threads → --threads); plugins is singular and repeatable. */
export function flagName(key: ConfigKey): string {
  if (key === 'plugins') return 'plugin';
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function defaultText(key: ConfigKey, defaults: SupervisorConfig): string {
  if (key === 'threads') return `available cores, ${defaults.threads} here`;
  if (key === 'minThreads') return 'threads';
  if (key === 'redisUrl') return `${defaults.redisUrl}, started if nothing answers`;
  if (defaults[key] === '') return 'none';
  const value = defaults[key];
  return Array.isArray(value) ? (value.length ? value.map((v) => `"${v}"`).join(',') : 'none') : String(value);
}

/** Adds every supervisor setting as a flag; help names its env variable and config key. */
export function withConfigFlags<T>(yargs: Argv<T>): Argv<T> {
  let y = yargs.option('config', { type: 'string', describe: 'JSON config file (keys as listed below); flags > env > file > defaults', group: 'Configuration:' });
  const defaults = defaultConfig();
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as Array<[ConfigKey, (typeof CONFIG_KEYS)[ConfigKey]]>) {
    y = y.option(flagName(key), {
      // Values stay strings until the one validator checks them, so messages are the same for flags, env and file.
      type: spec.kind === 'list' ? 'array' : spec.kind === 'boolean' ? 'boolean' : 'string',
      describe: `${spec.help} (default ${defaultText(key, defaults)}) [env ${spec.env.join(' or ')}; config "${key}"]`,
      group: 'Supervisor:',
    });
  }
  return y;
}

export function flagsLayer(argv: Record<string, unknown>): Layer {
  const values: Partial<Record<string, unknown>> = {};
  for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
    const raw = argv[flagName(key)];
    if (raw === undefined) continue;
    if (CONFIG_KEYS[key].kind === 'list') {
      // Repeated list flags arrive as arrays; each item may itself be comma-separated.
      values[key] = Array.isArray(raw) ? raw.flatMap((v) => String(v).split(',')) : raw;
    } else {
      // A repeated single-value flag takes its last value, as most CLIs do.
      values[key] = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    }
  }
  // Plugin paths from flags stay as written (they resolve from the working directory), so
  // messages quote them as the user typed them.
  return { source: 'flag', values, describe: (key) => `--${flagName(key)}` };
}

/** A plugin given as a path is relative to where it was written (cwd for flags, the file for config). */
function isPlugPath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || isAbsolute(spec);
}

export function fileLayer(path: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config: ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config: ${path} must hold a JSON object of settings, e.g. { "threads": 4, "queues": ["default"] }`);
  }
  const values = { ...(parsed as Record<string, unknown>) };
  // TLS files, like plugins, are relative to the file that names them.
  for (const key of ['redisTlsCa', 'redisTlsCert', 'redisTlsKey'] as const) {
    const v = values[key];
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) values[key] = resolve(dirname(path), v);
  }
  // One rule for both forms: a string is the comma-separated list the validator would split.
  const plugins = typeof values.plugins === 'string' ? values.plugins.split(',').map((p) => p.trim()).filter(Boolean) : values.plugins;
  if (Array.isArray(plugins)) {
    values.plugins = plugins.map((p: unknown) => (typeof p === 'string' && isPlugPath(p) ? resolve(dirname(path), p) : p));
  }
  return { source: 'file', values, describe: (key) => `"${key}" in ${path}` };
}

/** defaults < config file < environment < flags. */
export function configFromArgs(argv: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const layers: Layer[] = [];
  const file = argv.config;
  if (typeof file === 'string') layers.push(fileLayer(file));
  else if (env.TROUPE_CONFIG) layers.push(fileLayer(env.TROUPE_CONFIG));
  layers.push(envLayer(env), flagsLayer(argv));
  return resolveConfig(layers);
}
