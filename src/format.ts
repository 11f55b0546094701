/**
 * Formatting shared by the CLI and the dashboard (durations, ages, sizes, JSON-safe values),
 * below both, so the dashboard does not import the CLI. Imports nothing.
 */

/** 850ms, 12.3s, 5m 03s, 2h 10m, 3d 4h: precise when short, coarse when long. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)}ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(abs / 1000);
  const sign = ms < 0 ? '-' : '';
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${sign}${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${sign}${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** "5m 03s ago" for the past, "in 12.0s" for the future (delayed jobs, pause ends). */
export function formatAge(at: number | undefined, now = Date.now()): string {
  if (!at) return '-';
  const delta = now - at;
  return delta >= 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Buffers would print as {type:'Buffer', data:[...every byte...]}; scripts need to know there
 * are bytes and how many, not the bytes themselves.
 */
export function jsonSafe(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { type: 'bytes', length: value.byteLength };
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}
