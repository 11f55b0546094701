/**
 * The raw-Piscina side of the cpu bench: the built-in `cpu` processor's own run(), called
 * directly in a Piscina thread with no runtime around it.
 */
import { cpu } from '../../src/processors/builtin.js';
import type { ProcessorContext } from '../../src/processors/contract.js';

// cpu.run reads only its input; the context is there to satisfy the processor signature.
const ctx = { signal: new AbortController().signal } as ProcessorContext;

export default function run(input: { ms: number }): ReturnType<typeof cpu.run> {
  return cpu.run(input, ctx);
}
