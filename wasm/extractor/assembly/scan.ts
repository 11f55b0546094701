// Byte-level helpers shared by the HTML and text scanners.

import { ByteBuf } from "./buffer";

/** HTML whitespace: space, tab, line feed, form feed, carriage return. */
export function isSpace(c: u32): bool {
  return c == 32 || c == 10 || c == 9 || c == 13 || c == 12;
}

export function lower(c: u32): u32 {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}

/** Whether `</name` (any case) followed by whitespace, '/' or '>' starts at i. */
export function matchesCloseTag(base: usize, n: i32, i: i32, name: string): bool {
  const len = name.length;
  if (i + 2 + len > n) return false;
  if (load<u8>(base + <usize>(i + 1)) != 47) return false;
  for (let k = 0; k < len; k++) {
    if (lower(<u32>load<u8>(base + <usize>(i + 2 + k))) != <u32>name.charCodeAt(k)) return false;
  }
  if (i + 2 + len == n) return true;
  const after = <u32>load<u8>(base + <usize>(i + 2 + len));
  return isSpace(after) || after == 47 || after == 62;
}

export function isWordByte(c: u32): bool {
  const l = c | 0x20;
  return (l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c == 95 || c >= 0x80;
}

/** End of an http:// or https:// URL starting at i, without trailing punctuation; i if none. */
export function urlEnd(base: usize, n: i32, i: i32): i32 {
  let j = i;
  const prefix = "http";
  for (let k = 0; k < 4; k++) {
    if (j >= n || <u32>load<u8>(base + <usize>j) != <u32>prefix.charCodeAt(k)) return i;
    j++;
  }
  if (j < n && load<u8>(base + <usize>j) == 115) j++;
  if (j + 3 > n || load<u8>(base + <usize>j) != 58 || load<u8>(base + <usize>(j + 1)) != 47 || load<u8>(base + <usize>(j + 2)) != 47) return i;
  j += 3;
  const hostStart = j;
  while (j < n) {
    const c = <u32>load<u8>(base + <usize>j);
    if (isSpace(c) || c == 60 || c == 62 || c == 34 || c == 39 || c < 32) break;
    j++;
  }
  while (j > hostStart) {
    const c = <u32>load<u8>(base + <usize>(j - 1));
    if (c == 46 || c == 44 || c == 59 || c == 58 || c == 33 || c == 63 || c == 41 || c == 93) j--;
    else break;
  }
  return j > hostStart ? j : i;
}

const HEX = "0123456789abcdef";

/** Writes `src` as a JSON string: quotes, backslashes and control bytes escaped, UTF-8 as is. */
export function jsonString(out: ByteBuf, src: ByteBuf): void {
  out.ensure(src.len + 2);
  out.push(34);
  const p = src.ptr;
  const n = src.len;
  let runStart = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c >= 32 && c != 34 && c != 92) continue;
    out.append(p + <usize>runStart, i - runStart);
    runStart = i + 1;
    out.push(92);
    if (c == 34 || c == 92) out.push(c);
    else if (c == 10) out.push(110);
    else if (c == 9) out.push(116);
    else if (c == 13) out.push(114);
    else {
      out.ascii("u00");
      out.push(<u32>HEX.charCodeAt(<i32>(c >> 4)));
      out.push(<u32>HEX.charCodeAt(<i32>(c & 15)));
    }
  }
  out.append(p + <usize>runStart, n - runStart);
  out.push(34);
}

/** Whether the 4 bytes at p spell "href" in any case. */
export function isHref(p: usize): bool {
  return lower(<u32>load<u8>(p)) == 104 && lower(<u32>load<u8>(p + 1)) == 114 && lower(<u32>load<u8>(p + 2)) == 101 && lower(<u32>load<u8>(p + 3)) == 102;
}
