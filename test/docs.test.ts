import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { JobMetrics } from '../src/metrics/job-metrics.js';
import { renderPrometheus } from '../src/metrics/prometheus.js';
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

/**
 * Claims the docs make that a test can check cheaply: the metric names, and the flags. The flags
 * are read from every command's yargs builder, which is what `--help` prints, so no CLI process
 * is started per command.
 */
const DOCS_DIR = new URL('../docs/', import.meta.url);
const observability = readFileSync(new URL('observability.md', DOCS_DIR), 'utf8');

/** `a_{x,y}_b` → a_x_b, a_y_b; braces at the end of a name are its labels (`troupe_threads{state}`), not alternatives. */
function expandNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [token] of text.matchAll(/troupe_[a-z0-9_]*(?:\{[a-z0-9_,]+\}[a-z0-9_]+)*[a-z0-9_]*/g)) {
    let variants = [token];
    for (;;) {
      const next = variants.flatMap((v) => {
        const m = /\{([a-z0-9_,]+)\}/.exec(v);
        return m ? m[1]!.split(',').map((alt) => v.slice(0, m.index) + alt + v.slice(m.index + m[0].length)) : [v];
      });
      if (next.length === variants.length && next.every((v, i) => v === variants[i])) break;
      variants = next;
    }
    for (const v of variants) names.add(v);
  }
  return names;
}

function fullExposition(): string {
  const metrics = new JobMetrics();
  const s = metrics.series('q', 'p');
  s.wait.record(1000);
  s.run.record(2000);
  s.endToEnd.record(3000);
  metrics.queue('q').renewalLag.record(500);
  return renderPrometheus({
    metrics,
    depths: new Map([['q', { pending: 1, delayed: 0, active: 0, completed: 0, dead: 0 }]]),
    supervisor: { id: 's', host: 'h', startedAt: 0, threads: { busy: 0, idle: 1 }, inFlight: { buffered: 0, running: 0, acking: 0 }, eventLoopLagMs: 0 },
    alerts: [{ alert: 'queueDepth', queue: 'q', processor: '', firing: true }],
  });
}

test('every metric docs/observability.md names is exported, and every exported metric is in it', () => {
  const text = fullExposition();
  const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const exported = new Set(families.keys());
  for (const [name, type] of families) if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`);
  const documented = expandNames(observability);
  assert.ok(documented.size > 20, `${documented.size} names found in the doc`);
  for (const name of documented) assert.ok(exported.has(name), `docs/observability.md names ${name}, which /metrics does not export`);
  for (const name of families.keys()) assert.ok(documented.has(name), `/metrics exports ${name}, which docs/observability.md does not describe`);
});

type YargsInternals = {
  getOptions(): { key: Record<string, unknown> };
  getInternalMethods(): { getCommandInstance(): { getCommandHandlers(): Record<string, { builder: unknown }> } };
};

/** Every option of every command and subcommand in src/cli/commands, as their builders declare them. */
async function cliFlags(): Promise<Set<string>> {
  const flags = new Set(['help']);
  const collect = (builder: unknown): void => {
    if (typeof builder !== 'function') {
      if (builder && typeof builder === 'object') for (const key of Object.keys(builder)) flags.add(key);
      return;
    }
    const y = yargs([]);
    const built = ((builder as (y: Argv) => Argv | undefined)(y) ?? y) as unknown as YargsInternals;
    for (const key of Object.keys(built.getOptions().key)) flags.add(key);
    for (const sub of Object.values(built.getInternalMethods().getCommandInstance().getCommandHandlers())) collect(sub.builder);
  };
  const dir = new URL('../src/cli/commands/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const mod = (await import(new URL(file, dir).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      for (const c of Array.isArray(value) ? value : [value]) {
        if (c && typeof c === 'object' && 'command' in c && 'handler' in c) collect((c as CommandModule).builder);
      }
    }
  }
  return flags;
}

/** Flags of other programs the docs quote, with the program. */
const OTHER_PROGRAMS_FLAGS = new Map([
  ['replicaof', 'redis-server'],
  ['import', 'node --import tsx'],
  ['import-memory', 'the WebAssembly linker'],
  ['init', 'docker run --init'],
]);

test('every --flag in the README and docs/ is a flag of some troupe command', async () => {
  const flags = await cliFlags();
  assert.ok(flags.has('metrics-interval') && flags.has('watch') && flags.has('state'), 'flags of supervise, stats and jobs read from the builders');
  const files = [['README.md', readme], ...readdirSync(DOCS_DIR).filter((f) => f.endsWith('.md')).map((f) => [`docs/${f}`, readFileSync(new URL(f, DOCS_DIR), 'utf8')])];
  for (const [file, text] of files) {
    // Code blocks quote other programs too (C, Rust, redis-server): there, only troupe's lines count.
    let inCode = false;
    const lines = text!.split('\n').filter((line) => {
      if (line.trimStart().startsWith('```')) inCode = !inCode;
      return !inCode || line.includes('troupe');
    });
    for (const [, raw] of lines.join('\n').matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
      // `--no-x` is yargs's negation of `--x`; `--redis-tls-` (ending in a dash) names a family.
      const flag = raw!.replace(/^no-/, '');
      const known = flag.endsWith('-') ? [...flags].some((f) => f.startsWith(flag)) : flags.has(flag) || OTHER_PROGRAMS_FLAGS.has(flag);
      assert.ok(known, `${file} mentions --${raw}, which no troupe command has (see --help)`);
    }
  }
});
