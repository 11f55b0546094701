// HTML (or plain text) to readable text, title, headings and links, in one pass over UTF-8 bytes.
//
// This is a tolerant scanner, not a spec parser: it never fails on malformed markup, it skips
// what a reader never sees (scripts, styles, templates, inline SVG, comments), and it turns
// block boundaries into line breaks. bench/lib/extract-js.ts is the same algorithm in plain
// JavaScript; the two must stay in step (test/processors-wasm.test.ts compares them).

import { ByteBuf } from "./buffer";
import { Doc } from "./doc";
import { namedEntity, safeCodePoint } from "./entities";
import { isHref, isSpace, isWordByte, matchesCloseTag, urlEnd } from "./scan";
import {
  allocNameBuf, classify, readTagName, skipName, K_A, K_PRE, K_SKIP, K_TITLE, KIND_MASK,
} from "./tags";

class Scanner {
  base: usize;
  n: i32;
  doc: Doc;
  /** Where a character reference read by entity() ended. */
  entityEnd: i32 = 0;

  constructor(base: usize, n: i32) {
    this.base = base;
    this.n = n;
    this.doc = new Doc(n);
  }

  @inline at(i: i32): u32 {
    return <u32>load<u8>(this.base + <usize>i);
  }

  /** Reads a character reference at i (an '&'), up to `end`; -1 when it is not one. */
  entity(i: i32, end: i32): i32 {
    let j = i + 1;
    if (j < end && this.at(j) == 35) {
      j++;
      let hex = false;
      if (j < end && (this.at(j) | 0x20) == 120) {
        hex = true;
        j++;
      }
      const digits = j;
      let cp: u32 = 0;
      while (j < end && j - digits < 8) {
        const c = this.at(j);
        let d: i32 = -1;
        if (c >= 48 && c <= 57) d = <i32>c - 48;
        else if (hex && (c | 0x20) >= 97 && (c | 0x20) <= 102) d = <i32>(c | 0x20) - 87;
        if (d < 0) break;
        cp = cp * (hex ? 16 : 10) + <u32>d;
        j++;
      }
      if (j == digits) return -1;
      if (j < end && this.at(j) == 59) j++;
      this.entityEnd = j;
      return <i32>safeCodePoint(cp);
    }
    const start = j;
    while (j < end && j - start <= 8) {
      const c = this.at(j) | 0x20;
      if (!((c >= 97 && c <= 122) || (this.at(j) >= 48 && this.at(j) <= 57))) break;
      j++;
    }
    if (j == start || j >= end || this.at(j) != 59) return -1;
    const cp = namedEntity(this.base + <usize>start, j - start);
    if (cp < 0) return -1;
    this.entityEnd = j + 1;
    return cp;
  }

  /** Copies an attribute value, decoding references and dropping the whitespace URLs ignore. */
  readHref(start: i32, end: i32): void {
    this.doc.href.len = 0;
    let i = start;
    while (i < end) {
      const c = this.at(i);
      if (c == 38) {
        const cp = this.entity(i, end);
        if (cp >= 0) {
          this.doc.href.codePoint(<u32>cp);
          i = this.entityEnd;
          continue;
        }
      }
      if (c != 10 && c != 13 && c != 9) this.doc.href.push(c);
      i++;
    }
    while (this.doc.href.len > 0 && load<u8>(this.doc.href.ptr + <usize>(this.doc.href.len - 1)) == 32) this.doc.href.len--;
    let lead = 0;
    while (lead < this.doc.href.len && load<u8>(this.doc.href.ptr + <usize>lead) == 32) lead++;
    if (lead > 0) {
      memory.copy(this.doc.href.ptr, this.doc.href.ptr + <usize>lead, <usize>(this.doc.href.len - lead));
      this.doc.href.len -= lead;
    }
  }

  /** Text until `</title`, references decoded, into the title (the first title only). */
  readTitle(from: i32): i32 {
    let i = from;
    const keep = !this.doc.sawTitle;
    this.doc.sawTitle = true;
    while (i < this.n) {
      const c = this.at(i);
      if (c == 60 && matchesCloseTag(this.base, this.n, i, "title")) return i;
      if (!keep) {
        i++;
        continue;
      }
      if (isSpace(c)) {
        this.doc.title.space();
      } else if (c == 38) {
        const cp = this.entity(i, this.n);
        if (cp >= 0) {
          if (cp == 160) this.doc.title.space();
          else this.doc.title.codePoint(<u32>cp);
          i = this.entityEnd;
          continue;
        }
        this.doc.title.byte(c);
      } else {
        this.doc.title.byte(c);
      }
      i++;
    }
    return i;
  }

  /** Index just past the end tag `</name ...>` from i on, or n when it never comes. */
  skipPast(i: i32, name: string): i32 {
    while (i < this.n) {
      if (this.at(i) == 60 && matchesCloseTag(this.base, this.n, i, name)) {
        while (i < this.n && this.at(i) != 62) i++;
        return i < this.n ? i + 1 : this.n;
      }
      i++;
    }
    return this.n;
  }

