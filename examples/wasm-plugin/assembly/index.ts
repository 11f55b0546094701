// An AssemblyScript module that follows Troupe's WebAssembly ABI (docs/wasm-abi.md): the host
// writes the input into memory from alloc(), calls extract(), and reads UTF-8 JSON from
// output_ptr()/output_len(). This one finds the most frequent words of a text.

const STOP_WORDS: StaticArray<string> = ["the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "was", "with", "that", "this", "from", "have"];
const TOP = 5;

let outPtr: usize = 0;
let outLen: i32 = 0;
// Module-level state is safe: the host gives every job a fresh instance. (A global, too,
// because AssemblyScript has no closures for the sort comparator below.)
const counts = new Map<string, i32>();

export function alloc(len: i32): usize {
  return heap.alloc(<usize>max(len, 1));
}

function isWordChar(c: i32): bool {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c > 127;
}

/** Returns 0 with JSON output, or 1 with a message when the input is refused. */
export function extract(ptr: usize, len: i32, format: i32): i32 {
  // Strings are the easy way in AssemblyScript; the built-in extractor works on bytes for speed.
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len).toLowerCase();
  let total = 0;
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const inWord = i < text.length && isWordChar(text.charCodeAt(i));
    if (inWord && start < 0) start = i;
    if (!inWord && start >= 0) {
      const word = text.substring(start, i);
      total++;
      if (word.length >= 3 && !STOP_WORDS.includes(word)) counts.set(word, counts.has(word) ? counts.get(word) + 1 : 1);
      start = -1;
    }
  }
  const words = counts.keys();
  words.sort((a: string, b: string): i32 => {
    const d = counts.get(b) - counts.get(a);
    return d != 0 ? d : (a < b ? -1 : a > b ? 1 : 0);
  });
  // Words hold only letters and digits, so they need no JSON escaping.
  let json = '{"words":' + total.toString() + ',"top":[';
  for (let i = 0; i < min(TOP, words.length); i++) {
    if (i > 0) json += ",";
    json += '{"word":"' + words[i] + '","count":' + counts.get(words[i]).toString() + "}";
  }
  json += "]}";
  const out = String.UTF8.encode(json);
  outPtr = changetype<usize>(out);
  outLen = out.byteLength;
  return 0;
}

export function output_ptr(): usize {
  return outPtr;
}

export function output_len(): i32 {
  return outLen;
}
