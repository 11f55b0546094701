import type { QueueConsumer } from '../queue/consumer.js';
import type { Dispatcher } from './dispatcher.js';
import { Periodic } from './timers.js';
import type { SupervisorEvents } from './events.js';
import type { Logger } from './logger.js';

/**
 * Renews every lease this supervisor holds, one call per queue per heartbeat, on the
 * supervisor's event loop, which never runs job code, so CPU-heavy jobs cannot starve it
 * (the BullMQ "stalled job" complaint, #2857). Jobs waiting in the buffer are renewed too.
 */
export class Renewer {
  private readonly periodic: Periodic;

  constructor(
    private readonly consumers: readonly QueueConsumer[],
    private readonly dispatcher: Dispatcher,
    private readonly owner: string,
    private readonly leaseMs: number,
    intervalMs: number,
    private readonly logger: Logger,
    private readonly events: SupervisorEvents,
  ) {
    this.intervalMs = intervalMs;
    this.periodic = new Periodic(intervalMs, () => this.renewAll());
  }

  private readonly intervalMs: number;
  private lastRound = 0;

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  async renewAll(): Promise<void> {
    // Lag: how much later than one interval after the previous round this round finishes. A
    // supervisor whose event loop is starved (the BullMQ "stalled" failure) shows it here first.
    const scheduled = this.lastRound === 0 ? Date.now() : this.lastRound + this.intervalMs;
    this.lastRound = Date.now();
    await Promise.all(
      this.consumers.map(async (consumer) => {
        const leases = this.dispatcher.leasesOf(consumer.name);
        if (leases.length === 0) return;
        try {
          const gone = await consumer.renew(this.owner, leases, this.leaseMs);
          // A completion written while this call was on its way also makes a lease "gone";
          // markLost leaves jobs whose outcome is being written to the acker and returns the rest.
          const lost = gone.length > 0 ? this.dispatcher.markLost(consumer.name, gone) : [];
          this.events.emit('renewed', { queue: consumer.name, leases: leases.length, lost: lost.length, lagMs: Math.max(0, Date.now() - scheduled) });
          if (lost.length > 0) {
            this.logger.warn({ queue: consumer.name, lost }, 'leases lost (expired and reclaimed, or finished elsewhere); their results will be discarded');
          }
        } catch (err) {
          // The next heartbeat tries again; a lease survives leaseMs, at least two heartbeats.
          this.logger.warn({ err, queue: consumer.name, leases: leases.length }, 'renewing leases failed; retrying at the next heartbeat');
        }
      }),
    );
  }
}
