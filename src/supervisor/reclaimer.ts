import type { QueueConsumer } from '../queue/consumer.js';
import { Periodic } from './timers.js';
import type { Logger } from './logger.js';

/**
 * Takes back leases that expired (their supervisor died or stalled), for every queue this
 * supervisor serves. Every supervisor runs one; the script is atomic, so they never collide.
 */
export class Reclaimer {
  private readonly periodic: Periodic;

  constructor(
    private readonly consumers: readonly QueueConsumer[],
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.periodic = new Periodic(intervalMs, () => this.reclaimAll());
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
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
