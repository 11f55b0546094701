/**
 * The `wasm` processor, and wasmProcessor() for naming a module of one's own as a processor.
 * The job's input is HTML or plain text; the module's JSON output is the job's result.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INVALID_INPUT_CODE, type Processor } from '../contract.js';
import { importBeside } from '../lazy.js';
import type { InputFormat } from './host.js';
import { MAX_PAGES, PAGE_BYTES } from './limits.js';
import { allowedJobModule } from './module-dirs.js';

export interface WasmProcessorOptions {
  /** The name jobs use to select this processor. */
  name: string;
  /** The compiled module: an absolute path, a file: URL string, or a URL (new URL('./x.wasm', import.meta.url)). */
  module: string | URL;
  /** Cap on the module's memory, in MiB (default 128, at most 4096). Each job may lower it. */
  maxMemoryMb?: number;
  /** Default time limit per job (default 30 s): a module that loops is stopped then. */
  timeoutMs?: number;
  description?: string;
}

/** What a job sends: HTML as a string or bytes, or an object naming the format. */
export type WasmInput =
  | string
  | Uint8Array
  | { html: string; module?: string; maxMemoryMb?: number }
  | { text: string; module?: string; maxMemoryMb?: number };

export const DEFAULT_WASM_MEMORY_MB = 128;
export const DEFAULT_WASM_TIMEOUT_MS = 30_000;
const MAX_MEMORY_MB = (MAX_PAGES * PAGE_BYTES) / (1024 * 1024);

/** The extractor `npm run build` compiles from wasm/extractor (AssemblyScript). */
export const BUILTIN_EXTRACTOR_PATH = fileURLToPath(
  // Sources run from src/processors/wasm, the build from dist/processors/wasm; the module is in dist/wasm.
  new URL(import.meta.url.endsWith('.ts') ? '../../../dist/wasm/extractor.wasm' : '../../wasm/extractor.wasm', import.meta.url),
);

interface ParsedInput {
  format: InputFormat;
  content: string | Uint8Array;
  module?: string;
  maxMemoryMb?: number;
}

interface Settings {
  name: string;
  path: string;
  maxMemoryMb: number;
  /** Only the built-in lets a job name its module. */
  jobModule: boolean;
  label: string;
  raiseCapWith: string;
  missingHint: string;
}

const FIELDS = ['html', 'text', 'module', 'maxMemoryMb'];

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 80)}…` : text;
  } catch (err) {
    // A value JSON cannot print (a cycle, a bigint) only affects this message.
    return `${String(value)} (${(err as Error).message})`;
  }
}

function parseInput(s: Settings, data: unknown): ParsedInput | string {
  const p = s.name;
  if (typeof data === 'string') return { format: 'html', content: data };
  if (data instanceof Uint8Array) return { format: 'html', content: data };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return `${p}: data must be HTML (a string or bytes) or an object like { "html": "<p>…</p>" } or { "text": "…" }, got ${show(data)}`;
  }
  const fields = data as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) return `${p}: unknown field data.${unknown[0]}; the fields are ${FIELDS.join(', ')}`;
  const hasHtml = fields.html !== undefined;
  if (hasHtml === (fields.text !== undefined)) {
    return `${p}: data needs exactly one of "html" or "text", got ${hasHtml ? 'both' : 'neither'}`;
  }
  const key = hasHtml ? 'html' : 'text';
  const content = fields[key];
  if (typeof content !== 'string') return `${p}: data.${key} must be a string, got ${show(content)}`;
  const parsed: ParsedInput = { format: key, content };
  if (fields.module !== undefined) {
    if (!s.jobModule) {
      return `${p}: data.module is not accepted: this processor always runs ${s.path}; name a module per job with the built-in "wasm" processor`;
    }
    const m = fields.module;
    if (typeof m !== 'string' || !isAbsolute(m) || !m.endsWith('.wasm')) {
      return `${p}: data.module must be an absolute path to a .wasm file on the supervisor's machine, got ${show(m)}`;
    }
    parsed.module = m;
  }
  if (fields.maxMemoryMb !== undefined) {
    const mb = fields.maxMemoryMb;
    if (typeof mb !== 'number' || !Number.isInteger(mb) || mb < 1 || mb > s.maxMemoryMb) {
      return `${p}: data.maxMemoryMb must be a whole number from 1 to ${s.maxMemoryMb} (the processor's cap; a job may lower it, not raise it), got ${show(mb)}`;
    }
    parsed.maxMemoryMb = mb;
  }
  return parsed;
}

