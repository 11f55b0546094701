/**
 * The `wasm` processor with its built-in extractor, on real-looking pages, through a real
 * thread pool: what comes out, what goes in, and how modules are chosen and cached.
 */
import assert from 'node:assert/strict';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { wasm, wasmProcessor } from '../src/processors/wasm/processor.js';
import { moduleCompilations } from '../src/processors/wasm/modules.js';
import type { ProcessorContext } from '../src/processors/contract.js';
import type { JobOutcome } from '../src/threads/protocol.js';
import { extractJs } from '../bench/lib/extract-js.js';
import { BUILT_FIXTURES_DIR, watModule } from './fixtures/wasm/build.js';
import { setWasmModuleDirs } from '../src/processors/wasm/module-dirs.js';
import { job, makePool, runJobs, type Pool } from './fixtures/threads/pool.js';

const FIXTURES = new URL('./fixtures/wasm/', import.meta.url);
const html = (name: string): string => readFileSync(new URL(`html/${name}.html`, FIXTURES), 'utf8');

interface Extracted {
  title: string | null;
  headings: Array<{ level: number; text: string }>;
  links: Array<{ href: string; text: string }>;
  text: string;
}

let pool: Pool;
let echoModule: string;
before(async () => {
  echoModule = await watModule('echo');
  // Worker threads copy the environment when they start: set before the pool exists.
  process.env.TROUPE_TEST_ECHO_WASM = echoModule;
  pool = makePool({
    maxThreads: 1,
    // Jobs may name modules only inside configured directories: the compiled fixtures' one.
    init: { plugins: [fileURLToPath(new URL('stats-plugin.cjs', FIXTURES)), fileURLToPath(new URL('echo-plugin.cjs', FIXTURES))], wasmModuleDirs: [BUILT_FIXTURES_DIR] },
  });
  // Direct calls of the processor (outside a thread) take the same directories.
  setWasmModuleDirs([BUILT_FIXTURES_DIR]);
});
after(async () => {
  setWasmModuleDirs(undefined);
  await pool.destroy();
});

async function runOne(processor: string, data: unknown): Promise<JobOutcome> {
  const { outcomes } = await runJobs(pool, [job(processor, data)]);
  return outcomes[0]!;
}

async function extract(data: unknown): Promise<Extracted> {
  const outcome = await runOne('wasm', data);
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
  return (outcome as { result: Extracted }).result;
}

