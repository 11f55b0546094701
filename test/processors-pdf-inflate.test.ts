/**
 * The inflate count (src/processors/pdf/inflate-limit.ts) and the RSS watch's choice of thread
 * (src/supervisor/memory-watch.ts), without a supervisor: exact counts on generated streams.
 */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { test } from 'node:test';
import type { ProcessorContext } from '../src/processors/contract.js';
import { pdf } from '../src/processors/pdf/index.js';
import { ascii85Decode, asciiHexDecode, checkInflatedSize, findStreams, inflateLimit, lzwDecodedLength } from '../src/processors/pdf/inflate-limit.js';
import { MIN_CHARGE_BYTES, RssWatch } from '../src/supervisor/memory-watch.js';
import { CELL_EXTERNAL_BYTES, CELL_MEMORY_AT, CELL_SLOTS, CELL_THREAD_ID } from '../src/threads/protocol.js';
import { deflatedZeros, pdfWithContentStreams } from './fixtures/pdf/bomb.js';
import { ascii85Encode, knownTextDocument, makePdf } from './fixtures/pdf/make-pdf.js';

const MiB = 1024 * 1024;

/** A plain LZW encoder (9-12 bit codes, EarlyChange 1, clear at 4096), as PDF's LZWDecode reads it. */
function lzwEncode(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let held = 0;
  let bits = 9;
  const emit = (code: number) => {
    acc = (acc << bits) | code;
    held += bits;
    while (held >= 8) {
      out.push((acc >>> (held - 8)) & 255);
      held -= 8;
    }
    acc &= (1 << held) - 1;
  };
  let dict = new Map<string, number>();
  let next = 258;
  emit(256);
  let w = '';
  for (const byte of data) {
    const wc = w + String.fromCharCode(byte);
    if (wc.length === 1 || dict.has(wc)) {
      w = wc;
      continue;
    }
    emit(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
    dict.set(wc, next++);
    // The decoder adds each entry one code later, so it widens when its next + EarlyChange reaches 2^bits: here, one entry on.
    if (next >= 1 << bits && bits < 12) bits += 1;
    if (next >= 4094) {
      emit(256);
      dict = new Map();
      next = 258;
      bits = 9;
    }
    w = String.fromCharCode(byte);
  }
  if (w) emit(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
  emit(257);
  if (held > 0) out.push((acc << (8 - held)) & 255);
  return Uint8Array.from(out);
}

test('the LZW count equals the decoded length, from code lengths alone', () => {
  for (const data of [Buffer.from('-----A---B'), Buffer.alloc(100_000), Buffer.from(knownTextDocument(2, 30).pageTexts.join('\n').repeat(20))]) {
    assert.equal(lzwDecodedLength(lzwEncode(data)), data.length);
  }
});

test('every stream is found with its filters and extent; a normal document is bounded without inflating anything', async () => {
  const doc = makePdf(knownTextDocument(3, 20).spec);
  const streams = findStreams(doc);
  assert.ok(streams.length >= 3);
  const limit = inflateLimit(doc.length, 256 * MiB, 200, 64 * MiB);
  const count = await checkInflatedSize(doc, limit, false);
  assert.equal(count.bounded, true, 'the worst case (1032:1) of a small document fits 64 MiB');
});

test('streams are inflated and counted exactly when the worst case does not fit, in total across streams', async () => {
  const one = await deflatedZeros(40 * MiB);
  const doc = pdfWithContentStreams([one, one, deflateSync(Buffer.from('BT /F1 12 Tf (hi) Tj ET'))]);
  assert.deepEqual(findStreams(doc).map((s) => [s.filters, s.end - s.start]), [
    [['FlateDecode'], one.length],
    [['FlateDecode'], one.length],
    [['FlateDecode'], deflateSync(Buffer.from('BT /F1 12 Tf (hi) Tj ET')).length],
  ]);
  const exact = 80 * MiB + 23;
  // The worst case of ~80 KB of deflate is ~84 MB, over both limits below, so both count for real.
  const roomy = await checkInflatedSize(doc, { bytes: exact, explain: '' }, false);
  assert.equal(roomy.bounded, false);
  assert.equal(roomy.inflatedBytes, exact, 'exactly at the limit is allowed');
  await assert.rejects(checkInflatedSize(doc, { bytes: exact - 1, explain: 'EXPLAINED' }, false), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PDF_TOO_LARGE_INFLATED');
    assert.match(err.message, new RegExp(`more than ${exact - 1} bytes \\(80 MiB; at least ${exact} bytes in 3 streams\\).*EXPLAINED`));
    return true;
  });
});

test('the limit: the ratio times the document, at least the floor, at most maxInflatedBytes, and the message says which to raise', () => {
  assert.equal(inflateLimit(1000, 256 * MiB, 200, 64 * MiB).bytes, 64 * MiB);
  assert.match(inflateLimit(1000, 256 * MiB, 200, 64 * MiB).explain, /data\.maxInflateRatio \(or TROUPE_PDF_MAX_INFLATE_RATIO\)/);
  assert.equal(inflateLimit(MiB, 256 * MiB, 200, 64 * MiB).bytes, 200 * MiB);
  assert.equal(inflateLimit(10 * MiB, 256 * MiB, 200, 64 * MiB).bytes, 256 * MiB);
  assert.match(inflateLimit(10 * MiB, 256 * MiB, 200, 64 * MiB).explain, /data\.maxInflatedBytes \(or TROUPE_PDF_MAX_INFLATED_BYTES\)/);
});

const latin1 = (s: string) => Buffer.from(s, 'latin1');
/** Deterministic bytes of every value, long runs of zeros among them (for "z"). */
function sampleBytes(length: number): Buffer {
  const b = Buffer.alloc(length);
  let x = 12345;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = i % 97 < 9 ? 0 : x >>> 24;
  }
  return b;
}

