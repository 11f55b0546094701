// Growable byte buffers and a whitespace-collapsing text writer, on raw memory.
//
// The runtime is AssemblyScript's stub (a bump allocator that never frees): every job gets a
// fresh instance, so nothing needs freeing, and the extractor works on UTF-8 bytes instead of
// strings so memory stays a small multiple of the input.

export class ByteBuf {
  ptr: usize;
  len: i32 = 0;
  cap: i32;

  constructor(cap: i32) {
    this.cap = cap < 16 ? 16 : cap;
    this.ptr = heap.alloc(<usize>this.cap);
  }

  @inline ensure(extra: i32): void {
    if (this.len + extra > this.cap) this.grow(extra);
  }

  grow(extra: i32): void {
    let cap = this.cap << 1;
    while (cap < this.len + extra) cap <<= 1;
    this.ptr = heap.realloc(this.ptr, <usize>cap);
    this.cap = cap;
  }

  @inline push(b: u32): void {
    this.ensure(1);
    store<u8>(this.ptr + <usize>this.len, <u8>b);
    this.len++;
  }

  append(src: usize, n: i32): void {
    if (n <= 0) return;
    this.ensure(n);
    memory.copy(this.ptr + <usize>this.len, src, <usize>n);
    this.len += n;
  }

  appendBuf(other: ByteBuf): void {
    this.append(other.ptr, other.len);
  }

  /** An ASCII string literal (names, JSON punctuation). */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    for (let i = 0; i < n; i++) store<u8>(this.ptr + <usize>(this.len + i), <u8>s.charCodeAt(i));
    this.len += n;
  }

  /** A code point as UTF-8. */
  codePoint(cp: u32): void {
    if (cp < 0x80) {
      this.push(cp);
    } else if (cp < 0x800) {
      this.push(0xc0 | (cp >> 6));
      this.push(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      this.push(0xe0 | (cp >> 12));
      this.push(0x80 | ((cp >> 6) & 0x3f));
      this.push(0x80 | (cp & 0x3f));
    } else {
      this.push(0xf0 | (cp >> 18));
      this.push(0x80 | ((cp >> 12) & 0x3f));
      this.push(0x80 | ((cp >> 6) & 0x3f));
      this.push(0x80 | (cp & 0x3f));
    }
  }

  decimal(n: i32): void {
    if (n >= 10) this.decimal(n / 10);
    this.push(<u32>(48 + (n % 10)));
  }
}

/**
 * Writes text with whitespace collapsed the way a reader sees it: runs of spaces become one
 * space, block boundaries become one or two newlines, and nothing leads or trails. Breaks and
 * spaces are held back until the next visible byte, so a trailing run is simply never written.
 * An inline sink (title, heading, link text) turns breaks into spaces.
 */
export class TextSink {
  buf: ByteBuf;
  inline: bool;
  pendingSpace: bool = false;
  pendingBreaks: i32 = 0;

  constructor(cap: i32, inline: bool) {
    this.buf = new ByteBuf(cap);
    this.inline = inline;
  }

  reset(): void {
    this.buf.len = 0;
    this.pendingSpace = false;
    this.pendingBreaks = 0;
  }

  @inline space(): void {
    this.pendingSpace = true;
  }

  @inline brk(n: i32): void {
    if (n > this.pendingBreaks) this.pendingBreaks = n;
  }

  flush(): void {
    if (this.buf.len > 0) {
      if (this.pendingBreaks > 0 && !this.inline) {
        // Preformatted text may already end in whitespace: lines never end in spaces, and the
        // newlines already there count towards the break.
        const b = this.buf;
        while (b.len > 0 && (load<u8>(b.ptr + <usize>(b.len - 1)) == 32 || load<u8>(b.ptr + <usize>(b.len - 1)) == 9)) b.len--;
        let have = 0;
        while (have < b.len && have < 2 && load<u8>(b.ptr + <usize>(b.len - 1 - have)) == 10) have++;
        for (let i = have; i < this.pendingBreaks; i++) b.push(10);
      } else if (this.pendingSpace || this.pendingBreaks > 0) {
        this.buf.push(32);
      }
    }
    this.pendingSpace = false;
    this.pendingBreaks = 0;
  }

  @inline byte(b: u32): void {
    if (this.pendingSpace || this.pendingBreaks > 0) this.flush();
    this.buf.push(b);
  }

  codePoint(cp: u32): void {
    if (this.pendingSpace || this.pendingBreaks > 0) this.flush();
    this.buf.codePoint(cp);
  }

  /** <br> adds a line break to any already held, up to a blank line. */
  addBreak(): void {
    if (this.pendingBreaks < 2) this.pendingBreaks++;
  }

  isEmpty(): bool {
    return this.buf.len == 0;
  }
}
