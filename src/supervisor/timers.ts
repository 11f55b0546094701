/** Growing waits after consecutive Redis errors, so a restarting Redis is not hammered. */
export class ErrorBackoff {
  private failures = 0;
  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 5000,
  ) {}

  next(): number {
    this.failures += 1;
    return Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
  }

  reset(): void {
    this.failures = 0;
  }
}

/** A sleep that stop() can cut short. */
export class Sleeper {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  interrupt(): void {
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}

/** Runs `task` every intervalMs, never two at once; stop() waits for a run in progress. */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.inFlight ??= this.task().finally(() => (this.inFlight = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.inFlight;
  }
}
