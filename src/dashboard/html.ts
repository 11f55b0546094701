/**
 * The pages' frame and small pieces. Every value that came from Redis or a URL goes through
 * escapeHtml (h``), and pages carry no inline script or style, so the Content-Security-Policy
 * can forbid both.
 */
import { escapeHtml } from '../supervisor/http-server.js';
import { formatAge, formatBytes, formatDuration } from '../format.js';

export { escapeHtml, formatAge, formatBytes, formatDuration };

/** Raw HTML that is already safe (built by these helpers). */
export class Html {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

type Part = Html | string | number | null | undefined | false | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.html;
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(String(part));
}

/** Template tag: interpolated values are escaped unless they are Html. */
export function h(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new Html(out);
}

export const raw = (html: string): Html => new Html(html);

export function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** Milliseconds to a precision a person can read (as `troupe stats`). */
export function ms(v: number): string {
  if (v === 0) return '0';
  return v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : formatDuration(v);
}

export const path = (...segments: string[]): string => `/${segments.map(encodeURIComponent).join('/')}`;

export function link(href: string, text: Part, cls?: string): Html {
  return h`<a href="${href}"${cls ? raw(` class="${escapeHtml(cls)}"`) : ''}>${text}</a>`;
}

export function badge(text: string, kind: string): Html {
  return h`<span class="badge ${kind}">${text}</span>`;
}

/** A form with one button: the only way the pages change anything (POST, same origin). */
export function actionButton(action: string, label: string, kind = '', fields: Record<string, string> = {}): Html {
  const hidden = Object.entries(fields).map(([k, v]) => h`<input type="hidden" name="${k}" value="${v}">`);
  return h`<form method="post" action="${action}" class="inline">${hidden}<button type="submit" class="${kind}">${label}</button></form>`;
}

export interface LayoutOptions {
  title: string;
  nav: 'overview' | 'queues' | 'supervisors' | 'schedules' | 'metrics' | 'none';
  body: Html;
  readOnly: boolean;
  /** Seconds between refreshes of <main> (0 = none: forms, confirmations). */
  refresh?: number;
  notice?: string | null;
  error?: string | null;
  at?: number;
}

const NAV: Array<[LayoutOptions['nav'], string, string]> = [
  ['overview', 'Overview', '/'],
  ['supervisors', 'Supervisors', '/supervisors'],
  ['schedules', 'Schedules', '/schedules'],
  ['metrics', 'Metrics', '/charts'],
];

export function layout(o: LayoutOptions): string {
  const nav = NAV.map(([key, label, href]) => h`<a href="${href}"${key === o.nav ? raw(' aria-current="page"') : ''}>${label}</a>`);
  const page = h`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Troupe</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/dashboard.css"><script src="/assets/dashboard.js" defer></script></head>
<body${o.refresh ? raw(` data-refresh="${o.refresh}"`) : ''}>
<header><span class="brand">Troupe</span><nav>${nav}<a href="/docs">API</a></nav>${o.readOnly ? badge('read-only', 'muted') : ''}<span class="updated" id="updated">${o.at ? h`updated ${new Date(o.at).toISOString().slice(11, 19)} UTC` : ''}</span></header>
<main>${o.notice ? h`<p class="notice" role="status">${o.notice}</p>` : ''}${o.error ? h`<p class="error" role="alert">${o.error}</p>` : ''}
${o.body}</main></body></html>
`;
  return page.html;
}

/** Bytes or JSON shown as a size and a bounded preview (hex and text for bytes), never dumped whole. */
export function preview(value: unknown, limit = 2000): Html {
  if (value === undefined) return h`<p class="muted">none</p>`;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const head = bytes.subarray(0, 256);
    const rows: string[] = [];
    for (let i = 0; i < head.length; i += 16) {
      const chunk = head.subarray(i, i + 16);
      const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const text = [...chunk].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
      rows.push(`${i.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${text}`);
    }
    return h`<p class="muted">${formatBytes(bytes.byteLength)} of bytes${bytes.byteLength > head.length ? `, first ${head.length} shown` : ''}</p><pre class="hex">${rows.join('\n')}</pre>`;
  }
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  const size = Buffer.byteLength(text);
  return h`<p class="muted">${formatBytes(size)} of JSON${text.length > limit ? `, first ${num(limit)} characters shown` : ''}</p><pre>${text.length > limit ? `${text.slice(0, limit)}…` : text}</pre>`;
}
