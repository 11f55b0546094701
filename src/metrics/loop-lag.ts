/**
 * How late a 100 ms timer fires on this event loop: the worst lag of the last 5–10 seconds.
 * Lease renewal and heartbeats run on this loop, so a lagging loop is the first sign of the
 * starvation that makes other queues report stalled jobs (BullMQ #2857).
 */
export class LoopLag {
  private static readonly SAMPLE_MS = 100;
  private static readonly WINDOW_MS = 5000;
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private windowStart = 0;
  private currentMax = 0;
  private previousMax = 0;

  start(now = Date.now()): void {
    this.expected = now + LoopLag.SAMPLE_MS;
    this.windowStart = now;
    this.timer = setInterval(() => this.sample(Date.now()), LoopLag.SAMPLE_MS);
    // Measuring must never keep a stopping process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(now: number): void {
    const lag = Math.max(0, now - this.expected);
    this.expected = now + LoopLag.SAMPLE_MS;
    if (now - this.windowStart >= LoopLag.WINDOW_MS) {
      this.previousMax = this.currentMax;
      this.currentMax = 0;
      this.windowStart = now;
    }
    if (lag > this.currentMax) this.currentMax = lag;
  }

  /** Worst lag (ms) seen recently; a loop blocked right now shows once it runs again. */
  get lagMs(): number {
    return Math.max(this.currentMax, this.previousMax);
  }
}
