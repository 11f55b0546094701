import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CHART_HEIGHT, CHART_WIDTH, escapeXml, formatTick, niceTicks, renderChart, type Chart } from '../src/charts/svg.js';

interface Element {
  name: string;
  attrs: Record<string, string>;
  /** Text directly inside the element (entities left as written). */
  text: string;
}

/**
 * A strict little XML reader, enough for our SVG: every tag closes in order, attributes are
 * double-quoted with no raw `<` or `"` inside, text holds no raw `<`, and every `&` starts one of
 * the five XML entities. Throws on the first fault; returns the elements in document order.
 */
function parseXml(xml: string): Element[] {
  const elements: Element[] = [];
  const open: Element[] = [];
  const checkText = (text: string, where: string) => {
    const bad = /&(?!(amp|lt|gt|quot|apos);)/.exec(text);
    if (bad) throw new Error(`bare & in ${where}: ${JSON.stringify(text)}`);
  };
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    checkText(text, 'text');
    if (open.length > 0) open[open.length - 1]!.text += text;
    else if (text.trim()) throw new Error(`text outside the root: ${JSON.stringify(text)}`);
    if (lt === -1) break;
    const gt = xml.indexOf('>', lt);
    if (gt === -1) throw new Error('unterminated tag');
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const top = open.pop();
      if (top?.name !== name) throw new Error(`</${name}> closes <${top?.name ?? 'nothing'}>`);
      if (open.length === 0 && xml.slice(i).trim()) throw new Error('content after the root element');
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const match = /^([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*$/.exec(body);
    if (!match) throw new Error(`malformed tag <${tag}>`);
    const attrs: Record<string, string> = {};
    for (const [, key, value] of match[2]!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (key! in attrs) throw new Error(`attribute ${key} twice in <${match[1]}>`);
      checkText(value!, `attribute ${key}`);
      attrs[key!] = value!;
    }
    if (elements.length > 0 && open.length === 0) throw new Error('a second root element');
    const element = { name: match[1]!, attrs, text: '' };
    elements.push(element);
    if (!selfClosing) open.push(element);
  }
  if (open.length > 0) throw new Error(`<${open.map((e) => e.name).join('><')}> never closed`);
  if (elements[0]?.name !== 'svg') throw new Error('the root is not <svg>');
  return elements;
}

/** Bars with their tooltip text (a <title> inside each bar's <rect>). */
function barsOf(elements: Element[]): Array<Element & { tip: string }> {
  return elements.flatMap((e, i) => (e.name === 'title' && elements[i - 1]?.name === 'rect' ? [{ ...elements[i - 1]!, tip: e.text }] : []));
}

const num = (e: Element, attr: string) => {
  const value = Number(e.attrs[attr]);
  assert.ok(Number.isFinite(value), `<${e.name} ${attr}="${e.attrs[attr]}"> is not a finite number`);
  return value;
};

function line(series: Chart['series'], extra: Partial<Chart> = {}): Chart {
  return { kind: 'line', title: 'rates', xLabel: 'threads', yLabel: 'jobs/s', series, ...extra };
}

function bar(series: Chart['series'], categories: string[], extra: Partial<Chart> = {}): Chart {
  return { kind: 'bar', title: 'rates', xLabel: 'batch', yLabel: 'jobs/s', series, categories, ...extra };
}

describe('the XML reader used here', () => {
  test('refuses what a browser would refuse', () => {
    assert.throws(() => parseXml('<svg><g></svg>'), /closes/);
    assert.throws(() => parseXml('<svg><text>a < b</text></svg>'), /malformed/);
    assert.throws(() => parseXml('<svg><text>R&D</text></svg>'), /bare &/);
    assert.throws(() => parseXml('<svg><text x="1" x="2"/></svg>'), /twice/);
    assert.throws(() => parseXml('<svg>'), /never closed/);
    assert.equal(parseXml('<svg a="1"><text>x &amp; y</text><rect/></svg>').length, 3);
  });
});

describe('renderChart', () => {
  const cases: Array<[string, Chart]> = [
    ['line', line([{ name: 'Troupe', points: [[1, 100], [2, 190]] }, { name: 'Piscina', points: [[1, 110], [2, 200]] }])],
    ['bar', bar([{ name: 'Troupe', points: [[0, 5], [1, 7]] }], ['a', 'b'])],
    ['empty line chart', line([])],
    ['empty bar chart', bar([], [])],
    ['marks', line([{ name: 's', points: [[0, 1], [1, 2]] }], { marks: [{ x: 1, y: 2, label: 'knee' }] })],
  ];
  for (const [name, chart] of cases) {
    test(`${name}: well-formed SVG of the fixed size, every coordinate a number`, () => {
      const elements = parseXml(renderChart(chart));
      const root = elements[0]!;
      assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
      assert.deepEqual([num(root, 'width'), num(root, 'height')], [CHART_WIDTH, CHART_HEIGHT]);
      for (const e of elements) {
        for (const attr of ['x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'width', 'height']) if (attr in e.attrs) num(e, attr);
        if (e.name === 'rect') assert.ok(num(e, 'height') >= 0, 'negative rect height');
      }
    });
  }

  test('escapes <, & and " in titles, labels, series names, categories and marks', () => {
    const nasty = `a<b & "c"`;
    const svg = renderChart(
      bar([{ name: nasty, points: [[0, 1]] }], [nasty], { title: nasty, xLabel: nasty, yLabel: nasty }),
    );
    const elements = parseXml(svg);
    const texts = elements.filter((e) => e.name === 'text' || e.name === 'title').map((e) => e.text);
    const escaped = escapeXml(nasty);
    assert.equal(escaped, 'a&lt;b &amp; &quot;c&quot;');
    // Title, x label, y label, the category and the legend entry; the bar's tooltip contains it too.
    assert.equal(texts.filter((t) => t === escaped).length, 5);
    assert.ok(texts.some((t) => t.startsWith(`${escaped}, ${escaped}: `)));
    assert.ok(!svg.includes(nasty));
    const marked = parseXml(renderChart(line([{ name: 's', points: [[0, 1], [1, 2]] }], { marks: [{ x: 1, y: 2, label: '<knee>' }] })));
    assert.ok(marked.some((e) => e.name === 'text' && e.text === '&lt;knee&gt;'));
  });

  test('line: one polyline per series with two or more points, a dot per point', () => {
    const chart = line([
      { name: 'three', points: [[1, 10], [2, 20], [3, 30]] },
      { name: 'one', points: [[2, 15]] },
      { name: 'two', points: [[1, 5], [3, 25]] },
    ]);
    const elements = parseXml(renderChart(chart));
    const polylines = elements.filter((e) => e.name === 'polyline');
    assert.equal(polylines.length, 2);
    assert.deepEqual(polylines.map((p) => p.attrs.points!.split(' ').length), [3, 2]);
    assert.equal(elements.filter((e) => e.name === 'circle').length, 6);
  });

  test('line: NaN and Infinity points are skipped, not drawn at NaN', () => {
    const chart = line([{ name: 's', points: [[1, 10], [2, Number.NaN], [3, Number.POSITIVE_INFINITY], [Number.NaN, 5], [4, 40]] }]);
    const svg = renderChart(chart);
    assert.ok(!/NaN|Infinity/.test(svg));
    const elements = parseXml(svg);
    assert.equal(elements.filter((e) => e.name === 'circle').length, 2);
    assert.equal(elements.find((e) => e.name === 'polyline')!.attrs.points!.split(' ').length, 2);
    // The y axis is sized by the finite values only: 40 is the top tick, not Infinity.
    const ticks = elements.filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'end').map((e) => e.text);
    assert.equal(ticks.at(-1), '40');
  });

  test('line: points are placed proportionally on both axes', () => {
    const elements = parseXml(renderChart(line([{ name: 's', points: [[0, 0], [5, 50], [10, 100]] }])));
    const [a, b, c] = elements.filter((e) => e.name === 'circle').map((e) => [num(e, 'cx'), num(e, 'cy')] as const);
    assert.ok(Math.abs(b![0] - (a![0] + c![0]) / 2) < 0.2, 'x midpoint');
    assert.ok(Math.abs(b![1] - (a![1] + c![1]) / 2) < 0.2, 'y midpoint');
    assert.ok(c![1] < a![1], 'larger values are higher up');
  });

  test('line: categories replace the x tick labels', () => {
    const elements = parseXml(renderChart(line([{ name: 's', points: [[0, 1], [1, 2]] }], { categories: ['1×4', '2×4'] })));
    const labels = elements.filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'middle').map((e) => e.text);
    assert.ok(labels.includes('1×4') && labels.includes('2×4'));
  });

  test('line: marks are ringed and labelled at their point; non-finite marks are left out', () => {
    const chart = line([{ name: 's', points: [[1, 10], [2, 20], [3, 30]] }], {
      marks: [{ x: 2, y: 20, label: 'knee' }, { x: Number.NaN, y: 1, label: 'lost' }],
    });
    const elements = parseXml(renderChart(chart));
    const rings = elements.filter((e) => e.name === 'circle' && e.attrs.fill === 'none');
    assert.equal(rings.length, 1);
    const dot = elements.filter((e) => e.name === 'circle' && e.attrs.fill !== 'none')[1]!;
    assert.deepEqual([num(rings[0]!, 'cx'), num(rings[0]!, 'cy')], [num(dot, 'cx'), num(dot, 'cy')]);
    assert.ok(elements.some((e) => e.name === 'text' && e.text === 'knee'));
    assert.ok(!elements.some((e) => e.text === 'lost'));
  });

  test('line: a mark above every point raises the axis so the ring stays inside the plot', () => {
    const elements = parseXml(renderChart(line([{ name: 's', points: [[1, 10], [2, 20]] }], { marks: [{ x: 2, y: 95, label: 'limit' }] })));
    const ticks = elements.filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'end').map((e) => Number(e.text));
    assert.ok(ticks.at(-1)! >= 95);
  });

  test('bar: one rect per category × series, heights proportional to the values', () => {
    const chart = bar(
      [
        { name: 'Troupe', points: [[0, 100], [1, 200], [2, 400]] },
        { name: 'BullMQ', points: [[0, 50], [1, 0], [2, 300]] },
      ],
      ['1', '16', '128'],
    );
    const elements = parseXml(renderChart(chart));
    const bars = barsOf(elements);
    assert.equal(bars.length, 6);
    const height = (series: string, category: string) => num(bars.find((b) => b.tip.startsWith(`${series}, ${category}: `))!, 'height');
    const unit = height('Troupe', '1') / 100;
    assert.ok(unit > 0);
    for (const [s, c, v] of [['Troupe', '16', 200], ['Troupe', '128', 400], ['BullMQ', '1', 50], ['BullMQ', '16', 0], ['BullMQ', '128', 300]] as const) {
      assert.ok(Math.abs(height(s, c) - v * unit) < 0.2, `${s} at ${c}: ${height(s, c)} vs ${v * unit}`);
    }
    // Bars of one group sit side by side inside their group, in series order, without overlapping.
    const t0 = bars.find((b) => b.tip.startsWith('Troupe, 1:'))!;
    const b0 = bars.find((b) => b.tip.startsWith('BullMQ, 1:'))!;
    assert.ok(num(t0, 'x') + num(t0, 'width') <= num(b0, 'x') + 0.1);
    const t1 = bars.find((b) => b.tip.startsWith('Troupe, 16:'))!;
    assert.ok(num(b0, 'x') + num(b0, 'width') < num(t1, 'x'));
    // Bars stand on the x axis.
    const base = num(t0, 'y') + num(t0, 'height');
    for (const b of bars) assert.ok(Math.abs(num(b, 'y') + num(b, 'height') - base) < 0.2);
  });

  test('bar: non-finite values, negative values and indices outside the categories draw no bar', () => {
    const chart = bar([{ name: 's', points: [[0, Number.NaN], [1, -5], [2, 10], [3, 99], [0.5, 7]] }], ['a', 'b', 'c']);
    const svg = renderChart(chart);
    assert.ok(!/NaN/.test(svg));
    const bars = barsOf(parseXml(svg));
    assert.deepEqual(bars.map((b) => [b.tip.split(':')[0], num(b, 'height') > 0]), [['s, b', false], ['s, c', true]]);
  });

  test('bar: without categories the groups are numbered from the points', () => {
    const elements = parseXml(renderChart({ kind: 'bar', title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[0, 1], [2, 3]] }] }));
    assert.equal(barsOf(elements).length, 2);
    const labels = elements.filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'middle').map((e) => e.text);
    for (const l of ['0', '1', '2']) assert.ok(labels.includes(l));
  });

  test('legend: one entry per series, wrapped into rows inside the chart when long', () => {
    const names = Array.from({ length: 9 }, (_, i) => `a rather long series name ${i}`);
    const elements = parseXml(renderChart(line(names.map((name, i) => ({ name, points: [[0, i], [1, i + 1]] })))));
    const legend = elements.filter((e) => e.name === 'text' && names.includes(e.text));
    assert.equal(legend.length, names.length);
    const rows = new Set(legend.map((e) => e.attrs.y));
    assert.ok(rows.size > 1, 'wrapped');
    for (const e of legend) {
      assert.ok(num(e, 'y') <= CHART_HEIGHT && num(e, 'x') + e.text.length * 7 <= CHART_WIDTH + 1, `${e.text} runs off the chart`);
    }
    // The plot gave up the room: the lowest dot is above the first legend row.
    const lowest = Math.max(...elements.filter((e) => e.name === 'circle').map((e) => num(e, 'cy')));
    assert.ok(lowest < Math.min(...legend.map((e) => num(e, 'y'))) - 40);
  });
});

