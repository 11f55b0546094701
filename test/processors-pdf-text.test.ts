/**
 * Text order and form values (issue 19): right-to-left lines in logical order from producers that
 * draw them in either order, word spaces where the producer drew none, presentation forms,
 * ligatures and CJK radicals as letters, spacing accents composed, and filled form fields.
 * The fixtures in fixtures/pdf/scripts are printed from text written there (make.sh).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { PdfResult } from '../src/processors/pdf/index.js';
import { logicalLine, normaliseText } from '../src/processors/pdf/text-order.js';
import { makeFilledForm } from './fixtures/pdf/form.js';
import { makePdfPool } from './fixtures/pdf/pool.js';
import { job, runJobs, type Pool } from './fixtures/threads/pool.js';

const SCRIPTS = new URL('./fixtures/pdf/scripts/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, SCRIPTS));

let pool: Pool;
before(() => {
  pool = makePdfPool();
});
after(async () => {
  await pool.destroy();
});

async function extract(data: unknown): Promise<PdfResult> {
  const { outcomes } = await runJobs(pool, [job('pdf', data)]);
  const outcome = outcomes[0]!;
  if (outcome.status !== 'completed') throw new Error(JSON.stringify(outcome.error));
  return outcome.result as PdfResult;
}

/** The source's lines: the <p> elements of scripts.html, the <text> elements of rtl.svg. */
function sourceLines(name: string, tag: string): string[] {
  const text = readFileSync(new URL(name, SCRIPTS), 'utf8');
  return [...text.matchAll(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]!);
}

test('Chromium draws Arabic and Hebrew left to right in presentation forms: the text comes out as written', async () => {
  const result = await extract(fixture('chromium-scripts.pdf'));
  assert.deepEqual(result.text?.split('\n'), sourceLines('scripts.html', 'p'));
});

test('cairo draws them right to left without space glyphs: logical order kept, word spaces from the gaps', async () => {
  const result = await extract(fixture('cairo-rtl.pdf'));
  assert.deepEqual(result.text?.split('\n'), sourceLines('rtl.svg', 'text'));
});

test('line order: visual runs reversed, left-to-right stretches inside kept, plain lines untouched', () => {
  // Visual order as Chromium gives it: one glyph per run, left to right on the page.
  const visual = [...'םולש'].map((c, i) => ({ str: c, dir: 'rtl', x: 100 + i * 8, width: 8, size: 12 }));
  assert.equal(logicalLine(visual), 'שלום');
  const mixed = [
    { str: '2024', dir: 'ltr', x: 10, width: 20, size: 12 },
    { str: ' ', dir: 'ltr', x: 30, width: 3, size: 12 },
    { str: 'ב', dir: 'rtl', x: 33, width: 8, size: 12 },
    { str: 'ה', dir: 'rtl', x: 41, width: 8, size: 12 },
  ];
  assert.equal(logicalLine(mixed), 'הב 2024');
  assert.equal(logicalLine([{ str: 'plain ' }, { str: 'text' }]), 'plain text');
});

test('presentation forms, ligatures and CJK radicals become letters; spacing accents compose; the rest is left alone', () => {
  assert.equal(normaliseText('\ufb01nd o\ufb03ce'), 'find office');
  assert.equal(normaliseText('\ufee3\ufeae\ufea3\ufe92\ufe8e'), 'مرحبا');
  assert.equal(normaliseText('\u2f47\u672c'), '日本');
  assert.equal(normaliseText('\u02c7Cesk\u00b4y'), 'Český');
  assert.equal(normaliseText('e\u0301te\u0301'), 'été');
  // Not presentation forms: full-width punctuation, superscripts, the micro sign, ASCII accents in code.
  assert.equal(normaliseText('日本語：x² 5 µm `a` ^b ~c'), '日本語：x² 5 µm `a` ^b ~c');
  assert.equal(normaliseText('\u02c7\u0444'), '\u02c7\u0444', 'no precomposed letter: left as it was');
});

test('filled AcroForm values come out as text after the page text and as a fields list', async () => {
  const form = makeFilledForm({ pageText: 'Application form', name: 'Zoë Brontë', address: 'Main Street 1', country: 'Norway' });
  const result = await extract(form);
  assert.equal(result.text, 'Application form\nZoë Brontë\nMain Street 1\nNorway');
  assert.deepEqual(result.fields, [
    { name: 'name', type: 'text', value: 'Zoë Brontë', page: 1 },
    { name: 'address', type: 'text', value: 'Main Street 1', page: 1 },
    { name: 'agree', type: 'checkbox', value: 'Yes', page: 1 },
    { name: 'newsletter', type: 'checkbox', value: null, page: 1 },
    { name: 'country', type: 'choice', value: 'Norway', page: 1 },
  ]);
  const none = await extract(fixture('cairo-rtl.pdf'));
  assert.equal(none.fields, undefined, 'a document without a form has no fields key');
});
