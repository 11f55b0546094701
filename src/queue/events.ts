import { duplicateForBlocking, type RedisClient } from './connection.js';

export const EVENT_TYPES = ['completed', 'retrying', 'dead'] as const;
export type QueueEventType = (typeof EVENT_TYPES)[number];

/** One stream entry: a transition call publishes one entry for all the jobs it moved. */
export interface QueueEvent {
  type: QueueEventType;
  ids: string[];
  streamId: string;
}

export type EventListener = (event: QueueEvent) => void;

const BLOCK_MS = 5000;
const RETRY_MS = 250;

/**
 * Reads a queue's events stream on a connection of its own and fans entries out to listeners
 * and per-job watchers. It starts from the stream's tip as it was when it started, so a caller
 * that registers, then awaits `ready`, then reads a job's state misses nothing in between.
 */
export class QueueEvents {
  private connection: RedisClient | undefined;
  private readonly listeners = new Set<EventListener>();
  private readonly watchers = new Map<string, Set<(event: QueueEvent) => void>>();
  private running = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly streamKey: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Resolves once the reader has fixed its starting position. */
  ready(): Promise<void> {
    this.started ??= this.start();
    return this.started;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    void this.ready();
    return () => this.listeners.delete(listener);
  }

  watch(id: string, onEvent: (event: QueueEvent) => void): () => void {
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(onEvent);
    return () => {
      set.delete(onEvent);
      if (set.size === 0) this.watchers.delete(id);
    };
  }

  private async start(): Promise<void> {
    this.running = true;
    this.connection = duplicateForBlocking(this.client);
    const last = (await this.connection.xrevrange(this.streamKey, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    void this.loop(last[0]?.[0] ?? '0-0');
  }

  private async loop(fromId: string): Promise<void> {
    let lastId = fromId;
    while (this.running && this.connection) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.connection.xread('BLOCK', BLOCK_MS, 'STREAMS', this.streamKey, lastId)) as typeof reply;
      } catch (err) {
        if (!this.running) return;
        // Safe to carry on: the reader resumes from lastId, so no entry is skipped, and the
        // connection reconnects by itself; the pause avoids a hot loop while it does.
        this.onError(err);
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [streamId, fields] of entries) {
          lastId = streamId;
          this.dispatch(streamId, fields);
        }
      }
    }
  }

  private dispatch(streamId: string, fields: string[]): void {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    const type = record.type as QueueEventType;
    if (!EVENT_TYPES.includes(type)) return;
    const event: QueueEvent = { type, ids: (record.ids ?? '').split(' ').filter(Boolean), streamId };
    // One listener's bug must not stop the reader for everyone else.
    const safely = (fn: (e: QueueEvent) => void) => {
      try {
        fn(event);
      } catch (err) {
        this.onError(err);
      }
    };
    for (const listener of this.listeners) safely(listener);
    if (this.watchers.size === 0) return;
    for (const id of event.ids) {
      const set = this.watchers.get(id);
      if (set) for (const onEvent of [...set]) safely(onEvent);
    }
  }

  async close(): Promise<void> {
    this.running = false;
    this.listeners.clear();
    this.watchers.clear();
    this.connection?.disconnect();
    this.connection = undefined;
  }
}
