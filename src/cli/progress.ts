/**
 * A progress bar for long runs (`troupe tune`, `npm run bench`). On a terminal it redraws one
 * line in place; otherwise (CI, a pipe) it prints a plain line at each quarter so logs stay short.
 */

export interface Progress {
  /** Advances by n steps (default 1); the count stops at the total. */
  tick(n?: number): void;
  /** Finishes the bar, whatever the count reached. Safe to call more than once. */
  done(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 28;
/** Redraws on a terminal are capped at 10 per second: a tight loop of ticks must not flood it. */
const REDRAW_MS = 100;
/** Erases from the cursor to the end of the line, so a shorter redraw leaves no tail behind. */
const CLEAR_TO_EOL = '\x1b[K';

export function progressLine(label: string, count: number, total: number, elapsedMs: number): string {
  const shown = Math.min(Math.max(0, count), Math.max(0, total));
  const fraction = total > 0 ? shown / total : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const pct = `${Math.floor(fraction * 100)}`.padStart(3);
  return `${label} ${bar} ${pct}% ${shown}/${total} ${(elapsedMs / 1000).toFixed(0)}s`;
}

export function startProgress(label: string, total: number, stream: ProgressStream = process.stderr): Progress {
  const began = performance.now();
  let count = 0;
  let lastQuarter = -1;
  let lastPrintedCount = -1;
  let finished = false;
  let lastDraw = Number.NEGATIVE_INFINITY;
  const draw = (force: boolean) => {
    const now = performance.now();
    const line = progressLine(label, count, total, now - began);
    if (stream.isTTY) {
      if (!force && now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      // One column short of the width: writing the last column makes some terminals wrap.
      const width = stream.columns ?? 100;
      stream.write(`\r${line.slice(0, Math.max(1, width - 1))}${CLEAR_TO_EOL}`);
      return;
    }
    const quarter = total > 0 ? Math.floor((count / total) * 4) : 4;
    // A forced line adds nothing when the count has not moved since the last one printed.
    if (quarter > lastQuarter || (force && count !== lastPrintedCount)) {
      lastQuarter = quarter;
      lastPrintedCount = count;
      stream.write(`${line}\n`);
    }
  };
  draw(true);
  return {
    tick(n = 1) {
      const before = count;
      if (!finished && n > 0) count = Math.min(total, count + n);
      // Reaching the total is drawn at once; a rate-limited redraw could leave 99% on screen.
      if (count !== before) draw(count === total);
    },
    done() {
      if (finished) return;
      finished = true;
      if (stream.isTTY) {
        draw(true);
        stream.write('\n');
      } else if (lastQuarter < 4) {
        draw(true);
      }
    },
  };
}

/** Log lines and progress bars sharing one stream. */
export interface ProgressConsole {
  log(line: string): void;
  progress(label: string, total: number): Progress;
}

/**
 * Keeps log lines and a terminal bar from writing over each other: a log line written while a
 * bar is on screen erases the bar, takes its line, and the bar is drawn again below it. Off a
 * terminal, bars print whole lines, so nothing needs doing.
 */
export function progressConsole(stream: ProgressStream = process.stderr): ProgressConsole {
  let barOnScreen = '';
  const barStream: ProgressStream = {
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    write(text: string) {
      barOnScreen = stream.isTTY && !text.endsWith('\n') ? text : '';
      return stream.write(text);
    },
  };
  return {
    log(line: string) {
      if (barOnScreen) stream.write(`\r${CLEAR_TO_EOL}${line}\n${barOnScreen}`);
      else stream.write(`${line}\n`);
    },
    progress: (label, total) => startProgress(label, total, barStream),
  };
}
