/**
 * Loading plugin processors. A plugin is a plain ES module (or CommonJS) whose default export is a
 * processor object; it needs no import of troupe. Every problem is reported at start with the
 * plugin named and the fix, so a bad deploy fails before it leases a single job.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CodedError, type CodeOf } from '../errors.js';
import { BUILTIN_PROCESSORS } from './builtin.js';
import type { Processor } from './contract.js';
import { resolveEsmPackage } from './resolve-package.js';

export const PluginErrorCode = {
  NotFound: 'PLUGIN_NOT_FOUND',
  LoadFailed: 'PLUGIN_LOAD_FAILED',
  Invalid: 'PLUGIN_INVALID',
  NameClash: 'PROCESSOR_NAME_CLASH',
  ImportTimeout: 'PLUGIN_IMPORT_TIMEOUT',
  ImportNeverSettles: 'PLUGIN_IMPORT_NEVER_SETTLES',
} as const;
export type PluginErrorCode = CodeOf<typeof PluginErrorCode>;

/** Most jobs of one I/O processor a supervisor runs at once (Processor.concurrency). */
export const MAX_IO_CONCURRENCY = 10_000;

export class PluginError extends CodedError<PluginErrorCode> {
  override name = 'PluginError';
}

export interface LoadedPlugin {
  /** As the user wrote it (for messages). */
  spec: string;
  /** The module actually imported: pass these to threads (ThreadInit.plugins) so they need no base dir. */
  url: string;
  processor: Processor;
}

export interface RegistryEntry {
  processor: Processor;
  /** Where the processor came from, for messages and `troupe processors`: `built-in` or `plugin "<spec>"`. */
  source: string;
}

const PLUGIN_FILE_EXTENSIONS = ['.js', '.mjs', '.cjs'];

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('file:') || isAbsolute(spec);
}

function resolveFile(spec: string, path: string, baseDir: string): string {
  if (!existsSync(path) || !statSync(path).isFile()) {
    const hint = isAbsolute(spec) || spec.startsWith('file:') ? 'check the path' : `relative paths start from ${baseDir}; check the path or give an absolute one`;
    throw new PluginError(PluginErrorCode.NotFound, `plugin "${spec}": no file at ${path} (${hint})`);
  }
  if (!PLUGIN_FILE_EXTENSIONS.includes(extname(path))) {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `plugin "${spec}": ${path} is not a JavaScript file; a plugin file must end in .js or .mjs (compile TypeScript first)`,
    );
  }
  return pathToFileURL(path).href;
}

function resolvePackage(spec: string, baseDir: string): string {
  // Resolve from the user's directory, so their node_modules is searched rather than troupe's.
  const requireFromBase = createRequire(join(baseDir, 'noop.js'));
  let requireError: unknown;
  try {
    return pathToFileURL(requireFromBase.resolve(spec)).href;
  } catch (err) {
    requireError = err;
  }
  const esmEntry = resolveEsmPackage(spec, baseDir);
  if (esmEntry !== undefined && existsSync(esmEntry)) return pathToFileURL(esmEntry).href;
  // Last, troupe's own location: a plugin installed beside a global troupe.
  try {
    return import.meta.resolve(spec);
  } catch (err) {
    // The first failure says most about the user's directory; this one only confirms it.
    const code = (requireError as { code?: unknown }).code;
    const why = code === 'MODULE_NOT_FOUND' ? 'no such package is installed' : String((requireError as Error).message ?? requireError);
    throw new PluginError(
      PluginErrorCode.NotFound,
      `plugin "${spec}": cannot find it as a package from ${baseDir} (${why}); install it there (npm install ${spec}) ` +
        'or give a file path starting with ./ or /',
      { cause: err },
    );
  }
}

