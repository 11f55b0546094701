/**
 * One page's text and images. Text comes from pdf.js's text content in content-stream order:
 * pdf.js already inserts a space where the gap between two runs is wide and marks line ends
 * (hasEOL), so a page's text is its runs joined, one line per hasEOL, trailing blanks dropped.
 * Each line is then put in logical order and normalised (text-order.ts: right-to-left scripts,
 * presentation forms, ligatures, accents).
 */
import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';
import { loadPdfJs } from './document.js';
import { logicalLine, normaliseText, type Run } from './text-order.js';

interface TextRun {
  str: string;
  dir?: string;
  hasEOL: boolean;
  transform?: number[];
  width?: number;
  height?: number;
}

function runOf(item: TextRun, str: string): Run {
  const run: Run = { str };
  if (item.dir !== undefined) run.dir = item.dir;
  const t = item.transform;
  if (t && t.length >= 6) {
    run.x = t[4]!;
    run.size = Math.hypot(t[0]!, t[1]!) || (item.height ?? 0);
    if (item.width !== undefined) run.width = item.width;
  }
  return run;
}

function isRun(item: unknown): item is TextRun {
  return typeof (item as { str?: unknown }).str === 'string';
}

/**
 * A word broken over two lines by a hyphen ("re-" / "newal") is joined again, as pdftotext does:
 * searches and word counts then see "renewal". Only a hyphen after a letter, at a line end,
 * before a line that starts in lower case; "fencing-to-" / "ken" keeps its inner hyphen.
 */
export function dehyphenate(text: string): string {
  return text.replace(/(\p{L})-\n(?=\p{Ll})/gu, '$1');
}

export function joinRuns(items: readonly unknown[]): string {
  const lines: string[] = [];
  let line: Run[] = [];
  const endLine = () => {
    lines.push(normaliseText(logicalLine(line)));
    line = [];
  };
  for (const item of items) {
    if (!isRun(item)) continue;
    // A run may hold line breaks of its own; each piece is a run of its line.
    const pieces = item.str.split('\n');
    pieces.forEach((piece, i) => {
      if (i > 0) endLine();
      line.push(runOf(item, piece));
    });
    if (item.hasEOL) endLine();
  }
  endLine();
  return lines
    .join('\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/^\n+|\n+$/g, '');
}

export async function pageText(page: PDFPageProxy, joinHyphenated: boolean): Promise<string> {
  const content = await page.getTextContent();
  const text = joinRuns(content.items);
  return joinHyphenated ? dehyphenate(text) : text;
}

export interface PdfImage {
  /** pdf.js's id of the image within the document (the same image on two pages shares it), or "inline-<n>". */
  id: string;
  width: number;
  height: number;
  /** Decoded pixel layout: gray (1 bit per pixel, rows padded to a byte), rgb, rgba, or mask (a stencil). */
  kind: 'gray' | 'rgb' | 'rgba' | 'mask';
  /** Decoded pixels, only with images: "bytes". */
  bytes?: Uint8Array;
}

const KINDS: Record<number, PdfImage['kind']> = { 1: 'gray', 2: 'rgb', 3: 'rgba' };

interface ImageData {
  width?: number;
  height?: number;
  kind?: number;
  data?: Uint8Array | Uint8ClampedArray;
}

/** Image objects arrive from pdf.js's parser after the operator list; wait for each, but not forever. */
function resolveObject(page: PDFPageProxy, objId: string): Promise<ImageData | undefined> {
  const objs = objId.startsWith('g_') ? page.commonObjs : page.objs;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 10_000);
    objs.get(objId, (data: ImageData) => {
      clearTimeout(timer);
      resolve(data ?? undefined);
    });
  });
}

function describeImage(id: string, data: ImageData | undefined, withBytes: boolean, mask = false): PdfImage | undefined {
  if (!data || typeof data.width !== 'number' || typeof data.height !== 'number') return undefined;
  const kind = mask ? 'mask' : (KINDS[data.kind ?? 0] ?? 'rgba');
  const image: PdfImage = { id, width: data.width, height: data.height, kind };
  if (withBytes && data.data) image.bytes = new Uint8Array(data.data.buffer.slice(data.data.byteOffset, data.data.byteOffset + data.data.byteLength));
  return image;
}

