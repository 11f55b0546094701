/**
 * The built-in WASM extractor's algorithm (wasm/extractor/assembly/html.ts), written in plain
 * JavaScript on strings, as a JS developer would: runs of ordinary characters are sliced, not
 * copied one by one. The bench compares it with the WASM module, so its output must be the same
 * object; the bench checks that before it times anything, and so does a test.
 */

import { ENTITIES, isLetter, isSpace, isWordChar, K, matchesCloseTag, safeCodePoint, Sink, TAGS, urlEnd } from './extract-js-parts.js';

export interface Extracted {
  title: string | null;
  headings: Array<{ level: number; text: string }>;
  links: Array<{ href: string; text: string }>;
  text: string;
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
    const title = this.sawTitle && !this.title.empty ? this.title.value : (this.firstH1 ?? null);
    return { title, headings: this.headings, links: this.links, text: this.text.value };
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
    if (this.heading.empty) return;
    this.headings.push({ level, text: this.heading.value });
    if (level === 1 && this.firstH1 === undefined) this.firstH1 = this.heading.value;
  }

  closeLink(): void {
    this.inLink = false;
    this.links.push({ href: this.href, text: this.linkText.value });
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
