/**
 * Pieces of the plain-JS extractor (extract-js.ts): the tables, the whitespace-collapsing text
 * sink and the small scanners, each the counterpart of one in wasm/extractor/assembly.
 */

export const ENTITIES: Record<string, number> = {
  amp: 38, lt: 60, gt: 62, quot: 34, apos: 39, nbsp: 160, copy: 169, reg: 174, trade: 8482, hellip: 8230, mdash: 8212, ndash: 8211,
  lsquo: 8216, rsquo: 8217, sbquo: 8218, ldquo: 8220, rdquo: 8221, bdquo: 8222, laquo: 171, raquo: 187, lsaquo: 8249, rsaquo: 8250,
  bull: 8226, middot: 183, prime: 8242, Prime: 8243, dagger: 8224, Dagger: 8225, permil: 8240, euro: 8364, pound: 163, yen: 165, cent: 162,
  curren: 164, sect: 167, para: 182, deg: 176, plusmn: 177, times: 215, divide: 247, frac12: 189, frac14: 188, frac34: 190,
  sup1: 185, sup2: 178, sup3: 179, micro: 181, not: 172, shy: 173, macr: 175, acute: 180, cedil: 184, ordf: 170, ordm: 186, iexcl: 161,
  iquest: 191, brvbar: 166, uml: 168, ensp: 8194, emsp: 8195, thinsp: 8201, zwnj: 8204, zwj: 8205, lrm: 8206, rlm: 8207, minus: 8722, larr: 8592,
  rarr: 8594, uarr: 8593, darr: 8595, harr: 8596, check: 10003, hearts: 9829, star: 9734,
  Agrave: 192, Aacute: 193, Acirc: 194, Atilde: 195, Auml: 196, Aring: 197, AElig: 198, Ccedil: 199, Egrave: 200, Eacute: 201,
  Ecirc: 202, Euml: 203, Igrave: 204, Iacute: 205, Icirc: 206, Iuml: 207, ETH: 208, Ntilde: 209, Ograve: 210, Oacute: 211, Ocirc: 212,
  Otilde: 213, Ouml: 214, Oslash: 216, Ugrave: 217, Uacute: 218, Ucirc: 219, Uuml: 220, Yacute: 221, THORN: 222, szlig: 223,
  agrave: 224, aacute: 225, acirc: 226, atilde: 227, auml: 228, aring: 229, aelig: 230, ccedil: 231, egrave: 232, eacute: 233,
  ecirc: 234, euml: 235, igrave: 236, iacute: 237, icirc: 238, iuml: 239, eth: 240, ntilde: 241, ograve: 242, oacute: 243, ocirc: 244,
  otilde: 245, ouml: 246, oslash: 248, ugrave: 249, uacute: 250, ucirc: 251, uuml: 252, yacute: 253, thorn: 254, yuml: 255,
  OElig: 338, oelig: 339, Scaron: 352, scaron: 353, Yuml: 376, fnof: 402, circ: 710, tilde: 732,
  Alpha: 913, Beta: 914, Gamma: 915, Delta: 916, alpha: 945, beta: 946, gamma: 947, delta: 948, epsilon: 949, lambda: 955, mu: 956,
  pi: 960, sigma: 963, omega: 969, Omega: 937, infin: 8734, ne: 8800, le: 8804, ge: 8805, asymp: 8776, sum: 8721, radic: 8730,
};

export const K = { Inline: 0, Skip: 1, Title: 2, A: 3, Heading: 4, Pre: 5, Br: 6, Nav: 7, Block1: 8, Block2: 9, Cell: 10, Hr: 11 } as const;
export type K = (typeof K)[keyof typeof K];

export const TAGS = new Map<string, K>([
  ['a', K.A], ['p', K.Block2], ['br', K.Br], ['li', K.Block1], ['tr', K.Block1], ['dt', K.Block1], ['dd', K.Block1],
  ['ul', K.Block2], ['ol', K.Block2], ['dl', K.Block2], ['hr', K.Hr], ['td', K.Cell], ['th', K.Cell],
  ['div', K.Block1], ['pre', K.Pre], ['nav', K.Nav], ['svg', K.Skip], ['main', K.Block2], ['form', K.Block2],
  ['body', K.Block1], ['html', K.Block1], ['math', K.Skip], ['title', K.Title], ['style', K.Skip], ['table', K.Block2],
  ['aside', K.Block1], ['thead', K.Block1], ['tbody', K.Block1], ['tfoot', K.Block1],
  ...['script', 'iframe', 'object', 'canvas', 'select', 'noscript', 'template', 'textarea'].map((t) => [t, K.Skip] as [string, K]),
  ['figure', K.Block2], ...['header', 'footer', 'center', 'legend', 'option', 'summary', 'caption', 'figcaption'].map((t) => [t, K.Block1] as [string, K]),
  ...['article', 'section', 'details', 'address', 'fieldset', 'blockquote'].map((t) => [t, K.Block2] as [string, K]),
]);