/** The images a page paints, each once, in painting order. */
export async function pageImages(page: PDFPageProxy, withBytes: boolean): Promise<PdfImage[]> {
  const { OPS } = await loadPdfJs();
  const list = await page.getOperatorList();
  const images: PdfImage[] = [];
  const seen = new Set<string>();
  let inline = 0;
  for (let i = 0; i < list.fnArray.length; i++) {
    const fn = list.fnArray[i];
    const args = list.argsArray[i] as unknown[] | null;
    let image: PdfImage | undefined;
    if (fn === OPS.paintImageXObject || fn === OPS.paintImageXObjectRepeat) {
      const objId = args?.[0];
      if (typeof objId !== 'string' || seen.has(objId)) continue;
      seen.add(objId);
      image = describeImage(objId, await resolveObject(page, objId), withBytes);
    } else if (fn === OPS.paintInlineImageXObject) {
      image = describeImage(`inline-${++inline}`, args?.[0] as ImageData, withBytes);
    } else if (fn === OPS.paintImageMaskXObject) {
      image = describeImage(`mask-${++inline}`, args?.[0] as ImageData, withBytes, true);
    }
    if (image) images.push(image);
  }
  return images;
}

export interface PdfField {
  /** The field's full name (parent names joined with dots). */
  name: string;
  type: 'text' | 'checkbox' | 'radio' | 'choice' | 'button' | 'signature';
  /** Text and single choices: the text; multiple choices: each; check boxes and radio buttons: the on state's name, or null when off. */
  value: string | string[] | null;
  page: number;
}

interface WidgetAnnotation {
  subtype?: string;
  fieldName?: string;
  fieldType?: string;
  fieldValue?: unknown;
  checkBox?: boolean;
  radioButton?: boolean;
  buttonValue?: unknown;
  exportValue?: unknown;
}

function fieldType(a: WidgetAnnotation): PdfField['type'] {
  if (a.fieldType === 'Tx') return 'text';
  if (a.fieldType === 'Ch') return 'choice';
  if (a.fieldType === 'Sig') return 'signature';
  return a.checkBox ? 'checkbox' : a.radioButton ? 'radio' : 'button';
}

/** The filled-in values of the page's form fields (AcroForm widgets), each field once. */
export async function pageFields(page: PDFPageProxy, number: number): Promise<PdfField[]> {
  const annotations = (await page.getAnnotations({ intent: 'display' })) as WidgetAnnotation[];
  const fields: PdfField[] = [];
  const seen = new Set<string>();
  for (const a of annotations) {
    if (a.subtype !== 'Widget' || typeof a.fieldName !== 'string') continue;
    const type = fieldType(a);
    let value: PdfField['value'];
    if (type === 'checkbox' || type === 'radio') {
      // The widget is on when the field's value is its own on state.
      const on = typeof a.exportValue === 'string' ? a.exportValue : typeof a.buttonValue === 'string' ? a.buttonValue : undefined;
      const v = typeof a.fieldValue === 'string' ? a.fieldValue : null;
      if (type === 'radio' && seen.has(a.fieldName) && v !== (a.buttonValue ?? on)) continue;
      value = v !== null && v !== 'Off' && (on === undefined || v === on || type === 'radio') ? v : null;
    } else if (Array.isArray(a.fieldValue)) {
      const chosen = a.fieldValue.filter((x): x is string => typeof x === 'string');
      value = chosen.length === 0 ? null : chosen.length === 1 ? chosen[0]! : chosen;
    } else {
      value = typeof a.fieldValue === 'string' && a.fieldValue !== '' ? a.fieldValue : null;
    }
    if (seen.has(a.fieldName)) {
      const earlier = fields.findIndex((f) => f.name === a.fieldName);
      if (earlier !== -1 && fields[earlier]!.value === null && value !== null) fields[earlier] = { name: a.fieldName, type, value, page: number };
      continue;
    }
    seen.add(a.fieldName);
    fields.push({ name: a.fieldName, type, value, page: number });
  }
  return fields;
}

/** The text a page's filled fields add to its text: text and choice values, one per line. */
export function fieldText(fields: readonly PdfField[]): string {
  return fields
    .filter((f) => f.type === 'text' || f.type === 'choice')
    .flatMap((f) => (Array.isArray(f.value) ? f.value : f.value === null ? [] : [f.value]))
    .map((v) => normaliseText(v.replace(/\r\n?/g, '\n')))
    .join('\n');
}
