/**
 * Compiling and checking modules, once per thread. The cache is module state, and module state
 * is per thread (each worker thread has its own module graph), so each thread compiles a module
 * once and every job after that only instantiates it. A file replaced on disk (same path, new
 * mtime or size) is compiled again, so a redeployed extractor is picked up without a restart.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { WasmError, WasmErrorCode } from './errors.js';
import { I32, inspectImports, type ImportEntry, type MemoryLimits } from './inspect.js';
import { Wasm, type WasmModule } from './wasm-api.js';

/** The exports the ABI requires (docs/wasm-abi.md). */
export const REQUIRED_EXPORTS = ['alloc', 'extract', 'output_ptr', 'output_len'] as const;

/** How the module's env.abort reports its message, told apart by its parameter count. */
export type AbortStyle = 'none' | 'utf8' | 'assemblyscript';

export interface CompiledModule {
  path: string;
  module: WasmModule;
  memory: MemoryLimits;
  abort: AbortStyle;
}

/** Where the module named came from: a job's own choice, or the processor's configuration. */
export type ModuleSource = 'job' | 'processor';

/** Distinct modules kept per thread; past it the least recently used is dropped. */
const CACHE_LIMIT = 16;

interface CacheEntry {
  mtimeMs: number;
  size: number;
  compiled: Promise<CompiledModule>;
}

const cache = new Map<string, CacheEntry>();
let compileCount = 0;

/** Compilations this thread has done (tests check that a module is compiled once per thread). */
export function moduleCompilations(): number {
  return compileCount;
}

const IMPORT_FLAGS =
  'AssemblyScript: --importMemory; Rust: RUSTFLAGS="-C link-arg=--import-memory"; ' +
  'C (clang): -Wl,--import-memory; Zig: exe.import_memory = true';

function invalid(path: string, source: ModuleSource, problem: string, cause?: unknown): WasmError {
  return new WasmError(WasmErrorCode.ModuleInvalid, `wasm module ${path}: ${problem}`, source === 'job', cause === undefined ? undefined : { cause });
}

function describeImport(entry: ImportEntry): string {
  return `${entry.module}.${entry.name} (${entry.kind})`;
}

function checkAbi(path: string, source: ModuleSource, module: WasmModule, imports: ImportEntry[]): CompiledModule {
  const exported = new Map(Wasm.Module.exports(module).map((e) => [e.name, e.kind]));
  const missing = REQUIRED_EXPORTS.filter((name) => exported.get(name) !== 'function');
  if (missing.length > 0) {
    throw invalid(
      path,
      source,
      `does not export ${missing.join(', ')} as function${missing.length > 1 ? 's' : ''}; ` +
        'an extractor exports alloc(len), extract(ptr, len, format), output_ptr() and output_len() (see docs/wasm-abi.md)',
    );
  }
  const forbidden = imports.filter((i) => !(i.module === 'env' && (i.name === 'memory' || i.name === 'abort')));
  if (forbidden.length > 0) {
    const wasi = forbidden.some((i) => i.module.startsWith('wasi'));
    throw invalid(
      path,
      source,
      `imports ${forbidden.map(describeImport).join(', ')}; modules get only env.memory and env.abort, with no filesystem, ` +
        `network, clock or randomness${wasi ? ' (build without WASI: Rust --target wasm32-unknown-unknown, Zig/C freestanding)' : ''}`,
    );
  }
  const memoryImport = imports.find((i) => i.name === 'memory');
  if (!memoryImport || memoryImport.kind !== 'memory' || !memoryImport.memory) {
    const own = [...exported.values()].includes('memory') ? 'defines its own memory' : 'does not import env.memory';
    throw invalid(path, source, `${own}; import it instead so its size can be capped (${IMPORT_FLAGS})`);
  }
  const limits = memoryImport.memory;
  if (limits.shared || limits.is64) {
    throw invalid(path, source, `imports a ${limits.shared ? 'shared' : '64-bit'} memory; the ABI takes a plain 32-bit memory`);
  }
  const abortImport = imports.find((i) => i.name === 'abort');
  let abort: AbortStyle = 'none';
  if (abortImport) {
    const params = abortImport.params ?? [];
    const allI32 = abortImport.kind === 'function' && params.every((p) => p === I32) && (abortImport.results ?? []).length === 0;
    if (allI32 && params.length === 2) abort = 'utf8';
    else if (allI32 && params.length === 4) abort = 'assemblyscript';
    else {
      throw invalid(
        path,
        source,
        'imports env.abort with an unexpected signature; use abort(msg_ptr: i32, msg_len: i32) with a UTF-8 message, ' +
          "or AssemblyScript's abort(message, fileName, line, column)",
      );
    }
  }
  return { path, module, memory: limits, abort };
}

async function compile(path: string, source: ModuleSource): Promise<CompiledModule> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new WasmError(WasmErrorCode.ModuleNotFound, `wasm module ${path}: cannot read it (${(err as Error).message})`, source === 'job', { cause: err });
  }
  let module: WasmModule;
  try {
    module = await Wasm.compile(bytes);
  } catch (err) {
    throw invalid(path, source, `is not a valid WebAssembly module (${(err as Error).message}); give the compiled .wasm file, not its source`, err);
  }
  compileCount += 1;
  let imports: ImportEntry[];
  try {
    imports = inspectImports(bytes);
  } catch (err) {
    throw invalid(path, source, `its import section cannot be read (${(err as Error).message})`, err);
  }
  return checkAbi(path, source, module, imports);
}

/** The compiled module at `path` (absolute), from this thread's cache when the file is unchanged. */
export async function loadModule(path: string, source: ModuleSource, missingHint = ''): Promise<CompiledModule> {
  let info: { mtimeMs: number; size: number };
  try {
    // Synchronous on purpose: it blocks only this thread for one system call, where the async
    // form would add a round trip through libuv's pool to every job.
    info = statSync(path);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new WasmError(WasmErrorCode.ModuleNotFound, `wasm module ${path}: ${why}${missingHint}`, source === 'job', { cause: err });
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === info.mtimeMs && hit.size === info.size) {
    // Re-insert so the map's order is least recently used first.
    cache.delete(path);
    cache.set(path, hit);
    return hit.compiled;
  }
  const compiled = compile(path, source);
  const entry = { mtimeMs: info.mtimeMs, size: info.size, compiled };
  cache.set(path, entry);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  // A failure is not kept: the file may be fixed by the next job. The caller awaits and reports it.
  compiled.catch(() => {
    if (cache.get(path) === entry) cache.delete(path);
  });
  return compiled;
}
