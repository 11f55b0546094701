/**
 * The built-in WASM extractor's algorithm (wasm/extractor/assembly/html.ts), written in plain
 * JavaScript on strings, as a JS developer would: runs of ordinary characters are sliced, not
 * copied one by one. The bench compares it with the WASM module, so its output must be the same
 * object; the bench checks that before it times anything, and so does a test.
 */

export interface Extracted {
  title: string | null;
  headings: Array<{ level: number; text: string }>;
  links: Array<{ href: string; text: string }>;
  text: string;
}

const ENTITIES: Record<string, number> = {
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

const enum K { Inline, Skip, Title, A, Heading, Pre, Br, Nav, Block1, Block2, Cell, Hr }

const TAGS = new Map<string, K>([
  ['a', K.A], ['p', K.Block2], ['br', K.Br], ['li', K.Block1], ['tr', K.Block1], ['dt', K.Block1], ['dd', K.Block1],
  ['ul', K.Block2], ['ol', K.Block2], ['dl', K.Block2], ['hr', K.Hr], ['td', K.Cell], ['th', K.Cell],
  ['div', K.Block1], ['pre', K.Pre], ['nav', K.Nav], ['svg', K.Skip], ['main', K.Block2], ['form', K.Block2],
  ['body', K.Block1], ['html', K.Block1], ['math', K.Skip], ['title', K.Title], ['style', K.Skip], ['table', K.Block2],
  ['aside', K.Block1], ['thead', K.Block1], ['tbody', K.Block1], ['tfoot', K.Block1],
  ...['script', 'iframe', 'object', 'canvas', 'select', 'noscript', 'template', 'textarea'].map((t) => [t, K.Skip] as [string, K]),
  ['figure', K.Block2], ...['header', 'footer', 'center', 'legend', 'option', 'summary', 'caption', 'figcaption'].map((t) => [t, K.Block1] as [string, K]),
  ...['article', 'section', 'details', 'address', 'fieldset', 'blockquote'].map((t) => [t, K.Block2] as [string, K]),
]);

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 9 || c === 13 || c === 12;
const isLetter = (c: number): boolean => ((c | 0x20) >= 97 && (c | 0x20) <= 122);

/** Whitespace-collapsing text, as TextSink in wasm/extractor/assembly/buffer.ts. */
class Sink {
  s = '';
  pendingSpace = false;
  pendingBreaks = 0;
  /** The last character written; reading it back from a long concatenated string would flatten it. */
  last = 0;
  constructor(readonly inline: boolean) {}

  reset(): void {
    this.s = '';
    this.pendingSpace = false;
    this.pendingBreaks = 0;
    this.last = 0;
  }

  flush(): void {
    if (this.s.length > 0) {
      if (this.pendingBreaks > 0 && !this.inline) {
        let have = 0;
        // Only preformatted text (or a reference like &#32;) can leave whitespace at the end.
        if (this.last === 32 || this.last === 9 || this.last === 10) {
          this.s = this.s.replace(/[ \t]+$/, '');
          while (have < 2 && have < this.s.length && this.s.charCodeAt(this.s.length - 1 - have) === 10) have++;
        }
        for (let i = have; i < this.pendingBreaks; i++) this.s += '\n';
        this.last = 10;
      } else if (this.pendingSpace || this.pendingBreaks > 0) {
        this.s += ' ';
        this.last = 32;
      }
    }
    this.pendingSpace = false;
    this.pendingBreaks = 0;
  }

  append(text: string): void {
    if (this.pendingSpace || this.pendingBreaks > 0) this.flush();
    this.s += text;
    this.last = text.charCodeAt(text.length - 1);
  }

  rawSpace(ch: string): void {
    if (this.pendingSpace || this.pendingBreaks > 0) this.flush();
    this.s += ch;
    this.last = ch.charCodeAt(0);
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

function matchesCloseTag(src: string, i: number, name: string): boolean {
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

function safeCodePoint(cp: number): number {
  return cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp;
}

const isWordChar = (c: number): boolean => isLetter(c) || (c >= 48 && c <= 57) || c === 95 || c >= 0x80;

function urlEnd(src: string, i: number): number {
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

export function extractJs(src: string, format: 'html' | 'text'): Extracted {
  return new Extraction(src).run(format);
}

class Extraction {
  readonly n: number;
  text = new Sink(false);
  title = new Sink(true);
  heading = new Sink(true);
  linkText = new Sink(true);
  href = '';
  headings: Extracted['headings'] = [];
  links: Extracted['links'] = [];
  firstH1: string | undefined;
  headingLevel = 0;
  inLink = false;
  sawTitle = false;
  preDepth = 0;
  navDepth = 0;
  blockDepth = 0;
  headingDepth = 0;
  linkDepth = 0;
  entityEnd = 0;

  constructor(readonly src: string) {
    this.n = src.length;
  }

  run(format: 'html' | 'text'): Extracted {
    if (format === 'text') this.plain();
    else this.html();
    const title = this.sawTitle && this.title.s.length > 0 ? this.title.s : (this.firstH1 ?? null);
    return { title, headings: this.headings, links: this.links, text: this.text.s };
  }

  emit(str: string): void {
    if (this.navDepth === 0) this.text.append(str);
    if (this.headingLevel !== 0) this.heading.append(str);
    if (this.inLink) this.linkText.append(str);
  }

  emitSpace(): void {
    this.text.space();
    this.heading.space();
    this.linkText.space();
  }

  emitBreak(n: number): void {
    this.text.brk(n);
    this.heading.space();
    this.linkText.space();
  }

  entity(i: number, end: number): number {
    const s = this.src;
    let j = i + 1;
    if (j < end && s.charCodeAt(j) === 35) {
      j++;
      let hex = false;
      if (j < end && (s.charCodeAt(j) | 0x20) === 120) {
        hex = true;
        j++;
      }
      const digits = j;
      let cp = 0;
      while (j < end && j - digits < 8) {
        const c = s.charCodeAt(j);
        let d = -1;
        if (c >= 48 && c <= 57) d = c - 48;
        else if (hex && (c | 0x20) >= 97 && (c | 0x20) <= 102) d = (c | 0x20) - 87;
        if (d < 0) break;
        cp = cp * (hex ? 16 : 10) + d;
        j++;
      }
      if (j === digits) return -1;
      if (j < end && s.charCodeAt(j) === 59) j++;
      this.entityEnd = j;
      return safeCodePoint(cp);
    }
    const start = j;
    while (j < end && j - start <= 8) {
      const c = s.charCodeAt(j);
      if (!(isLetter(c) || (c >= 48 && c <= 57))) break;
      j++;
    }
    if (j === start || j >= end || s.charCodeAt(j) !== 59) return -1;
    const cp = ENTITIES[s.slice(start, j)];
    if (cp === undefined) return -1;
    this.entityEnd = j + 1;
    return cp;
  }

  closeHeading(): void {
    const level = this.headingLevel;
    this.headingLevel = 0;
    if (this.heading.s.length === 0) return;
    this.headings.push({ level, text: this.heading.s });
    if (level === 1 && this.firstH1 === undefined) this.firstH1 = this.heading.s;
  }

  closeLink(): void {
    this.inLink = false;
    this.links.push({ href: this.href, text: this.linkText.s });
  }

  openBlock(): void {
    this.blockDepth++;
  }

  closeBlock(): void {
    if (this.blockDepth > 0) this.blockDepth--;
    if (this.inLink && this.blockDepth < this.linkDepth) this.closeLink();
    if (this.headingLevel !== 0 && this.blockDepth < this.headingDepth) this.closeHeading();
  }

  readHref(start: number, end: number): void {
    let out = '';
    let i = start;
    while (i < end) {
      const c = this.src.charCodeAt(i);
      if (c === 38) {
        const cp = this.entity(i, end);
        if (cp >= 0) {
          out += String.fromCodePoint(cp);
          i = this.entityEnd;
          continue;
        }
      }
      if (c !== 10 && c !== 13 && c !== 9) out += this.src[i];
      i++;
    }
    this.href = out.replace(/^ +| +$/g, '');
  }

  readTitle(from: number): number {
    const s = this.src;
    const keep = !this.sawTitle;
    this.sawTitle = true;
    let i = from;
    let cp = -1;
    while (i < this.n) {
      const c = s.charCodeAt(i);
      if (c === 60 && matchesCloseTag(s, i, 'title')) return i;
      if (!keep) {
        i++;
      } else if (isSpace(c)) {
        this.title.space();
        i++;
      } else if (c === 38 && (cp = this.entity(i, this.n)) >= 0) {
        if (cp === 160) this.title.space();
        else this.title.append(String.fromCodePoint(cp));
        i = this.entityEnd;
      } else {
        this.title.append(s[i]!);
        i++;
      }
    }
    return i;
  }

  skipPast(i: number, name: string): number {
    const s = this.src;
    for (; i < this.n; i++) {
      if (s.charCodeAt(i) === 60 && matchesCloseTag(s, i, name)) {
        const close = s.indexOf('>', i);
        return close < 0 ? this.n : close + 1;
      }
    }
    return this.n;
  }

  kindOf(name: string): { kind: K; level: number } {
    if (name.length === 2 && name[0] === 'h' && name[1]! >= '1' && name[1]! <= '6') return { kind: K.Heading, level: Number(name[1]) };
    return { kind: name.length > 16 ? K.Inline : (TAGS.get(name) ?? K.Inline), level: 0 };
  }

  start(kind: K, level: number): void {
    switch (kind) {
      case K.Block2: this.emitBreak(2); this.openBlock(); break;
      case K.Block1: this.emitBreak(1); this.openBlock(); break;
      case K.Hr: this.emitBreak(2); break;
      case K.Br: this.text.addBreak(); this.heading.space(); this.linkText.space(); break;
      case K.Cell: this.emitSpace(); break;
      case K.Heading:
        this.emitBreak(2);
        if (this.headingLevel !== 0) this.closeHeading();
        this.openBlock();
        this.headingLevel = level;
        this.headingDepth = this.blockDepth;
        this.heading.reset();
        break;
      case K.Pre: this.emitBreak(2); this.openBlock(); this.preDepth++; break;
      case K.Nav: this.emitBreak(1); this.openBlock(); this.navDepth++; break;
      default: break;
    }
  }

  end(kind: K): void {
    switch (kind) {
      case K.Block2: this.emitBreak(2); this.closeBlock(); break;
      case K.Block1: this.emitBreak(1); this.closeBlock(); break;
      case K.Hr: this.emitBreak(2); break;
      case K.Br: this.text.addBreak(); break;
      case K.Cell: this.emitSpace(); break;
      case K.Heading:
        this.emitBreak(2);
        if (this.headingLevel !== 0) this.closeHeading();
        this.closeBlock();
        break;
      case K.A: if (this.inLink) this.closeLink(); break;
      case K.Pre: this.emitBreak(2); if (this.preDepth > 0) this.preDepth--; this.closeBlock(); break;
      case K.Nav: if (this.navDepth > 0) this.navDepth--; this.emitBreak(1); this.closeBlock(); break;
      default: break;
    }
  }

  readName(j: number): { name: string; end: number } {
    const s = this.src;
    const start = j;
    while (j < this.n) {
      const c = s.charCodeAt(j);
      if (isSpace(c) || c === 47 || c === 62) break;
      j++;
    }
    return { name: s.slice(start, j).replace(/[A-Z]+/g, (m) => m.toLowerCase()), end: j };
  }

  startTag(i: number): number {
    const s = this.src;
    const { name, end } = this.readName(i + 1);
    const { kind, level } = this.kindOf(name);
    let j = end;
    let hrefStart = -1;
    let hrefEnd = -1;
    while (j < this.n) {
      let c = s.charCodeAt(j);
      if (c === 62) break;
      if (isSpace(c) || c === 47) {
        j++;
        continue;
      }
      const attrStart = j;
      while (j < this.n) {
        c = s.charCodeAt(j);
        if (isSpace(c) || c === 61 || c === 62 || c === 47) break;
        j++;
      }
      const attrEnd = j;
      while (j < this.n && isSpace(s.charCodeAt(j))) j++;
      if (j >= this.n || s.charCodeAt(j) !== 61) continue;
      j++;
      while (j < this.n && isSpace(s.charCodeAt(j))) j++;
      let vs = j;
      let ve = j;
      const q = s.charCodeAt(j);
      if (j < this.n && (q === 34 || q === 39)) {
        vs = ++j;
        while (j < this.n && s.charCodeAt(j) !== q) j++;
        ve = j;
        if (j < this.n) j++;
      } else {
        while (j < this.n && !isSpace(s.charCodeAt(j)) && s.charCodeAt(j) !== 62) j++;
        ve = j;
      }
      if (kind === K.A && hrefStart < 0 && attrEnd - attrStart === 4 && s.slice(attrStart, attrEnd).toLowerCase() === 'href') {
        hrefStart = vs;
        hrefEnd = ve;
      }
    }
    const after = j < this.n ? j + 1 : this.n;
    if (kind === K.Skip) return this.skipPast(after, name);
    if (kind === K.Title) return this.skipPast(this.readTitle(after), 'title');
    if (kind === K.A) {
      if (this.inLink) this.closeLink();
      if (hrefStart >= 0) {
        this.readHref(hrefStart, hrefEnd);
        this.linkText.reset();
        this.inLink = true;
        this.linkDepth = this.blockDepth;
      }
      return after;
    }
    this.start(kind, level);
    if (kind === K.Pre && after < this.n && s.charCodeAt(after) === 10) return after + 1;
    return after;
  }

  endTag(i: number): number {
    const { name, end } = this.readName(i + 2);
    const close = this.src.indexOf('>', end);
    this.end(this.kindOf(name).kind);
    return close < 0 ? this.n : close + 1;
  }

  skipMarkup(i: number): number {
    const s = this.src;
    if (s.startsWith('--', i + 2)) {
      const close = s.indexOf('-->', i + 4);
      return close < 0 ? this.n : close + 3;
    }
    const close = s.indexOf('>', i + 2);
    return close < 0 ? this.n : close + 1;
  }

  html(): void {
    const s = this.src;
    const n = this.n;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 60 && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (isLetter(d)) {
          i = this.startTag(i);
          continue;
        }
        if (d === 47 && i + 2 < n && isLetter(s.charCodeAt(i + 2))) {
          i = this.endTag(i);
          continue;
        }
        if (d === 33 || d === 63) {
          i = this.skipMarkup(i);
          continue;
        }
      }
      if (isSpace(c)) {
        if (this.preDepth > 0) {
          if (c !== 13) {
            if (this.navDepth === 0) this.text.rawSpace(s[i]!);
            this.heading.space();
            this.linkText.space();
          }
        } else {
          this.emitSpace();
        }
        i++;
      } else if (c === 38) {
        const cp = this.entity(i, n);
        if (cp < 0) {
          this.emit('&');
          i++;
        } else {
          if (cp === 160) this.emitSpace();
          else this.emit(String.fromCodePoint(cp));
          i = this.entityEnd;
        }
      } else {
        // A run of ordinary characters goes out as one slice.
        let j = i + 1;
        while (j < n) {
          const e = s.charCodeAt(j);
          if (e === 60 || e === 38 || isSpace(e)) break;
          j++;
        }
        this.emit(s.slice(i, j));
        i = j;
      }
    }
    if (this.headingLevel !== 0) this.closeHeading();
    if (this.inLink) this.closeLink();
  }

  plain(): void {
    const s = this.src;
    const n = this.n;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) {
        let newlines = 0;
        while (i < n && isSpace(s.charCodeAt(i))) {
          if (s.charCodeAt(i) === 10) newlines++;
          i++;
        }
        if (newlines >= 2) this.text.brk(2);
        else if (newlines === 1) this.text.brk(1);
        else this.text.space();
        continue;
      }
      if (c === 104 && (i === 0 || !isWordChar(s.charCodeAt(i - 1)))) {
        const end = urlEnd(s, i);
        if (end > i) {
          const url = s.slice(i, end);
          this.links.push({ href: url, text: url });
          this.text.append(url);
          i = end;
          continue;
        }
      }
      let j = i + 1;
      while (j < n && !isSpace(s.charCodeAt(j)) && s.charCodeAt(j) !== 104) j++;
      this.text.append(s.slice(i, j));
      i = j;
    }
  }
}