export const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 9 || c === 13 || c === 12;
export const isLetter = (c: number): boolean => ((c | 0x20) >= 97 && (c | 0x20) <= 122);

/**
 * Whitespace-collapsing text, as TextSink in wasm/extractor/assembly/buffer.ts. The module can
 * trim whitespace off the end of its byte buffer in place; a JS string cannot be trimmed without
 * copying it, so trailing whitespace waits in `tail` until a visible character commits it or a
 * break trims it. The result is the same text.
 */
export class Sink {
  s = '';
  /** Whitespace after the last visible character (only spaces, tabs and newlines). */
  tail = '';
  pendingSpace = false;
  pendingBreaks = 0;
  constructor(readonly inline: boolean) {}

  get value(): string {
    return this.s + this.tail;
  }

  get empty(): boolean {
    return this.s.length === 0 && this.tail.length === 0;
  }

  reset(): void {
    this.s = '';
    this.tail = '';
    this.pendingSpace = false;
    this.pendingBreaks = 0;
  }

  flush(): void {
    if (!this.empty) {
      if (this.pendingBreaks > 0 && !this.inline) {
        // Lines never end in spaces, and newlines already written count towards the break.
        this.tail = this.tail.replace(/[ \t]+$/, '');
        let have = 0;
        while (have < 2 && have < this.tail.length && this.tail.charCodeAt(this.tail.length - 1 - have) === 10) have++;
        for (let i = have; i < this.pendingBreaks; i++) this.tail += '\n';
      } else if (this.pendingSpace || this.pendingBreaks > 0) {
        this.tail += ' ';
      }
    }
    this.pendingSpace = false;
    this.pendingBreaks = 0;
  }

  append(text: string): void {
    if (this.pendingSpace || this.pendingBreaks > 0) this.flush();
    if (text === ' ' || text === '\t' || text === '\n') {
      this.tail += text; // a reference such as &#32; writes whitespace that a break may trim
    } else {
      this.s += this.tail + text;
      this.tail = '';
    }
  }

  /** Preformatted whitespace, written as it is. */
  rawSpace(ch: string): void {
    this.append(ch);
  }

  space(): void {
    this.pendingSpace = true;
  }

  brk(n: number): void {
    if (n > this.pendingBreaks) this.pendingBreaks = n;
  }

  addBreak(): void {
    if (this.pendingBreaks < 2) this.pendingBreaks++;
  }
}

export function matchesCloseTag(src: string, i: number, name: string): boolean {
  const n = src.length;
  if (i + 2 + name.length > n || src.charCodeAt(i + 1) !== 47) return false;
  for (let k = 0; k < name.length; k++) {
    let c = src.charCodeAt(i + 2 + k);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== name.charCodeAt(k)) return false;
  }
  if (i + 2 + name.length === n) return true;
  const after = src.charCodeAt(i + 2 + name.length);
  return isSpace(after) || after === 47 || after === 62;
}

export function safeCodePoint(cp: number): number {
  return cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp;
}

export const isWordChar = (c: number): boolean => isLetter(c) || (c >= 48 && c <= 57) || c === 95 || c >= 0x80;

export function urlEnd(src: string, i: number): number {
  if (!src.startsWith('http', i)) return i;
  let j = i + 4;
  if (src.charCodeAt(j) === 115) j++;
  if (!src.startsWith('://', j)) return i;
  j += 3;
  const hostStart = j;
  while (j < src.length) {
    const c = src.charCodeAt(j);
    if (isSpace(c) || c === 60 || c === 62 || c === 34 || c === 39 || c < 32) break;
    j++;
  }
  while (j > hostStart && '.,;:!?)]'.includes(src[j - 1]!)) j--;
  return j > hostStart ? j : i;
}
