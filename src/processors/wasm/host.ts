/**
 * Runs one job on a fresh instance of a compiled module, following docs/wasm-abi.md. The
 * instance's memory is created here with a maximum: worker resourceLimits cap only the JS heap,
 * and a WebAssembly memory lives outside it, so the maximum on this imported memory is what
 * stops a module from taking the machine's RAM.
 *
 * The call into the module is synchronous: a module that never returns holds its thread until
 * the supervisor's watchdog stops the thread at the job's time limit.
 */
import { WasmError, WasmErrorCode } from './errors.js';
import type { CompiledModule } from './modules.js';
import { MAX_PAGES, PAGE_BYTES } from './limits.js';
import { Wasm, type WasmMemory } from './wasm-api.js';

export { MAX_PAGES, PAGE_BYTES };

/** The input formats extract() takes as its third argument. */
export const INPUT_FORMAT = { html: 0, text: 1 } as const;
export type InputFormat = keyof typeof INPUT_FORMAT;

export interface RunOptions {
  /** The memory cap in pages (the module's own declared maximum applies if it is lower). */
  capPages: number;
  /** How to name the module in messages. */
  label: string;
  /** How to raise the cap, for the memory-limit messages. */
  raiseCapWith: string;
}

interface Exports {
  alloc(len: number): number;
  extract(ptr: number, len: number, format: number): number;
  output_ptr(): number;
  output_len(): number;
}

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();
/** Module messages and bad output are quoted in errors up to this many characters. */
const QUOTE_MAX = 500;

