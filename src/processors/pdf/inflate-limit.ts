/**
 * A bound on what a PDF's compressed streams inflate to, checked before pdf.js opens the file.
 *
 * Why here: pdf.js inflates a content stream into one growing Uint8Array, outside the V8 heap
 * (so --max-memory-mb does not bound it), in one synchronous run that nothing in the thread can
 * interrupt. A 2.9 MB file whose content stream is 990 MB of zeros took a supervisor to 3.6 GB.
 * So the streams are counted first, with zlib's streaming inflate (native, and its output is
 * counted and dropped, never kept), and a document over the limit is refused with
 * PDF_TOO_LARGE_INFLATED before pdf.js allocates anything.
 *
 * What is counted: every stream whose first filter is FlateDecode or LZWDecode, decoded for
 * real; further filters of a chain (and RunLengthDecode) by the most they can expand. Images are
 * left out when the job decodes no images (pdf.js does not read them for text). Encrypted
 * documents are not counted (their streams are ciphertext until pdf.js decrypts them): the
 * supervisor's --max-rss-mb watchdog is their bound.
 *
 * Cost: when even the deflate maximum (1032:1) of every stream fits the limit, nothing is
 * inflated; otherwise each stream is inflated once by zlib, several times faster than pdf.js's
 * own inflate.
 */
import { constants, createInflate, inflateSync } from 'node:zlib';
import { PdfError, PdfErrorCode } from './errors.js';

/** The most one byte of input can become: deflate's own maximum, LZW's with 12-bit codes (4096 bytes per 9-bit code), run-length's. */
const EXPANSION: Record<string, number> = { FlateDecode: 1032, LZWDecode: 3641, RunLengthDecode: 64 };
/** Filters that never grow their data (ASCIIHex halves it, ASCII85 takes 5 bytes to 4); image codecs are bounded by pdf.js's maxImageSize. */
const SHRINKING = new Set(['ASCIIHexDecode', 'ASCII85Decode', 'DCTDecode', 'JPXDecode', 'JBIG2Decode', 'CCITTFaxDecode', 'Crypt']);
const ABBREVIATIONS: Record<string, string> = { Fl: 'FlateDecode', LZW: 'LZWDecode', RL: 'RunLengthDecode', AHx: 'ASCIIHexDecode', A85: 'ASCII85Decode', DCT: 'DCTDecode', CCF: 'CCITTFaxDecode' };
/** A stream whose worst case is at most this is inflated in one synchronous call (its output is that small). */
const SYNC_INFLATE_BYTES = 8 * 1024 * 1024;

export interface InflateLimit {
  /** The most bytes the document's streams may inflate to, all together. */
  bytes: number;
  /** How the limit was set, for the error message. */
  explain: string;
}

export interface InflateCount {
  /** Bytes the counted streams inflate to (at least; counting stops past the limit). */
  inflatedBytes: number;
  streams: number;
  /** Nothing was inflated: the worst case of every stream fit. */
  bounded: boolean;
  /** The document is encrypted: not counted. */
  encrypted: boolean;
}

export interface StreamRef {
  /** Offset of the stream's first data byte. */
  start: number;
  /** Offset just past its last data byte. */
  end: number;
  filters: string[];
  image: boolean;
}

const mib = (n: number) => `${Math.round((n / 1048576) * 10) / 10} MiB`;

/** min(maxInflatedBytes, max(floor, ratio × the document's size)): a small file may not inflate to a huge one. */
export function inflateLimit(documentBytes: number, maxInflatedBytes: number, maxInflateRatio: number, floorBytes: number): InflateLimit {
  const byRatio = Math.max(floorBytes, documentBytes * maxInflateRatio);
  if (byRatio < maxInflatedBytes) {
    return {
      bytes: byRatio,
      explain:
        `the limit for a document of ${documentBytes} bytes is ${maxInflateRatio} times its size (maxInflateRatio), and never less than ${mib(floorBytes)}. ` +
        `If this document is expected, raise data.maxInflateRatio (or TROUPE_PDF_MAX_INFLATE_RATIO)`,
    };
  }
  return {
    bytes: maxInflatedBytes,
    explain: `the limit is maxInflatedBytes (${maxInflatedBytes}). If this document is expected, raise data.maxInflatedBytes (or TROUPE_PDF_MAX_INFLATED_BYTES)`,
  };
}

function filterNames(dict: string): string[] {
  const m = /\/Filter\s*(\[[^\]]*\]|\/[A-Za-z0-9]+)/.exec(dict);
  if (!m) return [];
  return [...m[1]!.matchAll(/\/([A-Za-z0-9]+)/g)].map((f) => ABBREVIATIONS[f[1]!] ?? f[1]!);
}