function failed(outcome: JobOutcome) {
  assert.equal(outcome.status, 'failed', `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome as Extract<JobOutcome, { status: 'failed' }>;
}

/** Readable text: no run of spaces, no blank-line pile-up, no line starting or ending in a space. */
function assertTidy(text: string): void {
  assert.doesNotMatch(text, / {2}/, 'no double spaces');
  assert.doesNotMatch(text, /\n{3}/, 'at most one blank line');
  assert.doesNotMatch(text, /^ | $/m, 'no line starts or ends with a space');
  assert.equal(text, text.trim());
}

describe('the built-in extractor on real-looking pages', () => {
  test('a news article: title, headings, links and the article text, without the page furniture', async () => {
    const r = await extract(html('news-article'));
    assert.equal(r.title, 'Harbour bridge reopens after two-year refit – The Coastal Herald');
    assert.deepEqual(r.headings, [
      { level: 1, text: 'Harbour bridge reopens after two-year refit' },
      { level: 2, text: 'What changed' },
      { level: 2, text: 'What comes next' },
      { level: 3, text: 'Related' },
    ]);
    assert.deepEqual(r.links.find((l) => l.text === 'council’s full report'), {
      href: 'https://example.gov/reports/bridge-2024.pdf?v=2&lang=en',
      text: 'council’s full report',
    });
    assert.deepEqual(
      r.links.map((l) => l.href),
      ['/', '/news', '/sport', '/weather', '/authors/jane-doe', 'https://example.gov/reports/bridge-2024.pdf?v=2&lang=en', '/news/old-pier', '/news/ferry-timetable', '/privacy'],
    );
    assert.match(r.text, /^Harbour bridge reopens after two-year refit\n\nBy Jane Doe · 14 March 2024\n\n/);
    assert.match(r.text, /ending a two-year refit that cost £48 million — £6m over budget\./);
    assert.match(r.text, /“It’s a relief,” said commuter Sam O'Neill/);
    assert.match(r.text, /\n\nNew cycle lane on the north side\nLED lighting, dimmed after midnight\n\n/);
    assert.match(r.text, /Tolls will stay at €2 until 2026\./);
    for (const hidden of ['JSON-LD', 'dataLayer', 'fake heading', 'not text', 'googletagmanager', 'Template heading', 'logo', 'Sport']) {
      assert.ok(!r.text.includes(hidden), `the text leaves out ${JSON.stringify(hidden)}`);
    }
    assertTidy(r.text);
  });

  test('a docs page: preformatted code keeps its lines, table cells are spaced, inline SVG is dropped', async () => {
    const r = await extract(html('docs-page'));
    assert.equal(r.title, 'Installing Troupe | Docs');
    assert.deepEqual(r.headings.map((h) => `${h.level} ${h.text}`), ['1 Installing', '2 Configuring #', '3 Environment', '2 Running']);
    assert.deepEqual(r.links[4], { href: 'https://redis.io/docs/', text: 'the Redis docs' });
    assert.match(r.text, /\n\nnpm install troupe\nnpx troupe supervise --threads 4\n\nConfiguring #/);
    assert.match(r.text, /flag default\n--threads cores\n--prefetch 128/);
    assert.match(r.text, /Icons: done\.$/);
    assert.ok(!r.text.includes('svg text hidden') && !r.text.includes('wrong'));
  });

  test('sloppy markup: capitals, unclosed tags, bare attributes, CRLF, stray < and &, UTF-8, no <title>', async () => {
    const r = await extract(html('blog-malformed'));
    assert.equal(r.title, 'Café notes — 東京 edition 🍵', 'the first h1 stands in for a missing title');
    assert.deepEqual(r.headings[1], { level: 2, text: 'Numbers €€ and &unknown; entities' });
    assert.deepEqual(r.links, [
      { href: '/tokyo/matcha', text: 'unquoted link' },
      { href: '/x', text: 'unclosed link' },
      { href: '/empty', text: '' },
    ]);
    assert.match(r.text, /and a stray < sign & an ampersand\./);
    assert.match(r.text, /\n\none\ntwo & three\nunclosed link\n\n/);
    assert.match(r.text, /Line one\nLine two\n\nLine four/);
    assert.match(r.text, /Tabs and spaces collapse\./);
    assert.doesNotMatch(r.text, /\r/);
    assertTidy(r.text);
  });

  test('plain text: paragraphs kept, whitespace collapsed, bare URLs become links', async () => {
    const r = await extract({ text: '  Release notes\r\n\r\n\r\nSee https://example.com/changelog.\nOr   http://mirror.example.org/x?y=1)\n' });
    assert.deepEqual(r, {
      title: null,
      headings: [],
      links: [
        { href: 'https://example.com/changelog', text: 'https://example.com/changelog' },
        { href: 'http://mirror.example.org/x?y=1', text: 'http://mirror.example.org/x?y=1' },
      ],
      text: 'Release notes\n\nSee https://example.com/changelog.\nOr http://mirror.example.org/x?y=1)',
    });
  });

  test('HTML as bytes, as a string and as { html } gives one result; an empty page gives empty fields', async () => {
    const page = html('news-article');
    const fromString = await extract(page);
    assert.deepEqual(await extract(Buffer.from(page)), fromString);
    assert.deepEqual(await extract({ html: page }), fromString);
    assert.deepEqual(await extract(''), { title: null, headings: [], links: [], text: '' });
  });
});

describe('input validation names the field and the fix', () => {
  const cases: Array<[unknown, RegExp]> = [
    [42, /^wasm: data must be HTML \(a string or bytes\) or an object like \{ "html": .* got 42$/],
    [{ htm: '<p>' }, /^wasm: unknown field data\.htm; the fields are html, text, module, maxMemoryMb$/],
    [{ html: '<p>', text: 'x' }, /^wasm: data needs exactly one of "html" or "text", got both$/],
    [{}, /got neither$/],
    [{ html: 5 }, /^wasm: data\.html must be a string, got 5$/],
    [{ html: '', module: 'extractor.wasm' }, /^wasm: data\.module must be an absolute path to a \.wasm file on the supervisor's machine/],
    [{ html: '', maxMemoryMb: 512 }, /^wasm: data\.maxMemoryMb must be a whole number from 1 to 128 \(the processor's cap; a job may lower it, not raise it\), got 512$/],
  ];
  for (const [data, message] of cases) {
    test(`${JSON.stringify(data)}`, async () => {
      const outcome = failed(await runOne('wasm', data));
      assert.equal(outcome.error.code, 'INVALID_INPUT');
      assert.equal(outcome.unrecoverable, true);
      assert.match(outcome.error.message, message);
    });
  }
});

describe('choosing the module', () => {
  test('a job can name its own module by absolute path', async () => {
    const r = await runOne('wasm', { text: '{"from":"my module","n":[1,2]}', module: echoModule });
    assert.deepEqual(r, { status: 'completed', result: { from: 'my module', n: [1, 2] }, followUps: [] });
  });

  test('a missing module in an allowed directory fails unrecoverable when the job named it, naming the path', async () => {
    const missing = join(BUILT_FIXTURES_DIR, 'nowhere.wasm');
    const outcome = failed(await runOne('wasm', { html: '<p>', module: missing }));
    assert.deepEqual(
      { name: outcome.error.name, code: outcome.error.code, unrecoverable: outcome.unrecoverable },
      { name: 'WasmModuleNotFoundError', code: 'WASM_MODULE_NOT_FOUND', unrecoverable: true },
    );
    assert.equal(outcome.error.message, `wasm module ${missing}: no such file`);
  });

  test('wasmProcessor() in a plugin gives a module a name and a cap, and refuses data.module', async () => {
    assert.deepEqual(await runOne('echo-json', { text: '[true]' }), { status: 'completed', result: [true], followUps: [] });
    const refused = failed(await runOne('echo-json', { text: '[]', module: echoModule }));
    assert.match(refused.error.message, /^echo-json: data\.module is not accepted: this processor always runs .*echo\.wasm; name a module per job with the built-in "wasm" processor$/);
    // The plugin's cap (8 MiB) wins over what a job asks for.
    const askedMore = failed(await runOne('echo-json', { text: '[]', maxMemoryMb: 16 }));
    assert.deepEqual([askedMore.error.code, askedMore.unrecoverable], ['INVALID_INPUT', true]);
    assert.match(askedMore.error.message, /^echo-json: data\.maxMemoryMb must be a whole number from 1 to 8 \(the processor's cap; a job may lower it, not raise it\), got 16$/);
    const tooBig = failed(await runOne('echo-json', { text: 'x'.repeat(9 * 1024 * 1024) }));
    assert.equal(tooBig.error.code, 'WASM_INPUT_TOO_LARGE');
    assert.match(tooBig.error.message, /input of 9 MiB does not fit .* memory cap of 8 MiB; .* maxMemoryMb option of wasmProcessor "echo-json" \(now 8\)/);
  });

  test('wasmProcessor() checks its options when the plugin loads', () => {
    assert.throws(() => wasmProcessor({ name: '', module: echoModule }), /options\.name must be a non-empty string/);
    assert.throws(() => wasmProcessor({ name: 'x', module: 'rel/x.wasm' }), /module must be an absolute path or a file URL, got "rel\/x\.wasm"; for a file beside the plugin use new URL/);
    assert.throws(() => wasmProcessor({ name: 'x', module: '/no/such.wasm' }), /wasmProcessor "x": no module file at \/no\/such\.wasm/);
    assert.throws(() => wasmProcessor({ name: 'x', module: echoModule, maxMemoryMb: 5000 }), /maxMemoryMb must be a whole number from 1 to 4096, got 5000/);
    const p = wasmProcessor({ name: 'x', module: new URL(`file://${echoModule}`) });
    assert.deepEqual({ timeoutMs: p.timeoutMs, maxMemoryMb: p.maxMemoryMb }, { timeoutMs: 30_000, maxMemoryMb: 128 });
    assert.deepEqual({ timeoutMs: wasm.timeoutMs, maxMemoryMb: wasm.maxMemoryMb }, { timeoutMs: 30_000, maxMemoryMb: 128 });
  });
});

