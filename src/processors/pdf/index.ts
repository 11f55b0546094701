/**
 * `pdf`: text (per page and whole), metadata and optionally images from a PDF given as bytes,
 * base64, or an http(s) URL (fetched with size and time limits). Progress is reported per page.
 * Every problem with the document is a PdfError with a code, unrecoverable.
 */
import type { Processor } from '../contract.js';
import { FetchError, FetchErrorCode, statusError } from '../fetch/errors.js';
import { getLimited } from '../fetch/http-client.js';
import { limitsFrom } from '../fetch/options.js';
import { checkShape, openDocument, pageError, pdfDate } from './document.js';
import { PdfError, PdfErrorCode } from './errors.js';
import { checkInflatedSize, inflateLimit } from './inflate-limit.js';
import { checkPdfCaps, INFLATE_FLOOR_BYTES, parsePageRanges, pdfDefault, selectPages, type PdfInput, type PdfOptions } from './options.js';
import { PDF_SPEC } from './spec.js';
import { fieldText, pageFields, pageImages, pageText, type PdfField, type PdfImage } from './pages.js';

export interface PdfMetadata {
  title: string | null;
  author: string | null;
  subject: string | null;
  keywords: string | null;
  creator: string | null;
  producer: string | null;
  creationDate: string | null;
  modificationDate: string | null;
  pageCount: number;
  pdfVersion: string | null;
  encrypted: boolean;
}

export interface PdfPage {
  number: number;
  width: number;
  height: number;
  /** Degrees clockwise, from the page's /Rotate. */
  rotation: number;
  text?: string;
  images?: PdfImage[];
}

export interface PdfResult {
  /** Pages in the document (all of them, not only those extracted). */
  pageCount: number;
  pages: PdfPage[];
  /** The extracted pages' text, separated by a form feed (\f), as pdftotext does. */
  text?: string;
  metadata?: PdfMetadata;
  imageCount?: number;
  /** The document's filled-in form fields (AcroForm), in page order; only for documents that have a form. */
  fields?: PdfField[];
}