/** Offset of the `<<` that opens the dictionary whose `>>` ends just before `close`. */
function dictionaryStart(text: string, close: number): number {
  let depth = 0;
  for (let i = close; i > 0; i--) {
    if (text[i] === '>' && text[i - 1] === '>') {
      depth += 1;
      i -= 1;
    } else if (text[i] === '<' && text[i - 1] === '<') {
      depth -= 1;
      i -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/**
 * Every stream of the file, found in its bytes (not through the cross-reference table, which a
 * damaged file lacks and pdf.js then rebuilds by this same scan). Object streams hold no
 * streams, so every stream's dictionary is in plain sight.
 */
export function findStreams(bytes: Uint8Array): StreamRef[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const streams: StreamRef[] = [];
  let at = 0;
  for (;;) {
    const keyword = text.indexOf('stream', at);
    if (keyword === -1) break;
    at = keyword + 6;
    let close = keyword - 1;
    while (close > 0 && /\s/.test(text[close]!)) close--;
    if (text[close] !== '>' || text[close - 1] !== '>') continue; // "endstream", or the word inside data
    const open = dictionaryStart(text, close);
    if (open === -1) continue;
    const dict = text.slice(open, close + 1);
    let start = at;
    if (text[start] === '\r') start++;
    if (text[start] === '\n') start++;
    const length = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(dict);
    let end = length ? start + Number(length[1]) : -1;
    if (end < start || end > text.length || text.indexOf('endstream', end) - end > 4) {
      // An indirect or wrong /Length: the data ends at the next endstream, as pdf.js finds it.
      end = text.indexOf('endstream', start);
      if (end === -1) end = text.length;
    }
    streams.push({ start, end, filters: filterNames(dict), image: /\/Subtype\s*\/Image\b/.test(dict) });
    at = Math.max(at, end);
  }
  return streams;
}

/** The most the filters after the first can multiply their input by (1 for none or shrinking ones). */
function laterExpansion(filters: readonly string[]): number {
  let factor = 1;
  for (const f of filters.slice(1)) factor *= EXPANSION[f] ?? (SHRINKING.has(f) ? 1 : 1032);
  return factor;
}

const isPdfSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x00;

/** ASCII85Decode, as far as the data is valid (a bad character ends it, as pdf.js stops there too). */
export function ascii85Decode(data: Uint8Array): Uint8Array {
  // Five characters give four bytes, and "z" alone gives four: size the output from the count of "z".
  let zeros = 0;
  for (let i = 0; i < data.byteLength; i++) if (data[i] === 0x7a) zeros += 1;
  const out = new Uint8Array(zeros * 4 + Math.ceil(((data.byteLength - zeros) * 4) / 5) + 4);
  let n = 0;
  let group = 0;
  let count = 0;
  for (let i = 0; i < data.byteLength; i++) {
    const c = data[i]!;
    if (isPdfSpace(c)) continue;
    if (c === 0x7e) break; // "~>" ends the data
    if (c === 0x7a && count === 0) {
      n += 4; // "z": four zero bytes, already zero in `out`
      continue;
    }
    if (c < 0x21 || c > 0x75) break;
    group = group * 85 + (c - 0x21);
    if (++count === 5) {
      out[n++] = (group >>> 24) & 0xff;
      out[n++] = (group >>> 16) & 0xff;
      out[n++] = (group >>> 8) & 0xff;
      out[n++] = group & 0xff;
      group = 0;
      count = 0;
    }
  }
  if (count > 1) {
    // A final partial group is padded with "u" (84); it gives count - 1 bytes.
    for (let k = count; k < 5; k++) group = group * 85 + 84;
    for (let k = 0; k < count - 1; k++) out[n++] = (group >>> (24 - 8 * k)) & 0xff;
  }
  return out.subarray(0, n);
}

/** ASCIIHexDecode: pairs of hex digits, white space ignored, ">" ends it, an odd last digit is followed by 0. */
export function asciiHexDecode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 2));
  let n = 0;
  let high = -1;
  for (let i = 0; i < data.byteLength; i++) {
    const c = data[i]!;
    if (isPdfSpace(c)) continue;
    if (c === 0x3e) break;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit === -1) break;
    if (high === -1) high = digit;
    else {
      out[n++] = (high << 4) | digit;
      high = -1;
    }
  }
  if (high !== -1) out[n++] = high << 4;
  return out.subarray(0, n);
}

