/**
 * Which module files a job may name (`data.module` of the built-in `wasm` processor): only files
 * inside the directories the operator configured (--wasm-module-dirs, TROUPE_WASM_MODULE_DIRS,
 * config "wasmModuleDirs"), judged on the real path with every symlink followed, so a link in an
 * allowed directory cannot point outside it. With none configured, a job may name only the
 * built-in extractor. The file loaded is the resolved one, not the name the job gave.
 *
 * Threads get the directories in their init (ThreadInit.wasmModuleDirs). Code that runs the
 * processor outside a supervisor's thread sets them with setWasmModuleDirs().
 */
import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { workerData } from 'node:worker_threads';
import { WasmError, WasmErrorCode } from './errors.js';

let override: readonly string[] | undefined;

/** For callers outside a supervisor's threads (a library user running processors itself, tests). */
export function setWasmModuleDirs(dirs: readonly string[] | undefined): void {
  override = dirs;
}

export function wasmModuleDirs(): readonly string[] {
  if (override) return override;
  const given = (workerData as { wasmModuleDirs?: unknown } | null | undefined)?.wasmModuleDirs;
  return Array.isArray(given) ? given.filter((d): d is string => typeof d === 'string') : [];
}

const HINT = '--wasm-module-dirs (TROUPE_WASM_MODULE_DIRS, config "wasmModuleDirs")';

function refused(path: string, why: string): WasmError {
  return new WasmError(WasmErrorCode.ModuleRefused, `wasm module ${path}: ${why}`, true);
}

/** The real path of a module a job named, when it lies inside an allowed directory (or is the built-in); throws WASM_MODULE_REFUSED otherwise. */
export function allowedJobModule(path: string, builtin: string, dirs: readonly string[] = wasmModuleDirs()): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file inside an allowed directory is the job's "not found"; elsewhere the job learns nothing about the disk.
    const inside = dirs.some((d) => resolve(path).startsWith(d.endsWith(sep) ? d : d + sep));
    if (code === 'ENOENT' && inside) throw new WasmError(WasmErrorCode.ModuleNotFound, `wasm module ${path}: no such file`, true, { cause: err });
    throw refused(path, `not inside a directory jobs may name modules in: ${dirs.length ? dirs.join(', ') : 'none is configured'}; add its directory with ${HINT}`);
  }
  let builtinReal: string | undefined;
  try {
    builtinReal = realpathSync(builtin);
  } catch {
    // The built-in is not built: it cannot be what the job named, and loading reports it when asked for.
    builtinReal = undefined;
  }
  if (real === builtinReal) return real;
  for (const dir of dirs) {
    let root: string;
    try {
      root = realpathSync(dir);
    } catch (err) {
      throw refused(path, `the configured module directory ${dir} cannot be read (${(err as Error).message}); fix ${HINT}`);
    }
    if (real.startsWith(root.endsWith(sep) ? root : root + sep)) return real;
  }
  const via = real === path ? '' : ` (it resolves to ${real})`;
  throw refused(path, `not inside a directory jobs may name modules in${via}: ${dirs.length ? dirs.join(', ') : 'none is configured'}; add its directory with ${HINT}, or run it as a plugin with wasmProcessor()`);
}
