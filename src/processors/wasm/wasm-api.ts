/**
 * Types for the parts of the WebAssembly JS API used here. TypeScript declares WebAssembly only
 * in its DOM library, which this project does not load (it would let browser globals type-check
 * in Node code); declaring a global namespace of our own would clash the day anyone adds DOM.
 * So the global is read once, typed through these local interfaces.
 */
export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

export interface WasmModuleDescriptor {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export type WasmImports = Record<string, Record<string, unknown>>;

interface ErrorClass {
  new (message?: string): Error;
}

interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: { new (bytes: Uint8Array): WasmModule; exports(module: WasmModule): WasmModuleDescriptor[]; imports(module: WasmModule): Array<WasmModuleDescriptor & { module: string }> };
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  CompileError: ErrorClass;
  LinkError: ErrorClass;
  RuntimeError: ErrorClass;
}

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