/** Bytes an LZW stream decodes to, from its code lengths alone (no output is built). */
export function lzwDecodedLength(data: Uint8Array, earlyChange = 1): number {
  const lengths = new Uint16Array(4097);
  let next = 258;
  let bits = 9;
  let prev = -1;
  let total = 0;
  let buffer = 0;
  let held = 0;
  for (let i = 0; i < data.length; i++) {
    buffer = ((buffer << 8) | data[i]!) >>> 0;
    held += 8;
    while (held >= bits) {
      const code = (buffer >>> (held - bits)) & ((1 << bits) - 1);
      held -= bits;
      buffer &= (1 << held) - 1;
      if (code === 256) {
        next = 258;
        bits = 9;
        prev = -1;
        continue;
      }
      if (code === 257) return total;
      let length: number;
      if (code < 256) length = 1;
      else if (code < next) length = lengths[code]!;
      else if (code === next && prev !== -1) length = (prev < 256 ? 1 : lengths[prev]!) + 1;
      else return total; // a bad code: pdf.js stops there too
      total += length;
      if (prev !== -1 && next < 4096) {
        lengths[next] = (prev < 256 ? 1 : lengths[prev]!) + 1;
        next += 1;
      }
      if (next + earlyChange >= 1 << bits && bits < 12) bits += 1;
      prev = code;
    }
  }
  return total;
}

/** Inflated size of one Flate stream, counting output and keeping none; stops once past `budget`. */
async function inflatedLength(data: Uint8Array, budget: number): Promise<number> {
  // Damaged data is inflated as far as it goes, as pdf.js does: what came out is counted.
  const options = { finishFlush: constants.Z_SYNC_FLUSH };
  if (data.byteLength * EXPANSION.FlateDecode! <= SYNC_INFLATE_BYTES) {
    try {
      return inflateSync(data, options).byteLength;
    } catch {
      return 0;
    }
  }
  return new Promise((resolve) => {
    const inflate = createInflate({ ...options, chunkSize: 256 * 1024 });
    let total = 0;
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > budget) {
        inflate.destroy();
        resolve(total);
      }
    });
    inflate.on('error', () => resolve(total));
    inflate.on('end', () => resolve(total));
    inflate.on('close', () => resolve(total));
    inflate.end(data);
  });
}

/**
 * Counts what the document's streams inflate to and throws PDF_TOO_LARGE_INFLATED past the limit.
 * `withImages`: the job decodes images, so image streams count too.
 */
export async function checkInflatedSize(bytes: Uint8Array, limit: InflateLimit, withImages: boolean, signal?: AbortSignal): Promise<InflateCount> {
  const tooLarge = (at: number, streams: number): never => {
    throw new PdfError(
      PdfErrorCode.TooLargeInflated,
      `pdf: the document's compressed streams inflate to more than ${limit.bytes} bytes (${mib(limit.bytes)}; at least ${at} bytes in ${streams} streams), ` +
        `which is what a decompression bomb does; ${limit.explain}`,
    );
  };
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const encrypted = head.lastIndexOf('/Encrypt', undefined, 'latin1') !== -1;
  const streams = findStreams(bytes).filter((s) => withImages || !s.image);
  if (encrypted) return { inflatedBytes: 0, streams: streams.length, bounded: false, encrypted };

  const worst = (s: StreamRef) => (s.end - s.start) * (EXPANSION[s.filters[0] ?? ''] ?? 1) * laterExpansion(s.filters);
  if (streams.reduce((sum, s) => sum + worst(s), 0) <= limit.bytes) {
    return { inflatedBytes: 0, streams: streams.length, bounded: true, encrypted };
  }
  let total = 0;
  let counted = 0;
  for (const stream of streams) {
    signal?.throwIfAborted();
    // ReportLab and others write [/ASCII85Decode /FlateDecode]: decode the text encoding (it only
    // shrinks) so the deflate data under it is counted for real, not by deflate's worst case,
    // which refused a 560 KB, 134-page manual as a 107 MiB bomb.
    let { filters } = stream;
    let data: Uint8Array = bytes.subarray(stream.start, stream.end);
    while (filters[0] === 'ASCII85Decode' || filters[0] === 'ASCIIHexDecode') {
      data = filters[0] === 'ASCII85Decode' ? ascii85Decode(data) : asciiHexDecode(data);
      filters = filters.slice(1);
    }
    const first = filters[0];
    let size: number;
    if (first === 'FlateDecode') size = await inflatedLength(data, (limit.bytes - total) / laterExpansion(filters));
    else if (first === 'LZWDecode') size = lzwDecodedLength(data);
    else size = data.byteLength * (EXPANSION[first ?? ''] ?? 1);
    total += size * laterExpansion(filters);
    counted += 1;
    if (total > limit.bytes) tooLarge(total, counted);
  }
  return { inflatedBytes: total, streams: streams.length, bounded: false, encrypted };
}
