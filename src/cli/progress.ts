/**
 * A progress bar for long runs (`troupe tune`, `npm run bench`). On a terminal it redraws one
 * line in place; otherwise (CI, a pipe) it prints a plain line at each quarter so logs stay short.
 */

export interface Progress {
  /** Advances by n steps (default 1). */
  tick(n?: number): void;
  /** Finishes the bar, whatever the count reached. */
  done(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 28;

export function progressLine(label: string, count: number, total: number, elapsedMs: number): string {
  const fraction = total > 0 ? Math.min(1, count / total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const pct = `${Math.floor(fraction * 100)}`.padStart(3);
  return `${label} ${bar} ${pct}% ${count}/${total} ${(elapsedMs / 1000).toFixed(0)}s`;
}

export function startProgress(label: string, total: number, stream: ProgressStream = process.stderr): Progress {
  const began = performance.now();
  let count = 0;
  let lastQuarter = -1;
  let finished = false;
  let lastDraw = 0;
  const draw = (force: boolean) => {
    const now = performance.now();
    const line = progressLine(label, count, total, now - began);
    if (stream.isTTY) {
      // Redraws are capped at 10 per second; a tight loop of ticks must not flood the terminal.
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      const width = stream.columns ?? 100;
      stream.write(`\r${line.slice(0, width - 1).padEnd(Math.min(width - 1, line.length + 2))}`);
      return;
    }
    const quarter = total > 0 ? Math.floor((Math.min(count, total) / total) * 4) : 4;
    if (quarter > lastQuarter || force) {
      lastQuarter = quarter;
      stream.write(`${line}\n`);
    }
  };
  draw(false);
  return {
    tick(n = 1) {
      if (finished) return;
      count += n;
      draw(false);
    },
    done() {
      if (finished) return;
      finished = true;
      if (stream.isTTY) {
        draw(true);
        stream.write('\n');
      } else if (lastQuarter < 4) {
        lastQuarter = 4;
        stream.write(`${progressLine(label, count, total, performance.now() - began)}\n`);
      }
    },
  };
}
