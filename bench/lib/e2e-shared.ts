/**
 * What the per-system consumer modules (e2e-consumer-<system>.ts) share: the Consumer shape,
 * the hooks a child gives them, and the peers' Redis address and inline no-op. It imports none
 * of them, so the factory (e2e-consumers.ts) can import them without a circle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchJobData } from './e2e-protocol.js';

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

/** host and port of a plain redis:// URL, the form BullMQ and bee-queue take. */
export function hostPort(redisUrl: string): { host: string; port: number } {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379) };
}

/** The peers' inline no-op (BullMQ inline, bee-queue); `ms` holds warm-up jobs so they overlap. */
export async function inlineNoop(data: BenchJobData): Promise<null> {
  if (data.ms) await sleep(data.ms);
  return null;
}
