/**
 * What the supervisor and a thread's validate() step need of `pdf`: its name, description and
 * input check. The download, inflate check and pdf.js code are in index.ts, loaded on a thread's
 * first pdf job (see ../lazy.ts); pdf.js itself is loaded later still, when a document is opened.
 */
import type { ProcessorSpec } from '../lazy.js';
import type { PdfResult } from './index.js';
import { validatePdf, type PdfInput } from './options.js';

export const PDF_SPEC: ProcessorSpec<PdfInput, PdfResult> = {
  name: 'pdf',
  description: 'PDF bytes, or { url | base64, pages?, password?, images?, maxBytes?, maxPages?, maxInflatedBytes?, maxInflateRatio? }: text per page and whole, metadata, images',
  validate: validatePdf,
};
