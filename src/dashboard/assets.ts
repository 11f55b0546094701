/**
 * The dashboard's only assets, kept as strings so they ship inside the compiled package with no
 * copy step and no CDN: one style sheet (~4 KB) and one script (~1.5 KB). The script only
 * refreshes <main> in place every few seconds (it fetches the same page and swaps it in, so the
 * server renders everything and the page works without it); it pauses while a form field has
 * the focus, a <details> is open, or the tab is hidden.
 */

export const DASHBOARD_CSS = `
:root { --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --card:#fff; --accent:#2557d6; --ok:#1b7f3b; --warn:#a15c00; --bad:#b42318; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:center; gap:18px; padding:10px 24px; background:#16213a; color:#fff; }
header .brand { font-weight:700; font-size:17px; letter-spacing:.3px; }
header nav { display:flex; gap:4px; }
header nav a { color:#c9d3ea; text-decoration:none; padding:5px 10px; border-radius:6px; }
header nav a:hover { background:#24335a; color:#fff; }
header nav a[aria-current="page"] { background:#2f4272; color:#fff; }
header .updated { margin-left:auto; color:#9fb0d6; font-size:12px; }
main { padding:18px 24px 40px; max-width:1400px; }
h1 { font-size:20px; margin:4px 0 12px; }
h2 { font-size:16px; margin:22px 0 8px; }
a { color:var(--accent); }
table { border-collapse:collapse; width:100%; background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
th, td { padding:7px 10px; text-align:left; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f0f2f6; font-weight:600; font-size:12px; color:#475467; text-transform:uppercase; letter-spacing:.3px; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; }
td.n, td.nowrap { white-space:nowrap; }
tr:last-child td { border-bottom:none; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 16px; margin:10px 0; }
.card > h2:first-child { margin-top:2px; }
.cards { display:flex; flex-wrap:wrap; gap:10px; }
.cards .card { margin:0; min-width:120px; }
.card .big { font-size:22px; font-weight:650; font-variant-numeric:tabular-nums; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; }
.muted { color:var(--muted); }
.small { font-size:12px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; background:#eef1f6; color:#344054; white-space:nowrap; }
.badge.ok { background:#e3f4e8; color:var(--ok); }
.badge.warn { background:#fff1dc; color:var(--warn); }
.badge.bad { background:#fde7e5; color:var(--bad); }
.badge.muted { background:#2f4272; color:#dfe6f7; }
.notice { background:#e3f4e8; border:1px solid #b7e1c3; color:#0f5a28; padding:8px 12px; border-radius:8px; }
.error, .warning { background:#fde7e5; border:1px solid #f5b8b2; color:#8a1c12; padding:8px 12px; border-radius:8px; }
.warning { background:#fff1dc; border-color:#f3cf95; color:#7a4500; }
.tabs { display:flex; gap:6px; flex-wrap:wrap; margin:8px 0 12px; }
.tabs a { text-decoration:none; padding:6px 12px; border:1px solid var(--line); border-radius:8px; background:var(--card); color:var(--fg); }
.tabs a[aria-current="page"] { border-color:var(--accent); box-shadow:inset 0 -2px 0 var(--accent); font-weight:600; }
.toolbar { display:flex; flex-wrap:wrap; gap:8px; align-items:center; margin:10px 0; }
form.inline { display:inline; margin:0; }
button, .button { font:inherit; padding:5px 12px; border-radius:6px; border:1px solid #c5cbd6; background:#fff; color:var(--fg); cursor:pointer; text-decoration:none; display:inline-block; }
button:hover, .button:hover { background:#f0f2f6; }
button.primary, .button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.danger, .button.danger { background:#fff; border-color:#e8a29a; color:var(--bad); }
button.danger.solid { background:var(--bad); color:#fff; border-color:var(--bad); }
input, select { font:inherit; padding:5px 8px; border:1px solid #c5cbd6; border-radius:6px; background:#fff; }
pre { background:#f4f5f8; border:1px solid var(--line); border-radius:6px; padding:8px 10px; overflow:auto; max-height:320px; font-size:12.5px; }
pre.hex { white-space:pre; }
dl.fields { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; }
dl.fields dt { color:var(--muted); }
dl.fields dd { margin:0; word-break:break-word; }
ol.timeline { list-style:none; padding:0; margin:0; border-left:2px solid var(--line); }
ol.timeline li { position:relative; padding:4px 0 10px 16px; }
ol.timeline li::before { content:""; position:absolute; left:-6px; top:9px; width:10px; height:10px; border-radius:50%; background:var(--bad); }
ol.timeline li.ok::before { background:var(--ok); }
ol.timeline li.info::before { background:var(--accent); }
.grid2 { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:12px; }
svg { max-width:100%; height:auto; }
.chart { background:#fff; border:1px solid var(--line); border-radius:8px; padding:4px; }
.pager { display:flex; gap:10px; align-items:center; margin:10px 0; }
.confirm { max-width:640px; }
.confirm p.question { font-size:16px; }
`;

export const DASHBOARD_JS = `
(function () {
  // An action's notice is in the URL it redirected to; drop it so a reload does not repeat it.
  if (location.search.indexOf('notice=') >= 0 && window.history.replaceState) {
    var u = new URL(location.href);
    u.searchParams.delete('notice');
    history.replaceState(null, '', u.pathname + u.search);
  }
  var seconds = Number(document.body.dataset.refresh || 0);
  if (!seconds) return;
  function busy() {
    var a = document.activeElement;
    if (a && (a.tagName === 'INPUT' || a.tagName === 'SELECT' || a.tagName === 'TEXTAREA')) return true;
    return document.hidden || document.querySelector('main details[open]') !== null;
  }
  function refresh() {
    if (busy()) return;
    fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text || busy()) return;
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var next = doc.querySelector('main');
        var stamp = doc.getElementById('updated');
        if (next) document.querySelector('main').replaceWith(next);
        if (stamp) document.getElementById('updated').replaceWith(stamp);
      })
      .catch(function () { /* the next tick tries again */ });
  }
  setInterval(refresh, seconds * 1000);
})();
`;
