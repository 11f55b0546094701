/**
 * Text as a search index or a reader wants it, whatever the producer did to draw it:
 * - right-to-left lines in logical order: producers such as Chromium (Skia) draw Arabic and
 *   Hebrew glyph by glyph from left to right, so the runs of a line come in visual order;
 * - presentation forms (Arabic contextual shapes, Latin ligatures such as "ﬁ", CJK radicals) as the
 *   letters they stand for (NFKC on those blocks only, where it loses nothing a search needs);
 * - accents composed: a spacing accent drawn before or after its letter (Distiller's "ˇC") becomes
 *   the precomposed letter ("Č") when Unicode has one, and combining sequences are NFC.
 */

export interface Run {
  str: string;
  /** pdf.js's direction of the run: ltr, rtl or ttb. */
  dir?: string;
  /** Where the run starts on the page, its width and font size (points), when known. */
  x?: number;
  width?: number;
  size?: number;
}

/** A gap wider than this share of the font size between two right-to-left glyphs is a word space. */
const SPACE_GAP = 0.15;

const RTL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]/u;
const LTR_STRONG = /[\p{L}\p{Nd}]/u;
const RTL_GLOBAL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]/gu;

function strongLtrCount(s: string): number {
  let n = 0;
  for (const c of s) if (LTR_STRONG.test(c) && !RTL.test(c)) n++;
  return n;
}

type Kind = 'rtl' | 'ltr' | 'neutral';

function kindOf(run: Run): Kind {
  if (RTL.test(run.str)) return 'rtl';
  if (strongLtrCount(run.str) > 0) return 'ltr';
  return 'neutral';
}

/** Reverses each maximal stretch of `kind` runs (with the neutral runs between them) in place. */
function reverseStretches(runs: Run[], kinds: Kind[], kind: Kind): Run[] {
  const out: Run[] = [];
  let i = 0;
  while (i < runs.length) {
    if (kinds[i] !== kind) {
      out.push(runs[i]!);
      i++;
      continue;
    }
    let end = i;
    for (let j = i + 1; j < runs.length; j++) {
      if (kinds[j] === kind) end = j;
      else if (kinds[j] !== 'neutral') break;
    }
    for (let j = end; j >= i; j--) out.push(runs[j]!);
    i = end + 1;
  }
  return out;
}

/**
 * One line's runs, in the order pdf.js found them (visual for Chromium's right-to-left text),
 * joined in logical order. pdf.js already puts the characters inside one run in logical order;
 * what is left is the order of the runs. A line with more right-to-left letters than others is a
 * right-to-left paragraph: its runs are reversed, except stretches of left-to-right runs (Latin
 * words, numbers), which keep their order. In a left-to-right line only the right-to-left
 * stretches are reversed. Lines without right-to-left letters are left exactly as they were.
 */
export function logicalLine(input: readonly Run[]): string {
  const text = input.map((r) => r.str).join('');
  if (!RTL.test(text)) return text;
  const rtlRuns = input.filter((r) => RTL.test(r.str) && r.x !== undefined);
  // Drawn right to left (cairo, LibreOffice): content order is logical order already, but such
  // producers draw no space glyphs, so the spaces are the gaps between glyphs.
  if (rtlRuns.length > 1 && rtlRuns[rtlRuns.length - 1]!.x! < rtlRuns[0]!.x!) return withGapSpaces(input).map((r) => r.str).join('');
  const runs = input;
  const kinds = runs.map(kindOf);
  const rtlLetters = (text.match(RTL_GLOBAL) ?? []).length;
  // Digits are weak in Unicode's bidi: they keep their own order but do not set the paragraph's.
  const ltrLetters = [...text].filter((c) => /\p{L}/u.test(c) && !RTL.test(c)).length;
  const rtlParagraph = rtlLetters > ltrLetters;
  const list = [...runs];
  if (!rtlParagraph) return reverseStretches(list, kinds, 'rtl').map((r) => r.str).join('');
  // Reverse the whole line, then put each left-to-right stretch back in its own order.
  const reversed = list.reverse();
  const reversedKinds = [...kinds].reverse();
  return reverseStretches(reversed, reversedKinds, 'ltr')
    .map((r) => r.str)
    .join('');
}

/** A space run between two right-to-left runs drawn right to left with a word-sized gap between them. */
function withGapSpaces(runs: readonly Run[]): Run[] {
  const out: Run[] = [];
  for (const run of runs) {
    const prev = out[out.length - 1];
    if (prev && RTL.test(prev.str) && RTL.test(run.str) && !/\s$/.test(prev.str) && !/^\s/.test(run.str)) {
      const size = run.size ?? prev.size ?? 0;
      const gap = (prev.x ?? 0) - ((run.x ?? 0) + (run.width ?? 0));
      if (size > 0 && gap > size * SPACE_GAP) out.push({ str: ' ' });
    }
    out.push(run);
  }
  return out;
}

/**
 * Alphabetic presentation forms (Latin ligatures, Hebrew), Arabic presentation forms A and B, and
 * the CJK radical and compatibility blocks that some fonts map ideographs to (Chromium's Noto CJK
 * gives "⽇" U+2F47 for "日"). Full-width forms are left alone: "：" is the text, not a shape.
 */
const PRESENTATION = /[\u2e80-\u2fdf\uf900-\ufaff\ufb00-\ufdff\ufe70-\ufeff]+/gu;

/** Spacing accents as producers draw them, and the combining marks they stand for. */
const SPACING_ACCENTS: Record<string, string> = {
  '\u00b4': '\u0301', // acute
  '\u02cb': '\u0300', // grave (modifier letter; the ASCII backtick is left alone: code uses it)
  '\u00a8': '\u0308', // diaeresis
  '\u02c6': '\u0302', // circumflex
  '\u02dc': '\u0303', // tilde
  '\u00b8': '\u0327', // cedilla
  '\u02da': '\u030a', // ring
  '\u02d8': '\u0306', // breve
  '\u02d9': '\u0307', // dot above
  '\u02dd': '\u030b', // double acute
  '\u02db': '\u0328', // ogonek
  '\u02c7': '\u030c', // caron
  '\u00af': '\u0304', // macron
};
const ACCENT_CLASS = `[${Object.keys(SPACING_ACCENTS).join('')}]`;
const ACCENT_BEFORE = new RegExp(`(${ACCENT_CLASS})(\\p{L})`, 'gu');
const ACCENT_AFTER = new RegExp(`(\\p{L})(${ACCENT_CLASS})`, 'gu');

/** The precomposed letter, or undefined when Unicode has none (then the text is left as it was). */
function composed(letter: string, accent: string): string | undefined {
  const c = (letter + SPACING_ACCENTS[accent]!).normalize('NFC');
  return [...c].length === 1 ? c : undefined;
}

export function normaliseText(text: string): string {
  let out = text.replace(PRESENTATION, (forms) => forms.normalize('NFKC'));
  if (/[\u00a8\u00af\u00b4\u00b8\u02c6-\u02dd]/u.test(out)) {
    out = out.replace(ACCENT_BEFORE, (whole, accent: string, letter: string) => composed(letter, accent) ?? whole);
    out = out.replace(ACCENT_AFTER, (whole, letter: string, accent: string) => composed(letter, accent) ?? whole);
  }
  if (/[\u0300-\u036f]/u.test(out)) out = out.normalize('NFC');
  return out;
}
