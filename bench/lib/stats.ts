/** Small numeric helpers; benches report medians because single timings on a shared box lie. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Half the min-max range relative to the median: a blunt but honest noise indicator. */
export function halfSpreadPct(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  return m === 0 ? 0 : ((Math.max(...values) - Math.min(...values)) / 2 / m) * 100;
}

export function fmtInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

/** Rate with its spread, e.g. "12,345 ±4%" (the spread is omitted for a single round). */
export function fmtRate(values: readonly number[]): string {
  if (values.length === 0) return '—';
  const spread = values.length > 1 ? ` ±${halfSpreadPct(values).toFixed(0)}%` : '';
  return `${fmtInt(median(values))}${spread}`;
}

export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '—';
}

export function fmtPerJob(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}

export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = ((by % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