/** Turns a spec into the URL to import: a file path (relative to baseDir), a file URL or a package name. */
export function resolvePluginSpec(spec: string, fromDir: string): string {
  const baseDir = resolve(fromDir);
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new PluginError(PluginErrorCode.NotFound, `plugin spec must be a non-empty file path or package name, got ${JSON.stringify(spec)}`);
  }
  if (spec.startsWith('file:')) return resolveFile(spec, fileURLToPath(spec), baseDir);
  if (looksLikePath(spec)) return resolveFile(spec, resolve(baseDir, spec), baseDir);
  // `plugins/resize.mjs` is a path to most people even without ./: take it as one when the file exists.
  const asPath = resolve(baseDir, spec);
  if (PLUGIN_FILE_EXTENSIONS.includes(extname(spec)) && existsSync(asPath)) return resolveFile(spec, asPath, baseDir);
  return resolvePackage(spec, baseDir);
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Checks a module's default export against the processor contract; the message names the fix. */
export function checkPluginExport(spec: string, mod: Record<string, unknown>): Processor {
  const where = `plugin "${spec}"`;
  const exported = mod.default;
  if (exported === undefined) {
    const named = Object.keys(mod).filter((key) => key !== 'default');
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${where} has no default export${named.length ? ` (it exports ${named.join(', ')})` : ''}; ` +
        "add `export default { name: 'my-processor', run(input, ctx) { ... } }`",
    );
  }
  if (typeof exported !== 'object' || exported === null || Array.isArray(exported)) {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${where}: the default export must be a processor object with a name and a run function, got ${typeName(exported)}`,
    );
  }
  const candidate = exported as Record<string, unknown>;
  if (typeof candidate.name !== 'string' || candidate.name.trim() === '') {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${where}: the default export has no name (got ${typeName(candidate.name)}); set name to the string jobs use to select it, e.g. name: 'resize-image'`,
    );
  }
  const label = `${where} (processor "${candidate.name}")`;
  if (typeof candidate.run !== 'function') {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${label}: run is not a function (got ${typeName(candidate.run)}); define run(input, ctx) returning the result or a promise of it`,
    );
  }
  const timeoutMs = candidate.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 0)) {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${label}: timeoutMs must be a whole number of milliseconds (0 = none), got ${JSON.stringify(timeoutMs)}`,
    );
  }
  const concurrency = candidate.concurrency;
  if (concurrency !== undefined && (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_IO_CONCURRENCY)) {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${label}: concurrency must be a whole number from 1 to ${MAX_IO_CONCURRENCY} (jobs that wait on I/O at once), got ${JSON.stringify(concurrency)}; leave it out for CPU work`,
    );
  }
  const maxMemoryMb = candidate.maxMemoryMb;
  if (maxMemoryMb !== undefined && (typeof maxMemoryMb !== 'number' || !Number.isInteger(maxMemoryMb) || maxMemoryMb < 1)) {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${label}: maxMemoryMb must be a whole number of MiB (at least 1), got ${JSON.stringify(maxMemoryMb)}`,
    );
  }
  if (candidate.validate !== undefined && typeof candidate.validate !== 'function') {
    throw new PluginError(
      PluginErrorCode.Invalid,
      `${label}: validate must be a function(input) that throws or returns a message for bad input, got ${typeName(candidate.validate)}`,
    );
  }
  if (candidate.description !== undefined && typeof candidate.description !== 'string') {
    throw new PluginError(PluginErrorCode.Invalid, `${label}: description must be a string, got ${typeName(candidate.description)}`);
  }
  return candidate as unknown as Processor;
}

/** Maps processor name → processor and where it came from; refuses two processors with one name. */
export function buildRegistry(plugins: readonly LoadedPlugin[]): Map<string, RegistryEntry> {
  const registry = new Map<string, RegistryEntry>();
  const add = (processor: Processor, source: string): void => {
    const existing = registry.get(processor.name);
    if (existing) {
      throw new PluginError(
        PluginErrorCode.NameClash,
        `processor name "${processor.name}" is defined twice: by ${existing.source} and by ${source}; ` +
          'rename one of them (processor names must be unique in a supervisor)',
      );
    }
    registry.set(processor.name, { processor, source });
  };
  for (const processor of BUILTIN_PROCESSORS) add(processor, `built-in processor "${processor.name}"`);
  for (const plugin of plugins) add(plugin.processor, `plugin "${plugin.spec}"`);
  return registry;
}

const TIMEOUT_FLAG = '--plugin-import-timeout-ms, TROUPE_PLUGIN_IMPORT_TIMEOUT_MS or config "pluginImportTimeoutMs"';

function importTimedOut(spec: string, url: string, timeoutMs: number): PluginError {
  return new PluginError(
    PluginErrorCode.ImportTimeout,
    `plugin "${spec}": importing ${url} did not finish within ${timeoutMs} ms (the time-out set by ${TIMEOUT_FLAG}): its top-level code is still running ` +
      '(a loop, or an await on something that does not come); fix the module so that its import ends, or raise the time-out if it is only slow',
  );
}

/*
 * The trial import runs here, in a worker thread, because a module that spins at its top level
 * cannot be interrupted on the thread that imports it: on the supervisor's own thread no timer
 * would ever fire. A worker can be terminated mid-loop. Written as an eval worker, so the same
 * code serves the sources (tsx, inherited through execArgv) and the compiled package.
 */
const TRIAL_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  for (const url of workerData.urls) {
    parentPort.postMessage({ importing: url });
    // A failed import is reported by the real import after this one, with the usual message.
    await import(url).catch(() => undefined);
  }
  parentPort.postMessage({ done: true });
})();
`;

/**
 * Imports the modules in a throwaway worker thread, one after another, and throws a PluginError
 * naming the first whose import does not end within timeoutMs (the worker is terminated), or
 * whose top-level await can never settle (the worker's event loop runs dry with the import
 * pending, and the worker exits without finishing).
 */
export function trialImport(plugins: ReadonlyArray<{ spec: string; url: string }>, timeoutMs: number): Promise<void> {
  if (plugins.length === 0) return Promise.resolve();
  const specOf = new Map(plugins.map((p) => [p.url, p.spec]));
  return new Promise<void>((resolve, reject) => {
    const worker = new Worker(TRIAL_SOURCE, { eval: true, workerData: { urls: plugins.map((p) => p.url) }, stdout: false, stderr: false });
    let current: string | undefined;
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      void worker.terminate();
      if (err) reject(err);
      else resolve();
    };
    // One budget per module: a plugin slow to import should not use up the next one's.
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(importTimedOut(specOf.get(current!) ?? current!, current!, timeoutMs)), timeoutMs);
    };
    worker.on('message', (message: { importing?: string; done?: boolean }) => {
      if (message.done) return finish();
      if (message.importing) {
        current = message.importing;
        arm();
      }
    });
    worker.on('error', (err: Error) => {
      // A throw that escaped the module's own promise (an unhandled rejection it started): the real import reports it.
      finish(current === undefined ? err : undefined);
    });
    worker.on('exit', (exitCode: number) => {
      if (finished) return;
      if (current === undefined) return finish(new Error('the plugin import check thread exited before it began'));
      const spec = specOf.get(current) ?? current;
      // A drained event loop ends the thread with 0; anything else is the module calling process.exit.
      if (exitCode !== 0) {
        return finish(
          new PluginError(
            PluginErrorCode.LoadFailed,
            `plugin "${spec}": importing ${current} calls process.exit(${exitCode}) (it would stop the supervisor); fix the module so that it exports a processor and leaves exiting to its host`,
          ),
        );
      }
      finish(
        new PluginError(
          PluginErrorCode.ImportNeverSettles,
          `plugin "${spec}": importing ${current} never finishes: its top-level await waits on a promise that nothing will settle ` +
            '(no timer, socket or other work is left to settle it); fix the module so that every top-level await ends',
        ),
      );
    });
  });
}

