/**
 * One page's text and images. Text comes from pdf.js's text content in content-stream order:
 * pdf.js already inserts a space where the gap between two runs is wide and marks line ends
 * (hasEOL), so a page's text is its runs joined, one line per hasEOL, trailing blanks dropped.
 */
import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';
import { loadPdfJs } from './document.js';

interface TextRun {
  str: string;
  hasEOL: boolean;
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
  let text = '';
  for (const item of items) {
    if (!isRun(item)) continue;
    text += item.str;
    if (item.hasEOL) text += '\n';
  }
  return text
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
