// What the extractor collects while the scanner (html.ts) reads: the readable text, the title,
// headings and links, and the block structure that decides where text breaks and where an
// unclosed heading or link ends. output() writes it all as the module's JSON.

import { ByteBuf, TextSink } from "./buffer";
import { jsonString } from "./scan";
import { K_A, K_BLOCK1, K_BLOCK2, K_BR, K_CELL, K_HEADING, K_HR, K_NAV, K_PRE, KIND_MASK } from "./tags";

export class Doc {
  /** The readable text, and the inline text of the title, the open heading and the open link. */
  text: TextSink;
  title: TextSink;
  heading: TextSink;
  linkText: TextSink;
  href: ByteBuf;
  headings: ByteBuf;
  links: ByteBuf;
  firstH1: ByteBuf;
  headingCount: i32 = 0;
  linkCount: i32 = 0;
  headingLevel: i32 = 0;
  inLink: bool = false;
  sawTitle: bool = false;
  haveH1: bool = false;
  preDepth: i32 = 0;
  navDepth: i32 = 0;
  /**
   * Open block elements. A heading or link left unclosed ends when a block that was open before
   * it closes (</li>, </ul>, </div>), so one missing </a> does not swallow the rest of the page,
   * while a link wrapping whole blocks (<a><div>...</div></a>, common for cards) stays whole.
   */
  blockDepth: i32 = 0;
  headingDepth: i32 = 0;
  linkDepth: i32 = 0;

  constructor(n: i32) {
    this.text = new TextSink(n + 16, false);
    this.title = new TextSink(128, true);
    this.heading = new TextSink(256, true);
    this.linkText = new TextSink(256, true);
    this.href = new ByteBuf(256);
    this.headings = new ByteBuf(1024);
    this.links = new ByteBuf(4096);
    this.firstH1 = new ByteBuf(128);
  }

  emitByte(b: u32): void {
    if (this.navDepth == 0) this.text.byte(b);
    if (this.headingLevel != 0) this.heading.byte(b);
    if (this.inLink) this.linkText.byte(b);
  }

  emitSpace(): void {
    this.text.space();
    this.heading.space();
    this.linkText.space();
  }

  emitBreak(n: i32): void {
    this.text.brk(n);
    this.heading.space();
    this.linkText.space();
  }

  emitCodePoint(cp: u32): void {
    if (cp == 160) {
      this.emitSpace(); // a no-break space reads as a space; keeping U+00A0 only confuses consumers
    } else if (cp < 0x80) {
      this.emitByte(cp);
    } else if (cp < 0x800) {
      this.emitByte(0xc0 | (cp >> 6));
      this.emitByte(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      this.emitByte(0xe0 | (cp >> 12));
      this.emitByte(0x80 | ((cp >> 6) & 0x3f));
      this.emitByte(0x80 | (cp & 0x3f));
    } else {
      this.emitByte(0xf0 | (cp >> 18));
      this.emitByte(0x80 | ((cp >> 12) & 0x3f));
      this.emitByte(0x80 | ((cp >> 6) & 0x3f));
      this.emitByte(0x80 | (cp & 0x3f));
    }
  }

  closeHeading(): void {
    const level = this.headingLevel;
    this.headingLevel = 0;
    if (this.heading.isEmpty()) return;
    if (this.headingCount++ > 0) this.headings.push(44);
    this.headings.ascii('{"level":');
    this.headings.decimal(level);
    this.headings.ascii(',"text":');
    jsonString(this.headings, this.heading.buf);
    this.headings.push(125);
    if (level == 1 && !this.haveH1) {
      this.haveH1 = true;
      this.firstH1.appendBuf(this.heading.buf);
    }
  }

  closeLink(): void {
    this.inLink = false;
    if (this.linkCount++ > 0) this.links.push(44);
    this.links.ascii('{"href":');
    jsonString(this.links, this.href);
    this.links.ascii(',"text":');
    jsonString(this.links, this.linkText.buf);
    this.links.push(125);
  }

  openLink(): void {
    this.linkText.reset();
    this.inLink = true;
    this.linkDepth = this.blockDepth;
  }

  openBlock(): void {
    this.blockDepth++;
  }

  closeBlock(): void {
    if (this.blockDepth > 0) this.blockDepth--;
    if (this.inLink && this.blockDepth < this.linkDepth) this.closeLink();
    if (this.headingLevel != 0 && this.blockDepth < this.headingDepth) this.closeHeading();
  }

  start(kind: i32): void {
    switch (kind & KIND_MASK) {
      case K_BLOCK2:
        this.emitBreak(2);
        this.openBlock();
        break;
      case K_BLOCK1:
        this.emitBreak(1);
        this.openBlock();
        break;
      case K_HR:
        this.emitBreak(2);
        break;
      case K_BR:
        this.text.addBreak();
        this.heading.space();
        this.linkText.space();
        break;
      case K_CELL:
        this.emitSpace();
        break;
      case K_HEADING:
        this.emitBreak(2);
        // A heading inside a heading is not allowed: HTML closes the first one.
        if (this.headingLevel != 0) this.closeHeading();
        this.openBlock();
        this.headingLevel = kind >> 8;
        this.headingDepth = this.blockDepth;
        this.heading.reset();
        break;
      case K_PRE:
        this.emitBreak(2);
        this.openBlock();
        this.preDepth++;
        break;
      case K_NAV:
        this.emitBreak(1);
        this.openBlock();
        this.navDepth++;
        break;
    }
  }

  end(kind: i32): void {
    switch (kind & KIND_MASK) {
      case K_BLOCK2:
        this.emitBreak(2);
        this.closeBlock();
        break;
      case K_BLOCK1:
        this.emitBreak(1);
        this.closeBlock();
        break;
      case K_HR:
        this.emitBreak(2);
        break;
      case K_BR:
        this.text.addBreak();
        break;
      case K_CELL:
        this.emitSpace();
        break;
      case K_HEADING:
        this.emitBreak(2);
        if (this.headingLevel != 0) this.closeHeading();
        this.closeBlock();
        break;
      case K_A:
        if (this.inLink) this.closeLink();
        break;
      case K_PRE:
        this.emitBreak(2);
        if (this.preDepth > 0) this.preDepth--;
        this.closeBlock();
        break;
      case K_NAV:
        if (this.navDepth > 0) this.navDepth--;
        this.emitBreak(1);
        this.closeBlock();
        break;
    }
  }

  /** {"title":...,"headings":[...],"links":[...],"text":"..."} */
  output(): ByteBuf {
    const out = new ByteBuf(this.text.buf.len + (this.text.buf.len >> 4) + this.headings.len + this.links.len + this.title.buf.len + 64);
    out.ascii('{"title":');
    if (this.sawTitle && !this.title.isEmpty()) jsonString(out, this.title.buf);
    else if (this.haveH1) jsonString(out, this.firstH1);
    else out.ascii("null");
    out.ascii(',"headings":[');
    out.appendBuf(this.headings);
    out.ascii('],"links":[');
    out.appendBuf(this.links);
    out.ascii('],"text":');
    jsonString(out, this.text.buf);
    out.push(125);
    return out;
  }
}
