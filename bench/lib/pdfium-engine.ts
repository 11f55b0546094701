/**
 * PDFium (WebAssembly, @embedpdf/pdfium) as a text extractor, for bench/pdf-engines.ts: each page's
 * text through FPDFText (UTF-16), and the filled form fields' values through FPDFAnnot. Loaded
 * once per thread; a document's bytes are copied into the module's memory and freed after.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

type Pdfium = Awaited<ReturnType<typeof import('@embedpdf/pdfium').init>>;

let loading: Promise<Pdfium> | undefined;

export function loadPdfium(): Promise<Pdfium> {
  loading ??= (async () => {
    const { init } = await import('@embedpdf/pdfium');
    const dir = dirname(createRequire(import.meta.url).resolve('@embedpdf/pdfium'));
    const module = await init({ wasmBinary: readFileSync(join(dir, 'pdfium.wasm')).buffer as ArrayBuffer });
    module.PDFiumExt_Init();
    return module;
  })();
  return loading;
}

export interface EngineText {
  pages: string[];
  fields: string[];
}

/** FPDF_GetLastError's codes, as the messages the bench reports. */
const ERRORS: Record<number, string> = { 1: 'unknown error', 2: 'file not found', 3: 'corrupt (format error)', 4: 'password required or wrong', 5: 'unsupported security', 6: 'page not found' };

export async function pdfiumText(bytes: Uint8Array, password = ''): Promise<EngineText> {
  const m = await loadPdfium();
  const { wasmExports } = m.pdfium;
  const data = wasmExports.malloc(bytes.byteLength);
  // HEAPU8 is on the Emscripten module at run time; the package's types leave it out.
  (m.pdfium as unknown as { HEAPU8: Uint8Array }).HEAPU8.set(bytes, data);
  const doc = m.FPDF_LoadMemDocument(data, bytes.byteLength, password);
  try {
    if (!doc) throw new Error(`pdfium: ${ERRORS[m.FPDF_GetLastError()] ?? 'error'}`);
    const pages: string[] = [];
    const fields: string[] = [];
    const info = m.PDFiumExt_OpenFormFillInfo();
    const form = m.PDFiumExt_InitFormFillEnvironment(doc, info);
    const count = m.FPDF_GetPageCount(doc);
    for (let i = 0; i < count; i++) {
      const page = m.FPDF_LoadPage(doc, i);
      const text = m.FPDFText_LoadPage(page);
      const n = m.FPDFText_CountChars(text);
      const buffer = wasmExports.malloc((n + 1) * 2);
      m.FPDFText_GetText(text, 0, n, buffer);
      pages.push(m.pdfium.UTF16ToString(buffer).replace(/\r\n/g, '\n'));
      wasmExports.free(buffer);
      m.FPDFText_ClosePage(text);
      if (form) {
        const annots = m.FPDFPage_GetAnnotCount(page);
        for (let a = 0; a < annots; a++) {
          const annot = m.FPDFPage_GetAnnot(page, a);
          const size = m.FPDFAnnot_GetFormFieldValue(form, annot, 0, 0);
          if (size > 2) {
            const value = wasmExports.malloc(size);
            m.FPDFAnnot_GetFormFieldValue(form, annot, value, size);
            fields.push(m.pdfium.UTF16ToString(value));
            wasmExports.free(value);
          }
          m.FPDFPage_CloseAnnot(annot);
        }
      }
      m.FPDF_ClosePage(page);
    }
    if (form) m.PDFiumExt_ExitFormFillEnvironment(form);
    m.PDFiumExt_CloseFormFillInfo(info);
    return { pages, fields };
  } finally {
    if (doc) m.FPDF_CloseDocument(doc);
    wasmExports.free(data);
  }
}
