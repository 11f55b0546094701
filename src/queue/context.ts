import { connect, durabilityOf, isConnectionSpec, type ConnectionOption, type RedisClient } from './connection.js';
import { ValidationError } from './errors.js';
import { queueKeys, QUEUE_NAME_PATTERN, type QueueKeys } from './keys.js';
import { DEFAULT_QUEUE_OPTIONS } from './options.js';
import { ScriptRunner, type Durability } from './scripts.js';

/** What the producer (Queue) and the lease client (QueueConsumer) of one queue share. */
export interface QueueContext {
  readonly name: string;
  readonly keys: QueueKeys;
  readonly client: RedisClient;
  /** True when the context opened the connection and so must close it. */
  readonly ownsClient: boolean;
  readonly scripts: ScriptRunner;
  readonly clock: () => number;
  readonly random: () => number;
  readonly maxPayloadBytes: number;
  readonly eventsMaxLen: number;
}

export interface ContextOptions {
  connection?: ConnectionOption;
  maxPayloadBytes?: number;
  eventsMaxLen?: number;
  clock?: () => number;
  random?: () => number;
  /**
   * Wait for replicas after enqueue and outcome writes. Defaults to the connection spec's
   * waitReplicas / waitTimeoutMs; needed explicitly when a client is shared.
   */
  durability?: Durability;
}

function contextDurability(options: ContextOptions): Durability | undefined {
  if (options.durability) return options.durability.replicas > 0 ? options.durability : undefined;
  return isConnectionSpec(options.connection) ? durabilityOf(options.connection) : undefined;
}

export function validateQueueName(name: unknown): string {
  if (typeof name !== 'string' || !QUEUE_NAME_PATTERN.test(name)) {
    throw new ValidationError('queue', `${JSON.stringify(name)} is not a valid queue name: use 1-128 letters, digits, or _ . : -`);
  }
  return name;
}

function positiveInteger(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ValidationError(field, `must be a whole number of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function createContext(name: string, options: ContextOptions = {}): QueueContext {
  validateQueueName(name);
  const maxPayloadBytes = positiveInteger('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_QUEUE_OPTIONS.maxPayloadBytes, 1);
  const eventsMaxLen = positiveInteger('eventsMaxLen', options.eventsMaxLen, DEFAULT_QUEUE_OPTIONS.eventsMaxLen, 100);
  const keys = queueKeys(name);
  const { client, owned } = connect(options.connection);
  return {
    name,
    keys,
    client,
    ownsClient: owned,
    scripts: new ScriptRunner(client, keys.scriptKeys, contextDurability(options)),
    clock: options.clock ?? Date.now,
    random: options.random ?? Math.random,
    maxPayloadBytes,
    eventsMaxLen,
  };
}

export async function closeContext(context: QueueContext): Promise<void> {
  if (context.ownsClient) await context.client.quit();
}
