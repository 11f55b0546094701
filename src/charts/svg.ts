/**
 * Self-contained SVG charts for bench reports and `troupe tune`: no fonts to load, no scripts,
 * so a chart opens the same in a browser, on GitHub and in an image viewer.
 *
 * The y axis starts at 0: every figure charted here (rates, latencies, memory) is non-negative,
 * and a zero baseline keeps bar heights and line gaps proportional to the values.
 */

export interface ChartSeries {
  name: string;
  /** [x, y] pairs; for bar charts x is the index into `categories`. Non-finite points are skipped. */
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

/** Every chart is this size whatever its content (`troupe tune` stacks two in one file). */
export const CHART_WIDTH = 720;
export const CHART_HEIGHT = 400;
const PAD = { left: 78, right: 24, top: 44 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
/** Rough width of one character at font-size 12, for laying out legends without measuring text. */
const CHAR_W = 7;
const LEGEND_ROW_H = 20;
/** More x labels than this on a line chart overlap; every k-th one is kept instead. */
const MAX_X_LABELS = 12;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round step (1, 2 or 5 × 10^k) giving about `count` ticks from 0 to at least max. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * magnitude;
  // Multiplying (not adding step after step) keeps 0.1-sized steps from drifting to 0.30000000000000004.
  const steps = Math.ceil(max / step - 1e-9);
  return Array.from({ length: steps + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

interface Layout {
  plotW: number;
  plotH: number;
  /** y of the x axis. */
  bottom: number;
  legend: Array<{ name: string; x: number; y: number; color: string }>;
}

/** Legend entries flow left to right and wrap; each extra row takes height from the plot. */
function layout(names: readonly string[]): Layout {
  const maxX = CHART_WIDTH - PAD.right;
  const placed: Array<{ name: string; x: number; row: number; color: string }> = [];
  let x = PAD.left;
  let row = 0;
  names.forEach((name, i) => {
    const w = 16 + name.length * CHAR_W;
    if (x > PAD.left && x + w > maxX) {
      row += 1;
      x = PAD.left;
    }
    placed.push({ name, x, row, color: PALETTE[i % PALETTE.length]! });
    x += w + 12;
  });
  const rows = Math.max(1, row + 1);
  const bottom = CHART_HEIGHT - (52 + rows * LEGEND_ROW_H);
  return {
    plotW: CHART_WIDTH - PAD.left - PAD.right,
    plotH: bottom - PAD.top,
    bottom,
    legend: placed.map((p) => ({ name: p.name, x: p.x, y: bottom + 60 + p.row * LEGEND_ROW_H, color: p.color })),
  };
}

function frame(chart: Chart, box: Layout, body: string[], ticks: readonly number[]): string {
  const { plotW, plotH, bottom } = box;
  const top = ticks[ticks.length - 1]!;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${CHART_WIDTH}" height="${CHART_HEIGHT}" fill="#fff"/>`,
    `<text x="${CHART_WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const tick of ticks) {
    const y = bottom - (tick / top) * plotH;
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${formatTick(tick)}</text>`);
  }
  out.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<text x="${PAD.left + plotW / 2}" y="${bottom + 36}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  out.push(...body);
  for (const entry of box.legend) {
    out.push(`<rect x="${entry.x}" y="${entry.y - 10}" width="12" height="12" fill="${entry.color}"/>`);
    out.push(`<text x="${entry.x + 16}" y="${entry.y}">${escapeXml(entry.name)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function finitePoints(series: ChartSeries): Array<readonly [number, number]> {
  return series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
}

/** Every k-th of the sorted x values, always keeping the first and last. */
function thinLabels(xs: readonly number[]): number[] {
  if (xs.length <= MAX_X_LABELS) return [...xs];
  const every = Math.ceil(xs.length / MAX_X_LABELS);
  return xs.filter((_, i) => i % every === 0 || i === xs.length - 1);
}

function renderLine(chart: Chart): string {
  const box = layout(chart.series.map((s) => s.name));
  const { plotW, plotH, bottom } = box;
  const marks = (chart.marks ?? []).filter((m) => Number.isFinite(m.x) && Number.isFinite(m.y));
  const all = chart.series.flatMap(finitePoints);
  const xs = all.map(([x]) => x);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const ticks = niceTicks(Math.max(0, ...all.map(([, y]) => y), ...marks.map((m) => m.y)));
  const top = ticks[ticks.length - 1]!;
  const sx = (x: number) => PAD.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const sy = (y: number) => bottom - (y / top) * plotH;
  const body: string[] = [];
  for (const x of thinLabels([...new Set(xs)].sort((a, b) => a - b))) {
    const label = chart.categories?.[x] ?? formatTick(x);
    body.push(`<text x="${sx(x).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
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
  for (const mark of marks) {
    body.push(`<circle cx="${sx(mark.x).toFixed(1)}" cy="${sy(mark.y).toFixed(1)}" r="9" fill="none" stroke="#000" stroke-width="2"/>`);
    body.push(`<text x="${(sx(mark.x) + 12).toFixed(1)}" y="${(sy(mark.y) - 10).toFixed(1)}" font-weight="bold">${escapeXml(mark.label)}</text>`);
  }
  return frame(chart, box, body, ticks);
}

function renderBar(chart: Chart): string {
  const box = layout(chart.series.map((s) => s.name));
  const { plotW, plotH, bottom } = box;
  // Without labels, groups are numbered; a point whose x names no group is not drawn anywhere.
  const indices = chart.series.flatMap(finitePoints).map(([c]) => c);
  const categories = chart.categories ?? Array.from({ length: indices.length ? Math.max(0, ...indices) + 1 : 0 }, (_, c) => String(c));
  const inGroup = ([c]: readonly [number, number]) => Number.isInteger(c) && c >= 0 && c < categories.length;
  const ticks = niceTicks(Math.max(0, ...chart.series.flatMap(finitePoints).filter(inGroup).map(([, y]) => y)));
  const top = ticks[ticks.length - 1]!;
  const groupW = plotW / Math.max(1, categories.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const body: string[] = [];
  categories.forEach((label, c) => {
    const cx = PAD.left + groupW * (c + 0.5);
    body.push(`<text x="${cx.toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  chart.series.forEach((series, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    for (const [c, y] of finitePoints(series).filter(inGroup)) {
      // A negative value has no bar on a zero-based axis (and SVG refuses negative heights).
      const h = (Math.max(0, y) / top) * plotH;
      const x = PAD.left + groupW * c + groupW * 0.1 + barW * i;
      body.push(
        `<rect x="${x.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${escapeXml(`${series.name}, ${categories[c]}: ${formatTick(y)}`)}</title></rect>`,
      );
    }
  });
  return frame(chart, box, body, ticks);
}

export function renderChart(chart: Chart): string {
  return chart.kind === 'bar' ? renderBar(chart) : renderLine(chart);
}