describe('compiled once per thread, instantiated per job', () => {
  test('a thread compiles the extractor once however many jobs it runs', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => job('wasm', `<h1>page ${i}</h1>`));
    const before = (await runOne('wasm-stats', null)) as { result: { compilations: number } };
    const { outcomes } = await runJobs(pool, [...jobs, job('wasm-stats', null)]);
    assert.ok(outcomes.slice(0, 20).every((o, i) => o.status === 'completed' && (o.result as Extracted).title === `page ${i}`));
    const afterStats = (outcomes[20] as { result: { compilations: number } }).result;
    // The one thread may already have compiled the extractor for earlier tests; these 20 add none.
    assert.ok(afterStats.compilations - before.result.compilations <= 1, JSON.stringify({ before: before.result, after: afterStats }));
    const again = (await runOne('wasm-stats', null)) as { result: { compilations: number } };
    await runJobs(pool, [job('wasm', '<p>x</p>'), job('wasm', '<p>y</p>')]);
    const last = (await runOne('wasm-stats', null)) as { result: { compilations: number } };
    assert.equal(last.result.compilations, again.result.compilations, 'no compilation for later jobs');
  });

  test('each job gets a fresh instance: module state does not carry over', async () => {
    const counter = await watModule('counter');
    const { outcomes } = await runJobs(pool, [job('wasm', { html: '', module: counter }), job('wasm', { html: '', module: counter })]);
    assert.deepEqual(outcomes.map((o) => (o as { result: unknown }).result), [1, 1], 'a reused instance would count 1, 2');
  });

  test('a module replaced on disk is compiled again', async () => {
    const ctx = { signal: new AbortController().signal } as ProcessorContext;
    await wasm.run({ text: '1', module: echoModule }, ctx);
    const before = moduleCompilations();
    await wasm.run({ text: '2', module: echoModule }, ctx);
    assert.equal(moduleCompilations(), before, 'unchanged file: cached');
    const later = new Date(Date.now() + 5000);
    utimesSync(echoModule, later, later);
    assert.equal(await wasm.run({ text: '3', module: echoModule }, ctx), 3);
    assert.equal(moduleCompilations(), before + 1, 'new mtime: compiled again');
  });
});