test('ASCII85Decode: the known vectors (Python\'s base64.a85encode), "z", white space, the "~>" end, partial groups', () => {
  const vectors: Array<[string, string]> = [
    ['Man ', '9jqo^'],
    ['sure.', 'F*2M7/c'],
    ['\x00\x00\x00\x00abc', 'z@:E^'],
    ['\xff\xff\xff\xff', 's8W-!'],
    ['a', '@/'],
    ['Troupe\x00\x00\x00\x00\x00', '<,uo"E+K"L!!!!'],
  ];
  for (const [plain, encoded] of vectors) {
    assert.deepEqual(Buffer.from(ascii85Decode(latin1(`${encoded}~>`))), latin1(plain), encoded);
    assert.deepEqual(ascii85Encode(latin1(plain)), latin1(`${encoded}~>`), `the test encoder agrees on ${encoded}`);
  }
  assert.deepEqual(Buffer.from(ascii85Decode(latin1(' 9jq\r\no^\tF*2M7\f/c ~> garbage after the end'))), latin1('Man sure.'));
  assert.deepEqual(Buffer.from(ascii85Decode(latin1('9jqo^'))), latin1('Man '), 'no "~>": the data runs to the end');
  for (const length of [0, 1, 2, 3, 4, 5, 1000, 65_537]) {
    const bytes = sampleBytes(length);
    assert.deepEqual(Buffer.from(ascii85Decode(ascii85Encode(bytes))), bytes, `${length} bytes round trip`);
  }
});

test('ASCIIHexDecode: Node\'s own hex, either case, white space, the ">" end, an odd last digit', () => {
  const bytes = sampleBytes(10_001);
  assert.deepEqual(Buffer.from(asciiHexDecode(latin1(`${bytes.toString('hex')}>`))), bytes);
  assert.deepEqual(Buffer.from(asciiHexDecode(latin1(`${bytes.toString('hex').toUpperCase().replace(/(.{70})/g, '$1\r\n ')}>`))), bytes);
  assert.deepEqual(Buffer.from(asciiHexDecode(latin1('61 62\n63>6465'))), latin1('abc'));
  assert.deepEqual(Buffer.from(asciiHexDecode(latin1('6162 7>'))), latin1('abp'), 'an odd last digit is followed by 0');
});

/** A text document of `pages` pages whose content streams are [/ASCII85Decode /FlateDecode] or [/AHx /Fl]. */
function encodedDocument(encoding: 'ascii85' | 'hex', pages: number) {
  const known = knownTextDocument(pages, 30);
  return { known, doc: makePdf({ ...known.spec, contentEncoding: encoding }) };
}

const ctx = { signal: new AbortController().signal, progress: () => {} } as unknown as ProcessorContext;

