import type { QueueConsumer } from '../queue/consumer.js';
import type { Logger } from './logger.js';

/**
 * Takes back leases that expired (their supervisor died or stalled), for every queue this
 * supervisor serves. Every supervisor runs one; the script is atomic, so they never collide.
 */
export class Reclaimer {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly consumers: readonly QueueConsumer[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.inFlight) this.inFlight = this.reclaimAll().finally(() => (this.inFlight = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.inFlight;
  }

  async reclaimAll(): Promise<void> {
    await Promise.all(
      this.consumers.map(async (consumer) => {
        try {
          const { requeued, dead } = await consumer.reclaim();
          if (requeued.length > 0 || dead.length > 0) {
            this.logger.warn({ queue: consumer.name, requeued, dead }, 'reclaimed expired leases (a supervisor died or stalled)');
          }
        } catch (err) {
          // Expired leases wait for the next interval; nothing is lost meanwhile.
          this.logger.warn({ err, queue: consumer.name }, 'reclaiming expired leases failed; retrying at the next interval');
        }
      }),
    );
  }
}