describe('the plain-JS port the bench compares with gives the same result', () => {
  const ctx = { signal: new AbortController().signal } as ProcessorContext;

  test('on every page fixture', async () => {
    for (const name of ['news-article', 'docs-page', 'blog-malformed']) {
      assert.deepEqual(extractJs(html(name), 'html'), await wasm.run(html(name), ctx), name);
    }
  });

  test('on 2,000 seeded random fragments of tricky markup', async () => {
    const pieces = [
      '<p>', '</p>', '<a href="/x?a=1&amp;b">', '<a href=y>', '</a>', '<h1>', '</h1>', '<h2 class=x>', '</h2>', '<pre>', '</pre>',
      '<pre>\n', '\n', ' ', '\t', '\r\n', 'word', 'é', '東', '🍵', '&amp;', '&nbsp;', '&#32;', '&#10;', '&#x41;', '&bogus;', '&',
      '<', '>', '<br>', '<li>', '</li>', '<ul>', '</ul>', '<div>', '</div>', '<nav>', '</nav>', '<script>x<y</script>', '<style>',
      '</style>', '<title>', '</title>', '<!-- c -->', '<!--', '-->', '<!doctype html>', '<td>', '<hr>', '<svg>', '</svg>',
      '<TITLE>T&amp;t</TITLE>', 'http://a.b/c.', ' https://x.y ', '"', "'", '\\', '\u0001', '<a', '=', '<img alt="a>b">',
    ];
    let seed = 20240314;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let k = 0; k < 2000; k++) {
      let src = '';
      for (let i = 1 + next(40); i > 0; i--) src += pieces[next(pieces.length)];
      const format = next(5) === 0 ? 'text' : 'html';
      const fromWasm = await wasm.run(format === 'text' ? { text: src } : src, ctx);
      if (!isDeepStrictEqual(fromWasm, extractJs(src, format))) {
        assert.deepEqual(extractJs(src, format), fromWasm, `${format} input ${JSON.stringify(src)}`);
      }
    }
  });
});
