export * from './queue/index.js';
// The base of every troupe error: `err instanceof CodedError`, then match on `err.code`.
export { CodedError, hasCode, type CodedErrorOptions, type CodeOf } from './errors.js';
// The plugin contract: defineProcessor() and the error classes a processor throws to steer retries.
export * from './processors/contract.js';
export { wasmProcessor, type WasmInput, type WasmProcessorOptions } from './processors/wasm/processor.js';
export { WasmError, WasmErrorCode } from './processors/wasm/errors.js';