/** Resolves with the module, or rejects with importTimedOut: a top-level await on the supervisor's thread cannot hold the start for ever. */
async function importWithin(spec: string, url: string, timeoutMs: number | undefined): Promise<Record<string, unknown>> {
  const importing = import(url) as Promise<Record<string, unknown>>;
  if (timeoutMs === undefined) return importing;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(importTimedOut(spec, url, timeoutMs)), timeoutMs)));
  try {
    return await Promise.race([importing, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface LoadPluginsOptions {
  /**
   * Bound of each module's import. Set: every module is first imported in a worker thread that
   * is terminated past it (see trialImport), then here. Unset (the job threads, which the
   * supervisor's own check has vouched for): imported here only.
   */
  importTimeoutMs?: number;
}

/**
 * Resolves, imports and checks every plugin, then checks names across built-ins and plugins.
 * The same module named twice (e.g. by a flag and an environment variable) is loaded once.
 */
export async function loadPlugins(specs: readonly string[], baseDir: string, options: LoadPluginsOptions = {}): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  const seen = new Set<string>();
  const resolved: Array<{ spec: string; url: string }> = [];
  for (const spec of specs) {
    const url = resolvePluginSpec(spec, baseDir);
    if (seen.has(url)) continue;
    seen.add(url);
    resolved.push({ spec, url });
  }
  if (options.importTimeoutMs !== undefined) await trialImport(resolved, options.importTimeoutMs);
  for (const { spec, url } of resolved) {
    let mod: Record<string, unknown>;
    try {
      mod = await importWithin(spec, url, options.importTimeoutMs);
    } catch (err) {
      if (err instanceof PluginError) throw err;
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new PluginError(
        PluginErrorCode.LoadFailed,
        `plugin "${spec}": importing ${url} failed (${detail}); fix the module so that it loads with plain node`,
        { cause: err },
      );
    }
    loaded.push({ spec, url, processor: checkPluginExport(spec, mod) });
  }
  buildRegistry(loaded);
  return loaded;
}