describe('niceTicks', () => {
  const cases: Array<[number, number[]]> = [
    [10, [0, 2, 4, 6, 8, 10]],
    [10.5, [0, 5, 10, 15]],
    [0.3, [0, 0.1, 0.2, 0.3]],
    [0.7, [0, 0.2, 0.4, 0.6, 0.8]],
    [27_310, [0, 10_000, 20_000, 30_000]],
    [419, [0, 100, 200, 300, 400, 500]],
    [1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
  ];
  for (const [max, expected] of cases) {
    test(`max ${max}: ${expected.join(', ')}`, () => assert.deepEqual(niceTicks(max), expected));
  }

  test('always starts at 0, ends at or above the max, with the smallest 1/2/5 step giving at most 5 intervals', () => {
    for (const max of [0.013, 0.9, 3, 7.77, 99, 101, 419, 999.9, 12_345, 9.7e6, 1e-7]) {
      const ticks = niceTicks(max);
      assert.equal(ticks[0], 0);
      assert.ok(ticks.at(-1)! >= max, `${max}: last tick ${ticks.at(-1)}`);
      const step = ticks[1]!;
      assert.ok(ticks.at(-2)! < max, `${max}: one tick too many`);
      assert.match(step.toExponential(), /^[125]e/, `${max}: step ${step}`);
      ticks.forEach((t, i) => assert.ok(Math.abs(t - i * step) <= step * 1e-9, `${max}: tick ${i} is ${t}`));
      assert.ok(ticks.length >= 3 && ticks.length <= 6, `${max}: ${ticks.length} ticks`);
    }
  });

  test('nothing to show (0, negative, NaN, Infinity) gives a 0–1 axis', () => {
    for (const max of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) assert.deepEqual(niceTicks(max), [0, 1]);
  });
});

test('formatTick shortens thousands and millions', () => {
  assert.deepEqual([0, 0.25, 950, 5000, 12_500, 2_500_000].map(formatTick), ['0', '0.25', '950', '5000', '12.5k', '2.5M']);
});
