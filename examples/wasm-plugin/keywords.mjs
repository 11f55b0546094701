// A Troupe plugin that wraps a WebAssembly module: the module (assembly/index.ts, built with
//   npx asc --config asconfig.json
// into build/keywords.wasm) finds a text's most frequent words; this file is the host side of
// the ABI in docs/wasm-abi.md, in plain JavaScript with no import of troupe.
// Run it with:  npx troupe supervise --queues text --plugin ./keywords.mjs
import { readFile } from 'node:fs/promises';

const MODULE_URL = new URL('./build/keywords.wasm', import.meta.url);
const MAX_MEMORY_MB = 16;
const PAGE_BYTES = 65536;

// Module-level state lives once per worker thread, so each thread compiles the module once.
let compiling;
function compiledModule() {
  compiling ??= readFile(MODULE_URL).then((bytes) => WebAssembly.compile(bytes));
  // A failed compile is not kept: the next job tries again (the file may be mid-deploy).
  compiling.catch(() => (compiling = undefined));
  return compiling;
}

export default {
  name: 'keywords',
  description: '{ text }: the five most frequent words, found by a WebAssembly module',
  timeoutMs: 5_000,
  // Enforced below: the module's memory cannot grow past this.
  maxMemoryMb: MAX_MEMORY_MB,

  validate(input) {
    if (typeof input?.text !== 'string') return 'keywords: data.text must be a string, e.g. { "text": "..." }';
  },

  async run(input) {
    const module = await compiledModule();
    // A fresh instance and memory per job: nothing leaks from one job to the next. The maximum
    // is what caps the module; a thread's --max-memory-mb does not cover WebAssembly memory.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: (MAX_MEMORY_MB * 1024 * 1024) / PAGE_BYTES });
    const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
    const bytes = new TextEncoder().encode(input.text);
    try {
      const ptr = exports.alloc(bytes.length) >>> 0;
      // Read memory.buffer after alloc(): growing memory replaces the buffer.
      new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
      const status = exports.extract(ptr, bytes.length, 1); // 1: plain text
      const output = new Uint8Array(memory.buffer, exports.output_ptr() >>> 0, exports.output_len() >>> 0);
      const text = new TextDecoder().decode(output);
      if (status !== 0) throw Object.assign(new Error(`keywords: the module refused the input: ${text}`), { unrecoverable: true });
      return JSON.parse(text);
    } catch (err) {
      // A trap (a bug, or memory exhausted at the cap) happens again on every retry: skip them.
      if (err instanceof WebAssembly.RuntimeError) {
        throw Object.assign(new Error(`keywords: the module trapped (${err.message})`), { unrecoverable: true, cause: err });
      }
      throw err;
    }
  },
};
