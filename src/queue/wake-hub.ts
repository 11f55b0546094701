/**
 * One blocking connection for every queue of a client that waits for work, instead of one per
 * queue: a supervisor serving 100 queues held 101 Redis connections (bench scale). Each idle
 * queue's wake key goes into one BLPOP; the first key with a token wakes its queue's waiters, and
 * the call is made again for those still waiting.
 *
 * A queue that starts waiting while the BLPOP is blocked on the others is let in with a kick: a
 * token on this hub's own key, which is in every BLPOP, makes it return at once so the next one
 * includes the newcomer. One kick is outstanding at a time.
 *
 * Redis Cluster refuses a BLPOP over keys in different slots (each queue is its own slot), so
 * clusters keep one blocking connection per queue (QueueConsumer.waitForWork).
 */
import { randomBytes } from 'node:crypto';
import { duplicateForBlocking, type RedisClient } from './connection.js';

interface Waiter {
  key: string;
  deadline: number;
  resolve(woken: boolean): void;
  reject(err: unknown): void;
}

const hubs = new WeakMap<RedisClient, WakeHub>();

export class WakeHub {
  private blocking: RedisClient | undefined;
  private readonly waiters = new Set<Waiter>();
  private users = 0;
  private looping = false;
  /** Keys the BLPOP in flight waits on (undefined: none in flight), and when it times out. */
  private blockedOn: ReadonlySet<string> | undefined;
  private blockedUntil = 0;
  private kickPending = false;
  private readonly kickKey = `troupe:wake-hub:${randomBytes(8).toString('hex')}`;

  private constructor(private readonly client: RedisClient) {}

  /** The hub of a client, shared by every consumer on it; release() it when done. */
  static for(client: RedisClient): WakeHub {
    let hub = hubs.get(client);
    if (!hub) hubs.set(client, (hub = new WakeHub(client)));
    hub.users += 1;
    return hub;
  }

  /** Connections this hub holds open (0 or 1), for tests and the scale bench. */
  get connections(): number {
    return this.blocking ? 1 : 0;
  }

  /** Resolves true when a token on `key` arrives, false after timeoutMs. */
  wait(key: string, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const deadline = Date.now() + Math.max(10, timeoutMs);
      this.waiters.add({ key, deadline, resolve, reject });
      if (!this.looping) {
        void this.loop();
      } else if (this.blockedOn && (!this.blockedOn.has(key) || deadline < this.blockedUntil) && !this.kickPending) {
        // Not in the BLPOP in flight, or due before it times out: make it start again with this one.
        this.kickPending = true;
        // Through the shared command connection: the blocking one is busy.
        this.client.rpush(this.kickKey, '1').catch(() => {
          // The BLPOP in flight ends by its timeout anyway; the newcomer waits at most that long.
          this.kickPending = false;
        });
      }
    });
  }

  /** A consumer is done: its waits on `key` end (not woken); the last user closes the connection. */
  release(key: string): void {
    for (const waiter of this.waiters) {
      if (waiter.key !== key) continue;
      this.waiters.delete(waiter);
      waiter.resolve(false);
    }
    this.users -= 1;
    if (this.users > 0) return;
    hubs.delete(this.client);
    const blocking = this.blocking;
    this.blocking = undefined;
    if (blocking) {
      // The kick key holds at most one token; leave nothing behind.
      this.client.del(this.kickKey).catch(() => undefined);
      blocking.disconnect();
    }
  }

  private settleExpired(now: number): void {
    for (const waiter of this.waiters) {
      if (waiter.deadline > now) continue;
      this.waiters.delete(waiter);
      waiter.resolve(false);
    }
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      for (;;) {
        this.settleExpired(Date.now());
        if (this.waiters.size === 0 || this.users === 0) return;
        const keys = new Set<string>();
        let deadline = Number.POSITIVE_INFINITY;
        for (const waiter of this.waiters) {
          keys.add(waiter.key);
          deadline = Math.min(deadline, waiter.deadline);
        }
        const seconds = Math.max(0.01, (deadline - Date.now()) / 1000);
        this.blocking ??= duplicateForBlocking(this.client);
        this.blockedOn = keys;
        this.blockedUntil = deadline;
        let reply: [string, string] | null;
        try {
          reply = await this.blocking.blpop(...keys, this.kickKey, seconds);
        } catch (err) {
          // The connection failed or was closed: every wait ends with the error, as its own
          // BLPOP would have; the lease loops back off and wait again.
          for (const waiter of this.waiters) waiter.reject(err);
          this.waiters.clear();
          return;
        } finally {
          this.blockedOn = undefined;
        }
        if (!reply) continue;
        const [key] = reply;
        if (key === this.kickKey) {
          this.kickPending = false;
          continue;
        }
        for (const waiter of this.waiters) {
          if (waiter.key !== key) continue;
          this.waiters.delete(waiter);
          waiter.resolve(true);
        }
      }
    } finally {
      this.looping = false;
    }
  }
}
