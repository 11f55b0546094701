/**
 * What a bench child's consumer looks like. Each system lives in its own module
 * (e2e-consumer-<system>.ts), imported only by the child that runs it, so a child's memory
 * holds one library, not all of them. The types and helpers they share are in e2e-shared.ts.
 */
import type { ConsumerSpec } from './e2e-protocol.js';
import type { Consumer, ConsumerHooks } from './e2e-shared.js';

/** Loads only the module of the system asked for. */
export async function openConsumer(spec: ConsumerSpec, hooks: ConsumerHooks): Promise<Consumer> {
  switch (spec.kind) {
    case 'troupe':
      return (await import('./e2e-consumer-troupe.js')).openTroupe(spec, hooks);
    case 'limit':
      return (await import('./e2e-consumer-limit.js')).openLimit(spec, hooks);
    case 'bullmq-inline':
      return (await import('./e2e-consumer-bullmq.js')).openBullmq(spec, hooks, false);
    case 'bullmq-sandboxed':
      return (await import('./e2e-consumer-bullmq.js')).openBullmq(spec, hooks, true);
    case 'bee-queue':
      return (await import('./e2e-consumer-bee.js')).openBeeQueue(spec, hooks);
    case 'piscina':
      return (await import('./e2e-consumer-piscina.js')).openPiscina(spec, hooks);
  }
}
