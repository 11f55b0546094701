/** The rate windows, as Unix load averages and Dropwizard meters have them. */
export const RATE_WINDOWS = { '1m': 60, '5m': 300, '15m': 900 } as const;
export type RateWindow = keyof typeof RATE_WINDOWS;
export const RATE_WINDOW_NAMES = Object.keys(RATE_WINDOWS) as RateWindow[];

export type Rates = Record<RateWindow, number>;

/**
 * Events per second, exponentially weighted over 1, 5 and 15 minutes. mark() only adds to a
 * counter (the hot path); tick() folds the count into the averages with a weight computed from
 * the real time since the last tick, so an irregular tick (a busy loop, a long heartbeat) does
 * not skew the rate. The first tick sets the averages outright (Dropwizard's choice), so a
 * fresh supervisor does not report a 15-minute rate that takes 15 minutes to warm up.
 */
export class Meter {
  private uncounted = 0;
  private started = false;
  readonly rates: Rates = { '1m': 0, '5m': 0, '15m': 0 };

  mark(n = 1): void {
    this.uncounted += n;
  }

  tick(elapsedMs: number): void {
    if (elapsedMs <= 0) return;
    const instant = (this.uncounted * 1000) / elapsedMs;
    this.uncounted = 0;
    for (const w of RATE_WINDOW_NAMES) {
      if (!this.started) {
        this.rates[w] = instant;
        continue;
      }
      const alpha = 1 - Math.exp(-elapsedMs / 1000 / RATE_WINDOWS[w]);
      this.rates[w] += alpha * (instant - this.rates[w]);
    }
    this.started = true;
  }
}
