import { CHART_HEIGHT, CHART_WIDTH, renderChart, type Chart } from '../charts/svg.js';
import type { KneeChoice } from './knee.js';
import type { Measurement } from './measure.js';
import { pointLabel } from './plan.js';

/** The two charts: throughput, and latency (p50 and p99) on their own axis, knee ringed on both. */
export function tuneCharts(processor: string, rows: readonly Measurement[], choice: KneeChoice): Chart[] {
  const categories = rows.map(pointLabel);
  const knee = choice.ok ? choice.knee : undefined;
  const xLabel = 'threads × tasks per thread';
  const throughput: Chart = {
    kind: 'line',
    title: `troupe tune ${processor}: throughput`,
    xLabel,
    yLabel: 'jobs/s',
    categories,
    series: [{ name: 'jobs/s', points: rows.map((r, i) => [i, r.jobsPerSec] as const) }],
    ...(knee !== undefined ? { marks: [{ x: knee, y: rows[knee]!.jobsPerSec, label: 'knee' }] } : {}),
  };
  const latency: Chart = {
    kind: 'line',
    title: `troupe tune ${processor}: latency, lease to result`,
    xLabel,
    yLabel: 'ms',
    categories,
    series: [
      { name: 'p50 ms', points: rows.map((r, i) => [i, r.p50Ms] as const) },
      { name: 'p99 ms', points: rows.map((r, i) => [i, r.p99Ms] as const) },
    ],
    ...(knee !== undefined ? { marks: [{ x: knee, y: rows[knee]!.p99Ms, label: 'knee' }] } : {}),
  };
  return [throughput, latency];
}

/** One SVG file holding both charts, one above the other (nested <svg> elements). */
export function tuneSvg(processor: string, rows: readonly Measurement[], choice: KneeChoice): string {
  const charts = tuneCharts(processor, rows, choice);
  const height = CHART_HEIGHT * charts.length;
  const inner = charts.map((chart, i) => renderChart(chart).trimEnd().replace(/^<svg /, `<svg x="0" y="${i * CHART_HEIGHT}" `));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${height}" viewBox="0 0 ${CHART_WIDTH} ${height}">`,
    ...inner,
    '</svg>',
    '',
  ].join('\n');
}