test('a text-encoded deflate stream is counted by what it inflates to, not refused by deflate\'s worst case (ReportLab\'s guide was a "107 MiB bomb")', async () => {
  for (const encoding of ['ascii85', 'hex'] as const) {
    const { known, doc } = encodedDocument(encoding, 120);
    const streams = findStreams(doc).filter((s) => s.filters.length === 2);
    assert.equal(streams.length, 120);
    assert.deepEqual(streams[0]!.filters, [encoding === 'ascii85' ? 'ASCII85Decode' : 'ASCIIHexDecode', 'FlateDecode']);
    const encodedBytes = streams.reduce((n, s) => n + s.end - s.start, 0);
    const limit = inflateLimit(doc.length, 256 * MiB, 200, 64 * MiB);
    assert.equal(limit.bytes, 64 * MiB, 'a small document: the floor');
    assert.ok(encodedBytes * 1032 > limit.bytes, `the worst case of ${encodedBytes} encoded bytes is over the limit, so the count must inflate`);
    const count = await checkInflatedSize(doc, limit, false);
    assert.equal(count.bounded, false);
    assert.ok(count.inflatedBytes < 2 * MiB, `counted ${count.inflatedBytes} bytes, what the text really is`);
    // The whole processor: extracted, with the known text.
    const result = await pdf.run(doc, ctx);
    assert.equal(result.pageCount, 120);
    assert.equal(result.pages[119]!.text, known.pageTexts[119], encoding);
  }
});

test('a text-encoded bomb is still a bomb: the deflate under ASCII85 is inflated and refused', async () => {
  const zeros = await deflatedZeros(100 * MiB);
  const encoded = ascii85Encode(zeros);
  const doc = Buffer.from(
    pdfWithContentStreams([encoded]).toString('latin1').replace('/Filter /FlateDecode', '/Filter [/A85 /FlateDecode]'),
    'latin1',
  );
  assert.deepEqual(findStreams(doc)[0]!.filters, ['ASCII85Decode', 'FlateDecode']);
  await assert.rejects(checkInflatedSize(doc, inflateLimit(doc.length, 256 * MiB, 200, 64 * MiB), false), (err: Error & { code?: string }) => err.code === 'PDF_TOO_LARGE_INFLATED');
});

function cell(thread: number, external: number, reportedAt: number): BigInt64Array {
  const c = new BigInt64Array(new SharedArrayBuffer(CELL_SLOTS * 8));
  c[CELL_THREAD_ID] = BigInt(thread);
  c[CELL_EXTERNAL_BYTES] = BigInt(external);
  c[CELL_MEMORY_AT] = BigInt(reportedAt);
  return c;
}

test('the RSS watch stops the thread in a synchronous run that the growth is charged to, once, and spares small ones', () => {
  let rss = 300 * MiB;
  let now = 1_000_000;
  const stopped: Array<[number, string]> = [];
  const warnings: string[] = [];
  const watch = new RssWatch({ rss: () => rss, now: () => now, warn: (_f, m) => warnings.push(m) });
  const busy = cell(1, 80 * MiB, now); // reports, and holds 80 MiB
  const stuck = cell(2, 5 * MiB, now); // will stop reporting
  const stop = (label: string) => (thread: number, err: { code: string }) => stopped.push([thread, `${label}:${err.code}`]);
  watch.watch({ cell: busy, capMb: 500, stop: stop('busy') });
  watch.watch({ cell: stuck, capMb: 500, stop: stop('stuck') });
  watch.sample();
  // 400 ms on: thread 1 still reports, thread 2 went silent while RSS grew by 400 MiB.
  now += 400;
  busy[CELL_MEMORY_AT] = BigInt(now);
  rss = 700 * MiB;
  watch.sample();
  assert.deepEqual(stopped, [[2, 'stuck:THREAD_MEMORY_CAP']], 'charged 5 + 400 MiB, over the reporting thread\'s 80');
  watch.sample();
  assert.equal(stopped.length, 1, 'one stop, then time for the memory to be freed');

  // Over the cap with only a small holder running: nothing is stopped, one warning.
  const w2 = new RssWatch({ rss: () => 900 * MiB, now: () => now, warn: (_f, m) => warnings.push(m) });
  w2.watch({ cell: cell(3, MIN_CHARGE_BYTES - 1, now), capMb: 500, stop: stop('small') });
  w2.sample();
  w2.sample();
  assert.equal(stopped.length, 1);
  assert.equal(warnings.length, 1);
});
