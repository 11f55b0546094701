/**
 * Errors of the `pdf` processor. Every one is about the document itself, so none of them can be
 * fixed by running the job again: they are unrecoverable and the job goes to the dead-letter
 * queue with the reason. (Trouble fetching a URL is a FetchError, and retryable where it should be.)
 */
import { CodedError, type CodeOf } from '../../errors.js';

export const PdfErrorCode = {
  NotPdf: 'PDF_NOT_A_PDF',
  Truncated: 'PDF_TRUNCATED',
  Corrupt: 'PDF_CORRUPT',
  PasswordRequired: 'PDF_PASSWORD_REQUIRED',
  PasswordIncorrect: 'PDF_PASSWORD_INCORRECT',
  TooLarge: 'PDF_TOO_LARGE',
  TooLargeInflated: 'PDF_TOO_LARGE_INFLATED',
  TooManyPages: 'PDF_TOO_MANY_PAGES',
  NoPages: 'PDF_NO_PAGES',
  PageRange: 'PDF_PAGE_RANGE',
  /** The job asked for more (maxBytes, maxPages, ...) than the deployment's cap (TROUPE_PDF_*_CAP, or the fetch caps for a URL). */
  OverCap: 'PDF_OVER_CAP',
} as const;
export type PdfErrorCode = CodeOf<typeof PdfErrorCode>;

export class PdfError extends CodedError<PdfErrorCode> {
  override name = 'PdfError';
  readonly unrecoverable = true;
}
