/**
 * Errors of the wasm processor. Each has a `code` to match on, and `unrecoverable` says whether
 * a retry could help: a module is deterministic, so a trap or a refusal on one input happens
 * again on every attempt and the job goes straight to the dead-letter queue with the reason.
 */
import { CodedError, type CodeOf } from '../../errors.js';

export const WasmErrorCode = {
  /** The module file is missing or unreadable. */
  ModuleNotFound: 'WASM_MODULE_NOT_FOUND',
  /** A job named a module outside the directories it may name modules in (module-dirs.ts). */
  ModuleRefused: 'WASM_MODULE_REFUSED',
  /** Not a valid module, or it does not follow the ABI (imports, exports, memory). */
  ModuleInvalid: 'WASM_MODULE_INVALID',
  /** The module trapped (unreachable, out-of-bounds access, stack overflow, ...). */
  Trap: 'WASM_TRAP',
  /** The module called env.abort with a message. */
  Aborted: 'WASM_ABORTED',
  /** The module ran out of memory at its cap. */
  MemoryLimit: 'WASM_MEMORY_LIMIT',
  /** The input cannot fit in the module's capped memory. */
  InputTooLarge: 'WASM_INPUT_TOO_LARGE',
  /** extract() returned a non-zero status: the module refused the input, with a message. */
  InputRejected: 'WASM_INPUT_REJECTED',
  /** The output range lies outside memory, or is not UTF-8 JSON. */
  BadOutput: 'WASM_BAD_OUTPUT',
} as const;
export type WasmErrorCode = CodeOf<typeof WasmErrorCode>;

const NAMES: Record<WasmErrorCode, string> = {
  WASM_MODULE_NOT_FOUND: 'WasmModuleNotFoundError',
  WASM_MODULE_REFUSED: 'WasmModuleRefusedError',
  WASM_MODULE_INVALID: 'WasmModuleError',
  WASM_TRAP: 'WasmTrapError',
  WASM_ABORTED: 'WasmAbortError',
  WASM_MEMORY_LIMIT: 'WasmMemoryLimitError',
  WASM_INPUT_TOO_LARGE: 'WasmInputTooLargeError',
  WASM_INPUT_REJECTED: 'WasmInputRejectedError',
  WASM_BAD_OUTPUT: 'WasmOutputError',
};

/** One class; `name` follows the code (WasmTrapError, WasmMemoryLimitError, ...). */
export class WasmError extends CodedError<WasmErrorCode> {
  constructor(
    code: WasmErrorCode,
    message: string,
    readonly unrecoverable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = NAMES[code];
  }
}
