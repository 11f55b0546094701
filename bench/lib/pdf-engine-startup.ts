/**
 * One fresh worker thread for bench/pdf-engines.ts: load an engine, extract one document, report
 * how long that took and what the thread holds after it.
 */
import v8 from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';

interface StartUpData {
  engine: 'pdfjs' | 'pdfium';
  doc: Uint8Array;
}

const { engine, doc } = workerData as StartUpData;
const start = performance.now();
if (engine === 'pdfjs') {
  const { pdf } = await import('../../src/processors/pdf/index.js');
  const ctx = { signal: new AbortController().signal, progress() {}, log() {} } as unknown as Parameters<typeof pdf.run>[1];
  await pdf.run(Buffer.from(doc), ctx);
} else {
  const { pdfiumText } = await import('./pdfium-engine.js');
  await pdfiumText(Buffer.from(doc));
}
const ms = performance.now() - start;
const heap = v8.getHeapStatistics();
parentPort!.postMessage({ ms, heapMb: heap.used_heap_size / 1048576, externalMb: heap.external_memory / 1048576 });
