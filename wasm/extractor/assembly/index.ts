// Troupe's built-in extractor, following docs/wasm-abi.md: the host allocates the input with
// alloc(), calls extract(), then reads UTF-8 JSON from output_ptr()/output_len().

import { ByteBuf } from "./buffer";
import { extract as run } from "./html";

/** Input formats the host passes to extract(). */
const FORMAT_HTML = 0;
const FORMAT_TEXT = 1;

let outPtr: usize = 0;
let outLen: i32 = 0;

export function alloc(len: i32): usize {
  const size: i32 = len > 0 ? len : 1;
  return heap.alloc(<usize>size);
}

/** 0: output is the JSON result. 1: the input was refused and output is a UTF-8 message. */
export function extract(ptr: usize, len: i32, format: i32): i32 {
  if (format != FORMAT_HTML && format != FORMAT_TEXT) {
    const msg = new ByteBuf(64);
    msg.ascii("unknown input format ");
    msg.decimal(format);
    msg.ascii(" (0 = HTML, 1 = plain text)");
    outPtr = msg.ptr;
    outLen = msg.len;
    return 1;
  }
  const out = run(ptr, len, format == FORMAT_TEXT);
  outPtr = out.ptr;
  outLen = out.len;
  return 0;
}

export function output_ptr(): usize {
  return outPtr;
}

export function output_len(): i32 {
  return outLen;
}