  /** A start tag at i ('<' then a letter); returns where scanning resumes. */
  startTag(i: i32): i32 {
    let j = readTagName(this.base, this.n, i + 1);
    const kind = classify();
    const k = kind & KIND_MASK;
    let hrefStart = -1;
    let hrefEnd = -1;
    // Attributes: name, then optionally = and a quoted or bare value, until '>'.
    while (j < this.n) {
      let c = this.at(j);
      if (c == 62) break;
      if (isSpace(c) || c == 47) {
        j++;
        continue;
      }
      const attrStart = j;
      while (j < this.n) {
        c = this.at(j);
        if (isSpace(c) || c == 61 || c == 62 || c == 47) break;
        j++;
      }
      const attrLen = j - attrStart;
      while (j < this.n && isSpace(this.at(j))) j++;
      if (j >= this.n || this.at(j) != 61) continue;
      j++;
      while (j < this.n && isSpace(this.at(j))) j++;
      let vs = j;
      let ve = j;
      if (j < this.n && (this.at(j) == 34 || this.at(j) == 39)) {
        const q = this.at(j);
        vs = ++j;
        while (j < this.n && this.at(j) != q) j++;
        ve = j;
        if (j < this.n) j++;
      } else {
        while (j < this.n && !isSpace(this.at(j)) && this.at(j) != 62) j++;
        ve = j;
      }
      if (k == K_A && attrLen == 4 && hrefStart < 0 && isHref(this.base + <usize>attrStart)) {
        hrefStart = vs;
        hrefEnd = ve;
      }
    }
    const after = j < this.n ? j + 1 : this.n;
    if (k == K_SKIP) {
      return this.skipPast(after, skipName());
    }
    if (k == K_TITLE) {
      return this.skipPast(this.readTitle(after), "title");
    }
    if (k == K_A) {
      if (this.doc.inLink) this.doc.closeLink();
      if (hrefStart >= 0) {
        this.readHref(hrefStart, hrefEnd);
        this.doc.openLink();
      }
      return after;
    }
    this.doc.start(kind);
    // A newline straight after <pre> is not content (HTML drops it too).
    if (k == K_PRE && after < this.n && this.at(after) == 10) return after + 1;
    return after;
  }

  endTag(i: i32): i32 {
    let j = readTagName(this.base, this.n, i + 2);
    while (j < this.n && this.at(j) != 62) j++;
    this.doc.end(classify());
    return j < this.n ? j + 1 : this.n;
  }

  /** Comments, doctypes and processing instructions: skipped whole. */
  skipMarkup(i: i32): i32 {
    if (i + 3 < this.n && this.at(i + 2) == 45 && this.at(i + 3) == 45) {
      let j = i + 4;
      while (j + 2 < this.n) {
        if (this.at(j) == 45 && this.at(j + 1) == 45 && this.at(j + 2) == 62) return j + 3;
        j++;
      }
      return this.n;
    }
    let j = i + 2;
    while (j < this.n && this.at(j) != 62) j++;
    return j < this.n ? j + 1 : this.n;
  }

  html(): void {
    let i = 0;
    const n = this.n;
    while (i < n) {
      const c = this.at(i);
      if (c == 60 && i + 1 < n) {
        const d = this.at(i + 1);
        const dl = d | 0x20;
        if (dl >= 97 && dl <= 122) {
          i = this.startTag(i);
          continue;
        }
        if (d == 47 && i + 2 < n && (this.at(i + 2) | 0x20) >= 97 && (this.at(i + 2) | 0x20) <= 122) {
          i = this.endTag(i);
          continue;
        }
        if (d == 33 || d == 63) {
          i = this.skipMarkup(i);
          continue;
        }
      }
      if (isSpace(c)) {
        if (this.doc.preDepth > 0) {
          if (c != 13) {
            if (this.doc.navDepth == 0) this.doc.text.byte(c);
            this.doc.heading.space();
            this.doc.linkText.space();
          }
        } else {
          this.doc.emitSpace();
        }
        i++;
      } else if (c == 38) {
        const cp = this.entity(i, n);
        if (cp >= 0) {
          this.doc.emitCodePoint(<u32>cp);
          i = this.entityEnd;
        } else {
          this.doc.emitByte(c);
          i++;
        }
      } else {
        this.doc.emitByte(c);
        i++;
      }
    }
    if (this.doc.headingLevel != 0) this.doc.closeHeading();
    if (this.doc.inLink) this.doc.closeLink();
  }

  /** Plain text: whitespace collapsed, blank lines kept as paragraph breaks, bare URLs as links. */
  plain(): void {
    let i = 0;
    const n = this.n;
    while (i < n) {
      const c = this.at(i);
      if (isSpace(c)) {
        let newlines = 0;
        while (i < n && isSpace(this.at(i))) {
          if (this.at(i) == 10) newlines++;
          i++;
        }
        if (newlines >= 2) this.doc.text.brk(2);
        else if (newlines == 1) this.doc.text.brk(1);
        else this.doc.text.space();
        continue;
      }
      if (c == 104 && (i == 0 || !isWordByte(this.at(i - 1)))) {
        const end = urlEnd(this.base, n, i);
        if (end > i) {
          this.doc.href.len = 0;
          this.doc.href.append(this.base + <usize>i, end - i);
          this.doc.linkText.reset();
          this.doc.linkText.buf.append(this.base + <usize>i, end - i);
          this.doc.closeLink();
          for (let k = i; k < end; k++) this.doc.text.byte(this.at(k));
          i = end;
          continue;
        }
      }
      this.doc.text.byte(c);
      i++;
    }
  }
}

export function extract(base: usize, n: i32, plainText: bool): ByteBuf {
  allocNameBuf();
  const x = new Scanner(base, n);
  if (plainText) x.plain();
  else x.html();
  return x.doc.output();
}
