export * from './queue/index.js';
// The plugin contract: defineProcessor() and the error classes a processor throws to steer retries.
export * from './processors/contract.js';
export { wasmProcessor, type WasmInput, type WasmProcessorOptions } from './processors/wasm/processor.js';
export { WasmError, WasmErrorCode } from './processors/wasm/errors.js';
