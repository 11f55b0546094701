/**
 * What a bench child's consumer looks like. Each system lives in its own module
 * (e2e-consumer-<system>.ts), imported only by the child that runs it, so a child's memory
 * holds one library, not all of them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchJobData, ConsumerSpec } from './e2e-protocol.js';

export interface Consumer {
  /** Starts consuming (threads, connections, loops). */
  start(): Promise<void>;
  /** Stops taking new jobs once the queue is drained of warm-up jobs; the consumer stays built. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerHooks {
  /** A job finished and its outcome is in Redis. */
  finished(): void;
  /** A job failed or something broke: the phase is void. */
  failed(reason: string): void;
}

export function hostPort(redisUrl: string): { host: string; port: number } {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379) };
}

/** The peers' inline no-op (BullMQ inline, bee-queue); `ms` holds warm-up jobs so they overlap. */
export async function inlineNoop(data: BenchJobData): Promise<null> {
  if (data.ms) await sleep(data.ms);
  return null;
}

/** Loads only the module of the system asked for. */
export async function openConsumer(spec: ConsumerSpec, hooks: ConsumerHooks): Promise<Consumer> {
  switch (spec.kind) {
    case 'troupe':
      return (await import('./e2e-consumer-troupe.js')).openTroupe(spec, hooks);
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