function build(s: Settings, timeoutMs: number, description: string): Processor<WasmInput, unknown> {
  return {
    name: s.name,
    description,
    timeoutMs,
    maxMemoryMb: s.maxMemoryMb,
    validate(input) {
      const parsed = parseInput(s, input);
      return typeof parsed === 'string' ? parsed : undefined;
    },
    async run(input, ctx) {
      const parsed = parseInput(s, input);
      // The thread validated already; a direct call (a test, another processor) gets the same message.
      if (typeof parsed === 'string') throw Object.assign(new TypeError(parsed), { code: INVALID_INPUT_CODE, unrecoverable: true });
      const fromJob = parsed.module !== undefined;
      // A job's own module: only from the configured directories, and the file loaded is the resolved one.
      const path = fromJob ? allowedJobModule(parsed.module!, BUILTIN_EXTRACTOR_PATH) : s.path;
      // The module loader and host are loaded on a thread's first wasm job (see ../lazy.ts).
      const [{ loadModule }, { runModule }] = await Promise.all([
        importBeside<typeof import('./modules.js')>(import.meta.url, './modules.js'),
        importBeside<typeof import('./host.js')>(import.meta.url, './host.js'),
      ]);
      const compiled = await loadModule(path, fromJob ? 'job' : 'processor', fromJob ? '' : s.missingHint);
      ctx.signal.throwIfAborted();
      const capMb = parsed.maxMemoryMb ?? s.maxMemoryMb;
      return runModule(compiled, parsed.content, parsed.format, {
        capPages: Math.floor((capMb * 1024 * 1024) / PAGE_BYTES),
        label: fromJob ? parsed.module! : s.label,
        raiseCapWith: s.raiseCapWith,
      });
    },
  };
}

function modulePath(module: string | URL, name: string): string {
  if (module instanceof URL || (typeof module === 'string' && module.startsWith('file:'))) return fileURLToPath(module);
  if (typeof module === 'string' && isAbsolute(module)) return module;
  throw new TypeError(
    `wasmProcessor "${name}": module must be an absolute path or a file URL, got ${show(module)}; ` +
      "for a file beside the plugin use new URL('./extractor.wasm', import.meta.url)",
  );
}

function wholeNumber(name: string, key: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`wasmProcessor "${name}": ${key} must be a whole number from ${min} to ${max}, got ${show(value)}`);
  }
}

/**
 * A processor that runs one WebAssembly module (docs/wasm-abi.md) on each job. Use it in a
 * plugin file to give a module a name, a memory cap and a time limit:
 *
 *   export default wasmProcessor({ name: 'recipes', module: new URL('./recipes.wasm', import.meta.url) });
 *
 * The file is checked when the plugin loads, so a missing module stops the supervisor's start.
 */
export function wasmProcessor(options: WasmProcessorOptions): Processor<WasmInput, unknown> {
  const name = options?.name;
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError(`wasmProcessor: options.name must be a non-empty string, got ${show(name)}`);
  const path = modulePath(options.module, name);
  const maxMemoryMb = options.maxMemoryMb ?? DEFAULT_WASM_MEMORY_MB;
  wholeNumber(name, 'maxMemoryMb', maxMemoryMb, 1, MAX_MEMORY_MB);
  const timeoutMs = options.timeoutMs ?? DEFAULT_WASM_TIMEOUT_MS;
  wholeNumber(name, 'timeoutMs', timeoutMs, 0, Number.MAX_SAFE_INTEGER);
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch (err) {
    throw new TypeError(`wasmProcessor "${name}": no module file at ${path} (${(err as Error).message}); build it first or fix the path`, { cause: err });
  }
  const settings: Settings = {
    name,
    path,
    maxMemoryMb,
    jobModule: false,
    label: path,
    raiseCapWith: `the maxMemoryMb option of wasmProcessor "${name}" (now ${maxMemoryMb})`,
    missingHint: '',
  };
  return build(settings, timeoutMs, options.description ?? `runs the WebAssembly module ${path} on HTML or text`);
}

/** The built-in: the bundled extractor by default, or the module a job names. */
export const wasm: Processor<WasmInput, unknown> = build(
  {
    name: 'wasm',
    path: BUILTIN_EXTRACTOR_PATH,
    maxMemoryMb: DEFAULT_WASM_MEMORY_MB,
    jobModule: true,
    label: 'extractor.wasm (built-in)',
    raiseCapWith: `a processor of your own, wasmProcessor({ name, module, maxMemoryMb }) (the built-in "wasm" caps memory at ${DEFAULT_WASM_MEMORY_MB} MiB)`,
    missingHint: '; the built-in extractor is compiled by `npm run build` (or `npm run build:wasm`)',
  },
  DEFAULT_WASM_TIMEOUT_MS,
  '{ html } or { text } (or HTML as a string or bytes), optional module, maxMemoryMb: runs a WebAssembly extractor ' +
    '(built-in: readable text, title, headings, links) and returns its JSON',
);