function mib(bytes: number): string {
  const value = bytes / (1024 * 1024);
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function quote(text: string): string {
  return JSON.stringify(text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text);
}

/** AssemblyScript strings are UTF-16LE, with their byte length 4 bytes before the pointer. */
function readAssemblyScriptString(memory: WasmMemory, ptr: number): string | undefined {
  if (ptr < 4 || ptr > memory.buffer.byteLength) return undefined;
  const bytes = new DataView(memory.buffer).getUint32(ptr - 4, true);
  if (bytes > 4096 || ptr + bytes > memory.buffer.byteLength) return undefined;
  return Buffer.from(memory.buffer, ptr, bytes).toString('utf16le');
}

function readUtf8(memory: WasmMemory, ptr: number, len: number): string | undefined {
  if (ptr + len > memory.buffer.byteLength) return undefined;
  return decoder.decode(new Uint8Array(memory.buffer, ptr, Math.min(len, 4096)));
}

function abortHandler(compiled: CompiledModule, memory: WasmMemory, label: string): (...args: number[]) => never {
  return (...args: number[]) => {
    const [a = 0, b = 0, line = 0, column = 0] = args.map((n) => n >>> 0);
    let message: string;
    if (compiled.abort === 'utf8') {
      message = readUtf8(memory, a, b) ?? '(message outside memory)';
    } else {
      const text = readAssemblyScriptString(memory, a) ?? '(no message)';
      const file = readAssemblyScriptString(memory, b);
      message = file ? `${text} at ${file}:${line}:${column}` : text;
    }
    // Thrown through the module's frames back to the host's call, ending the run.
    throw new WasmError(WasmErrorCode.Aborted, `wasm module ${label} aborted: ${quote(message)}; fix the module, or the input that makes it abort`, true);
  };
}

/** A trap from the module, told apart from running out of memory at the cap. */
function trapError(err: Error, memory: WasmMemory, options: RunOptions, capPages: number): WasmError {
  const used = memory.buffer.byteLength;
  const cap = capPages * PAGE_BYTES;
  const usage = `${mib(used)} of ${mib(cap)} MiB`;
  // A module whose allocator cannot grow memory gives up with `unreachable` (AssemblyScript's
  // runtime, Rust's default OOM handler). It only asks to grow when it is already using its
  // memory, so an unreachable with more than half the cap in use is read as out of memory.
  if (/unreachable/i.test(err.message) && used * 2 > cap) {
    return new WasmError(
      WasmErrorCode.MemoryLimit,
      `wasm module ${options.label} ran out of memory at its cap (${usage} in use when it trapped: ${err.message}); ` +
        `give it more with ${options.raiseCapWith}, or send a smaller input`,
      true,
      { cause: err },
    );
  }
  const what = err instanceof RangeError ? 'overflowed its stack' : 'trapped';
  // One allocation larger than what is left of the cap fails with little memory in use, so
  // the heuristic above misses it; say so, with the way out.
  const maybeMemory = /unreachable/i.test(err.message)
    ? `; allocators also stop at unreachable when memory runs out: if this input needs more, give it more with ${options.raiseCapWith}`
    : '';
  return new WasmError(
    WasmErrorCode.Trap,
    `wasm module ${options.label} ${what} (${err.name}: ${err.message}; memory ${usage}); the module has a bug or cannot handle this input, ` +
      `so the job is not retried: fix the module or the input${maybeMemory}`,
    true,
    { cause: err },
  );
}

function checkRange(what: string, ptr: number, len: number, memory: WasmMemory, label: string): void {
  if (ptr + len > memory.buffer.byteLength) {
    throw new WasmError(
      WasmErrorCode.BadOutput,
      `wasm module ${label}: ${what} (${ptr}, ${len} bytes) lies outside its memory of ${memory.buffer.byteLength} bytes; the module breaks the ABI`,
      true,
    );
  }
}

function instantiate(compiled: CompiledModule, memory: WasmMemory, label: string): Exports {
  const env: Record<string, unknown> = { memory };
  if (compiled.abort !== 'none') env.abort = abortHandler(compiled, memory, label);
  return new Wasm.Instance(compiled.module, { env }).exports as unknown as Exports;
}

/** Runs extract() on a fresh instance and returns its parsed JSON output. */
export function runModule(compiled: CompiledModule, input: string | Uint8Array, format: InputFormat, options: RunOptions): unknown {
  const declaredMax = compiled.memory.max ?? MAX_PAGES;
  const capPages = Math.min(options.capPages, declaredMax, MAX_PAGES);
  const label = options.label;
  if (compiled.memory.min > capPages) {
    throw new WasmError(
      WasmErrorCode.MemoryLimit,
      `wasm module ${label} needs ${mib(compiled.memory.min * PAGE_BYTES)} MiB of memory to start, more than its cap of ` +
        `${mib(capPages * PAGE_BYTES)} MiB; raise it with ${options.raiseCapWith}`,
      true,
    );
  }
  const inputBytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  const room = (capPages - compiled.memory.min) * PAGE_BYTES;
  if (inputBytes > room) {
    throw new WasmError(
      WasmErrorCode.InputTooLarge,
      `input of ${mib(inputBytes)} MiB does not fit in wasm module ${label}'s memory cap of ${mib(capPages * PAGE_BYTES)} MiB; ` +
        `send a smaller input or raise the cap with ${options.raiseCapWith}`,
      true,
    );
  }

  const memory = new Wasm.Memory({ initial: compiled.memory.min, maximum: capPages });
  let status: number;
  let outPtr: number;
  let outLen: number;
  try {
    const exports = instantiate(compiled, memory, label);
    const ptr = exports.alloc(inputBytes) >>> 0;
    checkRange('alloc() returned a block that', ptr, inputBytes, memory, label);
    // The buffer is read after alloc(): growing memory detaches the previous ArrayBuffer.
    const target = new Uint8Array(memory.buffer, ptr, inputBytes);
    if (typeof input === 'string') encoder.encodeInto(input, target);
    else target.set(input);
    status = exports.extract(ptr, inputBytes, INPUT_FORMAT[format]);
    outPtr = exports.output_ptr() >>> 0;
    outLen = exports.output_len() >>> 0;
  } catch (err) {
    if (err instanceof WasmError) throw err;
    if (err instanceof Wasm.LinkError) {
      throw new WasmError(WasmErrorCode.ModuleInvalid, `wasm module ${label} cannot be instantiated: ${err.message}`, true, { cause: err });
    }
    if (err instanceof Wasm.RuntimeError || err instanceof RangeError) throw trapError(err, memory, options, capPages);
    if (err instanceof TypeError) {
      // JS cannot call an export whose signature uses i64 or reference types the ABI has no use for.
      throw new WasmError(WasmErrorCode.ModuleInvalid, `wasm module ${label}: its exports do not have the ABI's i32 signatures (${err.message})`, true, { cause: err });
    }
    throw err;
  }
  checkRange('the output', outPtr, outLen, memory, label);
  const text = decoder.decode(new Uint8Array(memory.buffer, outPtr, outLen));
  if (status !== 0) {
    throw new WasmError(WasmErrorCode.InputRejected, `wasm module ${label} refused the input (status ${status}): ${quote(text)}`, true);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new WasmError(
      WasmErrorCode.BadOutput,
      `wasm module ${label} returned output that is not JSON (${(err as Error).message}): ${quote(text)}; the ABI asks for UTF-8 JSON`,
      true,
      { cause: err },
    );
  }
}
