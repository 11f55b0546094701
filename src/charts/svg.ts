/**
 * Self-contained SVG charts for bench reports and `troupe tune`: no fonts to load, no scripts,
 * so a chart opens the same in a browser, on GitHub and in an image viewer.
 */

export interface ChartSeries {
  name: string;
  /** [x, y] pairs; for bar charts x is the index into `categories`. */
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** 'line' plots numeric x; 'bar' groups one bar per series at each category. */
  kind: 'line' | 'bar';
  /** Bar charts: the label under each group. Line charts: optional labels replacing x ticks. */
  categories?: readonly string[];
  /** Points to ring and label on a line chart (e.g. the recommended knee). */
  marks?: ReadonlyArray<{ x: number; y: number; label: string }>;
}

const WIDTH = 720;
const HEIGHT = 400;
const PAD = { left: 78, right: 24, top: 44, bottom: 88 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round step (1, 2 or 5 × 10^k) giving about `count` ticks from 0 to max. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = 0; t < max + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

function frame(chart: Chart, body: string[], yMax: number, legend: readonly string[]): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const tick of niceTicks(yMax)) {
    const y = PAD.top + plotH - (tick / niceMax(yMax)) * plotH;
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${formatTick(tick)}</text>`);
  }
  out.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#333"/>`);
  out.push(`<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 48}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(
    `<text transform="translate(18 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  out.push(...body);
  let x = PAD.left;
  legend.forEach((name, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    out.push(`<rect x="${x}" y="${HEIGHT - 26}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${x + 16}" y="${HEIGHT - 16}">${escapeXml(name)}</text>`);
    x += 28 + name.length * 7;
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceMax(max: number): number {
  const ticks = niceTicks(max);
  return ticks[ticks.length - 1]!;
}

function finitePoints(series: ChartSeries): Array<readonly [number, number]> {
  return series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
}

function renderLine(chart: Chart): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const all = chart.series.flatMap(finitePoints);
  const xs = all.map(([x]) => x);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const yMax = Math.max(0, ...all.map(([, y]) => y), ...(chart.marks ?? []).map((m) => m.y));
  const top = niceMax(yMax);
  const sx = (x: number) => PAD.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const sy = (y: number) => PAD.top + plotH - (y / top) * plotH;
  const body: string[] = [];
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const x of xTicks) {
    const label = chart.categories?.[x] ?? formatTick(x);
    body.push(`<text x="${sx(x).toFixed(1)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  chart.series.forEach((series, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const points = finitePoints(series);
    if (points.length > 1) {
      const path = points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      body.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${path}"/>`);
    }
    for (const [x, y] of points) body.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${color}"/>`);
  });
  for (const mark of chart.marks ?? []) {
    body.push(`<circle cx="${sx(mark.x).toFixed(1)}" cy="${sy(mark.y).toFixed(1)}" r="9" fill="none" stroke="#000" stroke-width="2"/>`);
    body.push(`<text x="${(sx(mark.x) + 12).toFixed(1)}" y="${(sy(mark.y) - 10).toFixed(1)}" font-weight="bold">${escapeXml(mark.label)}</text>`);
  }
  return frame(chart, body, yMax, chart.series.map((s) => s.name));
}

function renderBar(chart: Chart): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const categories = chart.categories ?? [];
  const yMax = Math.max(0, ...chart.series.flatMap(finitePoints).map(([, y]) => y));
  const top = niceMax(yMax);
  const groupW = plotW / Math.max(1, categories.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const body: string[] = [];
  categories.forEach((label, c) => {
    const cx = PAD.left + groupW * (c + 0.5);
    body.push(`<text x="${cx.toFixed(1)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  chart.series.forEach((series, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    for (const [c, y] of finitePoints(series)) {
      const h = (y / top) * plotH;
      const x = PAD.left + groupW * c + groupW * 0.1 + barW * i;
      body.push(
        `<rect x="${x.toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${escapeXml(`${series.name}: ${formatTick(y)}`)}</title></rect>`,
      );
    }
  });
  return frame(chart, body, yMax, chart.series.map((s) => s.name));
}

export function renderChart(chart: Chart): string {
  return chart.kind === 'bar' ? renderBar(chart) : renderLine(chart);
}
