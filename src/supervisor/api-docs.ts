/**
 * /openapi.json, /openapi.yaml and /docs for every Troupe endpoint. /docs is a small renderer
 * of our own (~5 KB of script and style, kept as strings so it ships in the package with no
 * CDN) rather than Swagger UI or Redoc (about 1 MB each, and they need inline styles, which the
 * Content-Security-Policy forbids). It reads /openapi.json and lists each path with its
 * parameters, request body and responses (401, 404 and 405 included).
 */
import { htmlReply, jsonReply, type Handler, type Reply } from './http-server.js';

/** Served without the token: they describe the API, not the state behind it. */
export const API_DOCS_PATHS: ReadonlySet<string> = new Set(['/openapi.json', '/openapi.yaml', '/docs', '/docs/app.js', '/docs/app.css']);

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** JSON as YAML (block style). Strings are written double-quoted, JSON-escaped: valid YAML 1.2 and never mistaken for a number or a boolean. */
export function toYaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  const scalar = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === null || v === undefined ? 'null' : String(v));
  const key = (k: string) => (PLAIN_KEY.test(k) ? k : JSON.stringify(k));
  const isEmpty = (v: unknown) => (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && v !== null && Object.keys(v).length === 0);
  const inline = (v: unknown) => (Array.isArray(v) ? '[]' : '{}');
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        if (typeof item === 'object' && item !== null && !isEmpty(item)) {
          const body = toYaml(item, indent + 2);
          return `${pad}- ${body.slice(indent + 2)}`;
        }
        return `${pad}- ${isEmpty(item) ? inline(item) : scalar(item)}\n`;
      })
      .join('');
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => {
        if (typeof v === 'object' && v !== null) return isEmpty(v) ? `${pad}${key(k)}: ${inline(v)}\n` : `${pad}${key(k)}:\n${toYaml(v, indent + 2)}`;
        return `${pad}${key(k)}: ${scalar(v)}\n`;
      })
      .join('');
  }
  return `${pad}${scalar(value)}\n`;
}

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>API · Troupe</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/docs/app.css"><script src="/docs/app.js" defer></script></head>
<body><header><strong>Troupe API</strong> <a href="/openapi.json">openapi.json</a> <a href="/openapi.yaml">openapi.yaml</a> <a href="/">dashboard</a></header>
<main id="docs"><p>Loading /openapi.json…</p></main></body></html>
`;

const DOCS_CSS = `
body { margin:0; font:14px/1.45 system-ui, sans-serif; color:#1d2330; background:#f7f8fa; }
header { padding:10px 24px; background:#16213a; color:#fff; display:flex; gap:16px; align-items:center; }
header a { color:#c9d3ea; }
main { padding:16px 24px; max-width:1100px; }
details.op { background:#fff; border:1px solid #e4e7ec; border-radius:8px; margin:10px 0; padding:10px 14px; }
.method { display:inline-block; min-width:52px; text-align:center; font-weight:700; font-size:12px; border-radius:4px; padding:2px 6px; color:#fff; background:#2557d6; }
.method.post { background:#1b7f3b; }
code.path { font-size:15px; font-weight:600; }
.lock { font-size:12px; color:#a15c00; margin-left:8px; }
table { border-collapse:collapse; width:100%; margin:6px 0; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid #eef0f3; vertical-align:top; font-size:13px; }
th { color:#475467; font-size:12px; }
pre { background:#f4f5f8; padding:8px; border-radius:6px; overflow:auto; font-size:12px; max-height:260px; }
.muted { color:#667085; }
summary { cursor:pointer; }
details.op[open] summary { margin-bottom:6px; }
`;

const DOCS_JS = `
(function () {
  var main = document.getElementById('docs');
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function resolve(doc, s) {
    if (s && s.$ref) { var parts = s.$ref.replace(/^#\\//, '').split('/'); var v = doc; parts.forEach(function (p) { v = v && v[p]; }); return v || s; }
    return s;
  }
  function shape(doc, s, depth) {
    s = resolve(doc, s) || {};
    if (depth > 4) return '…';
    if (s.type === 'array') return [shape(doc, s.items, depth + 1)];
    if (s.type === 'object' || s.properties) {
      var out = {};
      Object.keys(s.properties || {}).forEach(function (k) { out[k] = shape(doc, s.properties[k], depth + 1); });
      if (s.additionalProperties) out['<name>'] = shape(doc, s.additionalProperties, depth + 1);
      return out;
    }
    return (s.enum ? s.enum.join(' | ') : (s.type || 'any')) + (s.nullable ? ' | null' : '');
  }
  function render(doc) {
    main.textContent = '';
    main.appendChild(el('h1', doc.info.title + ' ' + doc.info.version));
    if (doc.info.description) main.appendChild(el('p', doc.info.description, 'muted'));
    Object.keys(doc.paths).forEach(function (path) {
      var item = doc.paths[path];
      Object.keys(item).forEach(function (method) {
        var op = item[method];
        var sec = el('details', undefined, 'op');
        sec.id = method + '-' + path;
        var head = el('summary');
        head.appendChild(el('span', method.toUpperCase(), 'method ' + method));
        head.appendChild(document.createTextNode(' '));
        head.appendChild(el('code', path, 'path'));
        if (op.security && op.security.length) head.appendChild(el('span', 'token when --http-token is set', 'lock'));
        sec.appendChild(head);
        if (op.summary) head.appendChild(el('span', ' ' + op.summary, 'muted'));
        if (op.description) sec.appendChild(el('p', op.description, 'muted'));
        if (op.parameters && op.parameters.length) {
          var t = el('table'); var tr = el('tr'); ['parameter', 'in', 'type', 'about'].forEach(function (h) { tr.appendChild(el('th', h)); }); t.appendChild(tr);
          op.parameters.forEach(function (p) {
            var r = el('tr');
            r.appendChild(el('td', p.name + (p.required ? ' *' : '')));
            r.appendChild(el('td', p.in));
            r.appendChild(el('td', JSON.stringify(shape(doc, p.schema, 0))));
            r.appendChild(el('td', p.description || ''));
            t.appendChild(r);
          });
          sec.appendChild(t);
        }
        if (op.requestBody) {
          sec.appendChild(el('div', 'Request body', 'muted'));
          var content = op.requestBody.content || {};
          Object.keys(content).forEach(function (type) { sec.appendChild(el('pre', type + '\\n' + JSON.stringify(shape(doc, content[type].schema, 0), null, 2))); });
        }
        var rt = el('table'); var rh = el('tr'); ['status', 'meaning', 'body'].forEach(function (h) { rh.appendChild(el('th', h)); }); rt.appendChild(rh);
        Object.keys(op.responses || {}).forEach(function (code) {
          var resp = op.responses[code]; var r = el('tr');
          r.appendChild(el('td', code)); r.appendChild(el('td', resp.description || ''));
          var body = el('td'); var c = Number(code) < 400 ? resp.content || {} : {};
          if (Number(code) >= 400) body.textContent = '{ "error": string }';
          Object.keys(c).forEach(function (type) { body.appendChild(el('pre', type + '\\n' + JSON.stringify(shape(doc, c[type].schema, 0), null, 2))); });
          r.appendChild(body); rt.appendChild(r);
        });
        sec.appendChild(rt);
        main.appendChild(sec);
      });
    });
  }
  fetch('/openapi.json').then(function (r) { return r.json(); }).then(render).catch(function (e) { main.textContent = 'Could not load /openapi.json: ' + e; });
})();
`;

/** Serves the description: `document()` builds the OpenAPI object (once per request; it is small). */
export function apiDocsHandler(document: () => object): Handler {
  return (req): Reply | undefined => {
    if (!API_DOCS_PATHS.has(req.path)) return undefined;
    if (req.method === 'POST') return jsonReply(405, { error: `${req.path} takes GET` }, { allow: 'GET, HEAD' });
    switch (req.path) {
      case '/openapi.json':
        return jsonReply(200, document());
      case '/openapi.yaml':
        return { status: 200, type: 'application/yaml; charset=utf-8', body: toYaml(document()) };
      case '/docs':
        return htmlReply(200, DOCS_HTML);
      case '/docs/app.js':
        return { status: 200, type: 'text/javascript; charset=utf-8', body: DOCS_JS };
      default:
        return { status: 200, type: 'text/css; charset=utf-8', body: DOCS_CSS };
    }
  };
}