async function documentBytes(input: PdfInput, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  if (input instanceof Uint8Array) return input;
  if ('base64' in input) return Buffer.from(input.base64, 'base64');
  // The download's own byte limit is the document's, so an oversized file stops mid-transfer.
  const limits = { ...limitsFrom(input as unknown as Record<string, unknown>), maxBytes };
  let response;
  try {
    response = await getLimited(input.url, limits, signal);
  } catch (err) {
    if (err instanceof FetchError && err.code === FetchErrorCode.TooLarge) {
      throw new PdfError(PdfErrorCode.TooLarge, `pdf: the document at ${input.url} is over maxBytes (${maxBytes}); raise data.maxBytes (or TROUPE_PDF_MAX_BYTES) if this size is expected`, { cause: err });
    }
    throw err;
  }
  if (response.status < 200 || response.status > 299) {
    throw statusError(input.url, response.status, response.statusText, response.headers['retry-after'] ?? null);
  }
  return response.body;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

async function metadataOf(doc: Awaited<ReturnType<typeof openDocument>>): Promise<PdfMetadata> {
  const { info, metadata } = await doc.getMetadata();
  const i = (info ?? {}) as Record<string, unknown>;
  const xmp = (name: string): string | null => text(metadata?.get(name));
  return {
    title: text(i.Title) ?? xmp('dc:title'),
    author: text(i.Author) ?? xmp('dc:creator'),
    subject: text(i.Subject) ?? xmp('dc:description'),
    keywords: text(i.Keywords) ?? xmp('pdf:keywords'),
    creator: text(i.Creator) ?? xmp('xmp:creatortool'),
    producer: text(i.Producer) ?? xmp('pdf:producer'),
    creationDate: await pdfDate(i.CreationDate),
    modificationDate: await pdfDate(i.ModDate),
    pageCount: doc.numPages,
    pdfVersion: text(i.PDFFormatVersion),
    // pdf.js reports the security handler's filter name (Standard) only for encrypted files.
    encrypted: text(i.EncryptFilterName) !== null,
  };
}

export const pdf: Processor<PdfInput, PdfResult> = {
  ...PDF_SPEC,
  async run(input, ctx) {
    const options: PdfOptions = input instanceof Uint8Array ? {} : input;
    // The operator's caps win over the job's data: refused before any download or parse.
    checkPdfCaps(options);
    const maxBytes = options.maxBytes ?? pdfDefault('maxBytes');
    const maxPages = options.maxPages ?? pdfDefault('maxPages');
    const bytes = await documentBytes(input, maxBytes, ctx.signal);
    checkShape(bytes, maxBytes);
    const images = options.images ?? 'none';
    const inflate = inflateLimit(
      bytes.byteLength,
      options.maxInflatedBytes ?? pdfDefault('maxInflatedBytes'),
      options.maxInflateRatio ?? pdfDefault('maxInflateRatio'),
      INFLATE_FLOOR_BYTES,
    );
    await checkInflatedSize(bytes, inflate, images !== 'none', ctx.signal);

    const doc = await openDocument(bytes, options.password, inflate.bytes);
    try {
      if (doc.numPages === 0) {
        throw new PdfError(PdfErrorCode.NoPages, 'pdf: the document has 0 pages (its page tree is empty or unreadable); there is nothing to extract, check the file');
      }
      const ranges = options.pages === undefined ? undefined : parsePageRanges(options.pages);
      const { pages: selected, pastEnd } = selectPages(typeof ranges === 'string' ? undefined : ranges, doc.numPages);
      if (pastEnd.length > 0 || selected.length === 0) {
        throw new PdfError(PdfErrorCode.PageRange, `pdf: data.pages "${options.pages}" asks for page ${pastEnd[0]}, but the document has ${doc.numPages} pages; ask for pages 1-${doc.numPages}`);
      }
      if (selected.length > maxPages) {
        throw new PdfError(
          PdfErrorCode.TooManyPages,
          `pdf: ${selected.length} pages to extract, over maxPages (${maxPages}); select fewer with data.pages, or raise data.maxPages (or TROUPE_PDF_MAX_PAGES)`,
        );
      }
      const pages: PdfPage[] = [];
      // Only a document with an AcroForm has fields: the others skip the per-page annotation read.
      const hasForm = (await doc.getFieldObjects()) !== null;
      const fields: PdfField[] = [];
      for (const [done, number] of selected.entries()) {
        ctx.signal.throwIfAborted();
        pages.push(await extractPage(doc, number, options.perPage !== false || options.text !== false, options.dehyphenate !== false, images, hasForm ? fields : undefined));
        ctx.progress({ page: number, done: done + 1, total: selected.length });
      }
      const result: PdfResult = { pageCount: doc.numPages, pages };
      if (options.text !== false) result.text = pages.map((p) => p.text ?? '').join('\f');
      if (options.perPage === false) for (const p of pages) delete p.text;
      if (options.metadata !== false) result.metadata = await metadataOf(doc);
      if (images !== 'none') result.imageCount = pages.reduce((n, p) => n + (p.images?.length ?? 0), 0);
      if (hasForm) result.fields = fields;
      return result;
    } finally {
      await doc.destroy();
    }
  },
};

async function extractPage(
  doc: Awaited<ReturnType<typeof openDocument>>,
  number: number,
  wantText: boolean,
  joinHyphenated: boolean,
  images: 'none' | 'info' | 'bytes',
  fields: PdfField[] | undefined,
): Promise<PdfPage> {
  try {
    const page = await doc.getPage(number);
    const [x0, y0, x1, y1] = page.view as [number, number, number, number];
    const out: PdfPage = { number, width: Math.round((x1 - x0) * 100) / 100, height: Math.round((y1 - y0) * 100) / 100, rotation: page.rotate };
    const filled = fields ? await pageFields(page, number) : [];
    fields?.push(...filled);
    if (wantText) {
      // Field values are not in the page's content stream: they follow its text, one per line.
      const values = fieldText(filled);
      const text = await pageText(page, joinHyphenated);
      out.text = values === '' ? text : text === '' ? values : `${text}\n${values}`;
    }
    if (images !== 'none') out.images = await pageImages(page, images === 'bytes');
    page.cleanup();
    return out;
  } catch (err) {
    if (err instanceof PdfError) throw err;
    throw pageError(number, err);
  }
}
