/**
 * Opening a PDF with pdf.js (pdfjs-dist, legacy build: the one meant for Node). pdf.js is loaded
 * on a thread's first pdf job, not at start: it is several megabytes of code that supervisors
 * and threads without pdf jobs never need. In Node it runs its parser in the calling thread
 * (its "fake worker"), which is what we want inside a Troupe thread.
 *
 * Checks that pdf.js would answer vaguely or not at all come first: a header sniff (not a PDF,
 * and what it looks like instead), and the end marker (a cut-off file, which pdf.js would
 * silently "repair" into fewer pages or less text).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api.js';
import { PdfError, PdfErrorCode } from './errors.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

/** Per thread: worker threads have their own module state, so each loads pdf.js once. */
let pdfjsPromise: Promise<PdfJs> | undefined;

export function loadPdfJs(): Promise<PdfJs> {
  pdfjsPromise ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjsPromise;
}

let assetDir: string | undefined;
function assets(): string {
  assetDir ??= dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  return assetDir;
}

const HEADER_WINDOW = 1024;
const TAIL_WINDOW = 1024;

/** What bytes that are not a PDF probably are, for the error message. */
function lookalike(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 16));
  const text = head.toString('latin1').trimStart().toLowerCase();
  if (head[0] === 0x89 && text.includes('png')) return 'a PNG image';
  if (head[0] === 0xff && head[1] === 0xd8) return 'a JPEG image';
  if (text.startsWith('gif8')) return 'a GIF image';
  if (text.startsWith('pk')) return 'a ZIP archive (a .docx or .xlsx is one)';
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'an HTML page (an error page or a login page instead of the file?)';
  if (text.startsWith('<')) return 'XML or HTML';
  if (text.startsWith('{') || text.startsWith('[')) return 'JSON';
  if (text.startsWith('%!ps')) return 'PostScript';
  return `bytes starting ${JSON.stringify(head.subarray(0, 8).toString('latin1'))}`;
}

/** Rejects what is plainly not a whole PDF before pdf.js sees it. */
export function checkShape(bytes: Uint8Array, maxBytes: number): void {
  if (bytes.byteLength === 0) {
    throw new PdfError(PdfErrorCode.NotPdf, 'pdf: the input is empty (0 bytes); send the PDF file\'s bytes, e.g. troupe enqueue QUEUE pdf --data-file file.pdf');
  }
  if (bytes.byteLength > maxBytes) {
    throw new PdfError(PdfErrorCode.TooLarge, `pdf: the document is ${bytes.byteLength} bytes, over maxBytes (${maxBytes}); raise data.maxBytes (or TROUPE_PDF_MAX_BYTES) if this size is expected`);
  }
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, HEADER_WINDOW));
  if (head.indexOf('%PDF-', 0, 'latin1') === -1) {
    throw new PdfError(PdfErrorCode.NotPdf, `pdf: the input is not a PDF (no %PDF- header); it looks like ${lookalike(bytes)}. Send the PDF file's bytes`);
  }
  const tailStart = Math.max(0, bytes.byteLength - TAIL_WINDOW);
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset + tailStart, bytes.byteLength - tailStart);
  if (tail.indexOf('%%EOF', 0, 'latin1') === -1) {
    throw new PdfError(
      PdfErrorCode.Truncated,
      `pdf: the document is truncated: its ${bytes.byteLength} bytes do not end with the %%EOF marker, so the file was cut short (an interrupted download or upload?); send the whole file`,
    );
  }
}

/** pdf.js errors cross its worker boundary as plain objects with a name (and a code for passwords). */
function mapOpenError(err: unknown, hadPassword: boolean): PdfError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (e.name === 'PasswordException') {
    // pdf.js PasswordResponses: 1 = a password is needed, 2 = the one given is wrong.
    if (e.code === 2 || hadPassword) {
      return new PdfError(PdfErrorCode.PasswordIncorrect, 'pdf: the document is encrypted and data.password is not its password; check the password');
    }
    return new PdfError(PdfErrorCode.PasswordRequired, 'pdf: the document is encrypted with a password; give it as data.password');
  }
  return new PdfError(PdfErrorCode.Corrupt, `pdf: the document is corrupt and cannot be read (${message}); check the file opens in a PDF viewer, or re-export it`, {
    cause: err,
  });
}

/** `maxDecodedBytes`: the inflate limit; an image decoding to more (4 bytes a pixel) is skipped by pdf.js. */
export async function openDocument(bytes: Uint8Array, password: string | undefined, maxDecodedBytes: number): Promise<PDFDocumentProxy> {
  const pdfjs = await loadPdfJs();
  const root = assets();
  const task = pdfjs.getDocument({
    // pdf.js wants a plain Uint8Array, and it may take (detach) the memory it is given: a copy
    // keeps the job's input intact, and costs one copy of the file.
    data: new Uint8Array(bytes),
    ...(password !== undefined ? { password } : {}),
    verbosity: pdfjs.VerbosityLevel.ERRORS,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    isOffscreenCanvasSupported: false,
    isImageDecoderSupported: false,
    stopAtErrors: false,
    maxImageSize: Math.max(1, Math.floor(maxDecodedBytes / 4)),
    cMapUrl: join(root, 'cmaps') + '/',
    cMapPacked: true,
    standardFontDataUrl: join(root, 'standard_fonts') + '/',
    wasmUrl: join(root, 'wasm') + '/',
  });
  try {
    return await task.promise;
  } catch (err) {
    await task.destroy();
    throw mapOpenError(err, password !== undefined);
  }
}

/** A page that pdf.js cannot read: corrupt, with the page named. */
export function pageError(page: number, err: unknown): PdfError {
  const message = err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err) ? String((err as { message: unknown }).message) : String(err);
  return new PdfError(PdfErrorCode.Corrupt, `pdf: page ${page} is corrupt and cannot be read (${message}); check the file, or skip the page with data.pages`, { cause: err });
}

/** "D:20240131120000+01'00'" → ISO 8601, via pdf.js's own parser; null when absent or unparseable. */
export async function pdfDate(value: unknown): Promise<string | null> {
  if (typeof value !== 'string' || value === '') return null;
  const { PDFDateString } = await loadPdfJs();
  const date = PDFDateString.toDateObject(value);
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}
