// Character references: numeric (&#233; &#xE9;) and the named ones real pages use. HTML has
// 2,231 names; this table holds the common ones, and an unknown name is kept as written, which
// is what a reader would rather see than a silently dropped word.

const NAMES: StaticArray<string> = [
  "amp", "lt", "gt", "quot", "apos", "nbsp", "copy", "reg", "trade", "hellip", "mdash", "ndash",
  "lsquo", "rsquo", "sbquo", "ldquo", "rdquo", "bdquo", "laquo", "raquo", "lsaquo", "rsaquo",
  "bull", "middot", "prime", "Prime", "dagger", "Dagger", "permil", "euro", "pound", "yen", "cent",
  "curren", "sect", "para", "deg", "plusmn", "times", "divide", "frac12", "frac14", "frac34",
  "sup1", "sup2", "sup3", "micro", "not", "shy", "macr", "acute", "cedil", "ordf", "ordm", "iexcl",
  "iquest", "brvbar", "uml", "ensp", "emsp", "thinsp", "zwnj", "zwj", "lrm", "rlm", "minus", "larr",
  "rarr", "uarr", "darr", "harr", "check", "hearts", "star",
  "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
  "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc",
  "Otilde", "Ouml", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig",
  "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave", "eacute",
  "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc",
  "otilde", "ouml", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
  "OElig", "oelig", "Scaron", "scaron", "Yuml", "fnof", "circ", "tilde",
  "Alpha", "Beta", "Gamma", "Delta", "alpha", "beta", "gamma", "delta", "epsilon", "lambda", "mu",
  "pi", "sigma", "omega", "Omega", "infin", "ne", "le", "ge", "asymp", "sum", "radic",
];

const CODES: StaticArray<u32> = [
  38, 60, 62, 34, 39, 160, 169, 174, 8482, 8230, 8212, 8211,
  8216, 8217, 8218, 8220, 8221, 8222, 171, 187, 8249, 8250,
  8226, 183, 8242, 8243, 8224, 8225, 8240, 8364, 163, 165, 162,
  164, 167, 182, 176, 177, 215, 247, 189, 188, 190,
  185, 178, 179, 181, 172, 173, 175, 180, 184, 170, 186, 161,
  191, 166, 168, 8194, 8195, 8201, 8204, 8205, 8206, 8207, 8722, 8592,
  8594, 8593, 8595, 8596, 10003, 9829, 9734,
  192, 193, 194, 195, 196, 197, 198, 199, 200, 201,
  202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212,
  213, 214, 216, 217, 218, 219, 220, 221, 222, 223,
  224, 225, 226, 227, 228, 229, 230, 231, 232, 233,
  234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244,
  245, 246, 248, 249, 250, 251, 252, 253, 254, 255,
  338, 339, 352, 353, 376, 402, 710, 732,
  913, 914, 915, 916, 945, 946, 947, 948, 949, 955, 956,
  960, 963, 969, 937, 8734, 8800, 8804, 8805, 8776, 8721, 8730,
];

/** The code point of the name at [ptr, ptr+len), or -1 when it is not in the table. */
export function namedEntity(ptr: usize, len: i32): i32 {
  for (let k = 0; k < NAMES.length; k++) {
    const name = unchecked(NAMES[k]);
    if (name.length != len) continue;
    let same = true;
    for (let i = 0; i < len; i++) {
      if (<u32>load<u8>(ptr + <usize>i) != <u32>name.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return <i32>unchecked(CODES[k]);
  }
  return -1;
}

/** Code points a numeric reference may not produce are read as U+FFFD, as browsers do. */
export function safeCodePoint(cp: u32): u32 {
  if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0xfffd;
  return cp;
}
