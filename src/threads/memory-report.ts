/**
 * Each thread tells the supervisor how much memory it holds outside its V8 heap, in the cells of
 * the tasks it is running (layout in protocol.ts). Threads share one process RSS, so this is the
 * only per-thread number there is; it is written from a timer, so a thread stuck in a long
 * synchronous run (pdf.js inflating a stream) stops reporting, and the supervisor reads the
 * silence as well as the number.
 */
import { getHeapStatistics } from 'node:v8';
import { CELL_EXTERNAL_BYTES, CELL_MEMORY_AT, MEMORY_REPORT_MS } from './protocol.js';

const cells = new Set<BigInt64Array>();
let timer: NodeJS.Timeout | undefined;

function report(): void {
  // The isolate's external memory: its ArrayBuffers included, this thread's only (measured: a
  // 200 MB Uint8Array in a thread shows here and not in the main thread's), and no system call.
  const external = BigInt(getHeapStatistics().external_memory);
  const now = BigInt(Date.now());
  for (const cell of cells) {
    Atomics.store(cell, CELL_EXTERNAL_BYTES, external);
    Atomics.store(cell, CELL_MEMORY_AT, now);
  }
}

/** Reports into `cell` until the returned function is called (the task ended). */
export function reportMemoryInto(cell: BigInt64Array): () => void {
  cells.add(cell);
  report();
  if (!timer) {
    timer = setInterval(report, MEMORY_REPORT_MS);
    timer.unref();
  }
  return () => {
    cells.delete(cell);
    if (cells.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}
