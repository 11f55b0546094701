// Tag names to kinds. The scanner lowercases a tag's name into nameBuf and asks classify()
// what the tag does to the text; unknown tags are inline and only their text counts.

import { isSpace, lower } from "./scan";

// Tag kinds; headings carry their level in the bits above KIND_MASK.
export const K_INLINE = 0;
export const K_SKIP = 1; // contents never shown: skip to the matching end tag
export const K_TITLE = 2;
export const K_A = 3;
export const K_HEADING = 4;
export const K_PRE = 5;
export const K_BR = 6;
export const K_NAV = 7;
export const K_BLOCK1 = 8; // a line break before and after
export const K_BLOCK2 = 9; // a paragraph break before and after
export const K_CELL = 10; // table cells: a space between them
export const K_HR = 11; // a void block: a paragraph break, nothing to close
export const KIND_MASK = 0xff;

export const NAME_MAX = 16;

/** Lowercased name of the tag being read; names longer than NAME_MAX are never known tags. */
let nameBuf: usize = 0;
let nameLen: i32 = 0;

function nameIs(s: string): bool {
  if (s.length != nameLen) return false;
  for (let i = 0; i < nameLen; i++) {
    if (<u32>load<u8>(nameBuf + <usize>i) != <u32>s.charCodeAt(i)) return false;
  }
  return true;
}

export function classify(): i32 {
  if (nameLen == 0 || nameLen > NAME_MAX) return K_INLINE;
  const c0 = <u32>load<u8>(nameBuf);
  if (nameLen == 2 && c0 == 104) {
    const c1 = <u32>load<u8>(nameBuf + 1);
    if (c1 >= 49 && c1 <= 54) return K_HEADING | (<i32>(c1 - 48) << 8);
  }
  switch (nameLen) {
    case 1:
      if (c0 == 97) return K_A;
      if (c0 == 112) return K_BLOCK2;
      return K_INLINE;
    case 2:
      if (nameIs("br")) return K_BR;
      if (nameIs("li") || nameIs("tr") || nameIs("dt") || nameIs("dd")) return K_BLOCK1;
      if (nameIs("ul") || nameIs("ol") || nameIs("dl")) return K_BLOCK2;
      if (nameIs("hr")) return K_HR;
      if (nameIs("td") || nameIs("th")) return K_CELL;
      return K_INLINE;
    case 3:
      if (nameIs("div")) return K_BLOCK1;
      if (nameIs("pre")) return K_PRE;
      if (nameIs("nav")) return K_NAV;
      if (nameIs("svg")) return K_SKIP;
      return K_INLINE;
    case 4:
      if (nameIs("main") || nameIs("form")) return K_BLOCK2;
      if (nameIs("body") || nameIs("html")) return K_BLOCK1;
      if (nameIs("math")) return K_SKIP;
      return K_INLINE;
    case 5:
      if (nameIs("title")) return K_TITLE;
      if (nameIs("style")) return K_SKIP;
      if (nameIs("table")) return K_BLOCK2;
      if (nameIs("aside") || nameIs("thead") || nameIs("tbody") || nameIs("tfoot")) return K_BLOCK1;
      return K_INLINE;
    case 6:
      if (nameIs("script") || nameIs("iframe") || nameIs("object") || nameIs("canvas") || nameIs("select")) return K_SKIP;
      if (nameIs("figure")) return K_BLOCK2;
      if (nameIs("header") || nameIs("footer") || nameIs("center") || nameIs("legend") || nameIs("option")) return K_BLOCK1;
      return K_INLINE;
    case 7:
      if (nameIs("article") || nameIs("section") || nameIs("details") || nameIs("address")) return K_BLOCK2;
      if (nameIs("summary") || nameIs("caption")) return K_BLOCK1;
      return K_INLINE;
    case 8:
      if (nameIs("noscript") || nameIs("template") || nameIs("textarea")) return K_SKIP;
      if (nameIs("fieldset")) return K_BLOCK2;
      return K_INLINE;
    case 10:
      if (nameIs("blockquote")) return K_BLOCK2;
      if (nameIs("figcaption")) return K_BLOCK1;
      return K_INLINE;
  }
  return K_INLINE;
}

/** The name of a K_SKIP tag, to find its end tag. */
export function skipName(): string {
  if (nameIs("script")) return "script";
  if (nameIs("style")) return "style";
  if (nameIs("svg")) return "svg";
  if (nameIs("math")) return "math";
  if (nameIs("iframe")) return "iframe";
  if (nameIs("object")) return "object";
  if (nameIs("canvas")) return "canvas";
  if (nameIs("select")) return "select";
  if (nameIs("noscript")) return "noscript";
  if (nameIs("template")) return "template";
  return "textarea";
}

/** Reads a tag name from j (lowercased into nameBuf); returns the index just past it. */
export function readTagName(base: usize, n: i32, j: i32): i32 {
  nameLen = 0;
  while (j < n) {
    const c = <u32>load<u8>(base + <usize>j);
    if (isSpace(c) || c == 47 || c == 62) break;
    if (nameLen < NAME_MAX + 1) store<u8>(nameBuf + <usize>nameLen, <u8>lower(c));
    nameLen++;
    j++;
  }
  return j;
}

export function allocNameBuf(): void {
  if (nameBuf == 0) nameBuf = heap.alloc(NAME_MAX + 1);
}
