/**
 * Real-looking web pages for the extraction bench, generated from a seed so every run measures
 * the same bytes: a head with styles, scripts and JSON-LD, a navigation bar, an article with
 * headings, paragraphs full of inline markup, links and character references, lists, a table,
 * a code block, an aside and a footer. The mix of markup to text is that of a news or docs page
 * (roughly a third of the bytes are readable text).
 */

const VOCABULARY = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an had they you were ' +
  'their one all we can her has there been if more when will would who so no she other its may these about them than could ' +
  'time only new some into two then what also first like any over after most such made where through back years much ' +
  'before between world under city council bridge harbour engineers report budget traffic morning market prices energy ' +
  'network system service release version config threads queue supervisor memory module extractor document pages water ' +
  'school health research university data analysis results method model process support community project program ' +
  'café naïve Zürich résumé façade 東京 façades coöperate'
).split(' ');

const ENTITIES = ['&amp;', '&mdash;', '&rsquo;', '&nbsp;', '&ldquo;', '&rdquo;', '&eacute;', '&#8212;', '&#x2019;', '&hellip;'];

/** Park–Miller: small, fast, and the same sequence on every machine. */
function random(seed: number): (n: number) => number {
  let state = seed % 2147483647 || 1;
  return (n) => {
    state = (state * 48271) % 2147483647;
    return state % n;
  };
}

function sentence(r: (n: number) => number, words: number): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i++) {
    let w = VOCABULARY[r(VOCABULARY.length)]!;
    const roll = r(100);
    if (roll < 4) w = `<a href="/articles/${w}-${r(9999)}?ref=body&amp;pos=${i}">${w} ${VOCABULARY[r(VOCABULARY.length)]}</a>`;
    else if (roll < 7) w = `<em>${w}</em>`;
    else if (roll < 9) w = `<strong>${w}</strong>`;
    else if (roll < 12) w = `${w}${ENTITIES[r(ENTITIES.length)]}`;
    parts.push(w);
  }
  const text = parts.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function paragraph(r: (n: number) => number): string {
  const sentences = 2 + r(5);
  return `<p class="body-text">${Array.from({ length: sentences }, () => sentence(r, 8 + r(18))).join(' ')}</p>\n`;
}

function head(r: (n: number) => number, title: string): string {
  const css = Array.from({ length: 40 }, (_, i) => `.c${i} > p:not(.x${r(99)}) { margin: ${r(20)}px ${r(20)}px; color: #${r(0xffffff).toString(16)}; }`).join('\n');
  const js = Array.from({ length: 30 }, (_, i) => `if (a${i} < b${i} && c${i} > 0) { w.q.push(["ev${i}", "<div>" + ${r(999)} + "</div>"]); }`).join('\n');
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${title} &ndash; The Daily Example</title>\n<link rel="stylesheet" href="/static/site.${r(1e6)}.css">\n` +
    `<style>\n${css}\n</style>\n<script type="application/ld+json">{"@type":"NewsArticle","headline":"${title}"}</script>\n` +
    `<script>\n${js}\n</script>\n</head>\n`
  );
}

function nav(r: (n: number) => number): string {
  const links = Array.from({ length: 12 + r(20) }, (_, i) => `<li><a href="/section/${i}">${VOCABULARY[r(VOCABULARY.length)]}</a></li>`);
  return `<header class="site"><a class="logo" href="/"><svg viewBox="0 0 8 8"><path d="M0 0h8v8z"/></svg></a>\n<nav><ul>${links.join('')}</ul></nav></header>\n`;
}

function extras(r: (n: number) => number, k: number): string {
  switch (k % 5) {
    case 0:
      return `<ul>${Array.from({ length: 3 + r(5) }, () => `<li>${sentence(r, 6 + r(8))}</li>`).join('\n')}</ul>\n`;
    case 1:
      return `<blockquote><p>${sentence(r, 15)}</p></blockquote>\n`;
    case 2:
      return `<table><thead><tr><th>item</th><th>value</th></tr></thead><tbody>${Array.from({ length: 4 }, () => `<tr><td>${VOCABULARY[r(VOCABULARY.length)]}</td><td>${r(10000)}</td></tr>`).join('')}</tbody></table>\n`;
    case 3:
      return `<pre><code>npm install troupe\nnpx troupe supervise --threads ${1 + r(8)}\nif (a &lt; b) { run(); }\n</code></pre>\n`;
    default:
      return `<figure><img src="/img/${r(1e6)}.jpg" alt="photo"><figcaption>${sentence(r, 8)}</figcaption></figure>\n`;
  }
}

/** One page of about `targetBytes` (UTF-8), from `seed`. */
export function makePage(seed: number, targetBytes: number): string {
  const r = random(seed);
  const title = sentence(r, 6).replace(/<[^>]+>|&\w+;|&#\w+;/g, '');
  let body = `<body>\n${nav(r)}<main><article>\n<h1>${title}</h1>\n<p class="byline">By <a href="/authors/${r(500)}">${VOCABULARY[r(50)]}</a></p>\n`;
  const foot = `</article>\n<aside><h3>Related</h3>${Array.from({ length: 5 }, (_, i) => `<a href="/related/${i}">${sentence(r, 4)}</a>`).join('\n')}</aside></main>\n<footer><p>&copy; 2024 The Daily Example. <a href="/privacy">Privacy</a></p></footer>\n<script src="/static/app.js" async></script>\n</body>\n</html>\n`;
  const top = head(r, title);
  let k = 0;
  while (Buffer.byteLength(top + body + foot) < targetBytes) {
    if (k % 6 === 5) body += `<h2>${sentence(r, 4)}</h2>\n`;
    body += paragraph(r);
    if (k % 4 === 3) body += extras(r, k);
    k++;
  }
  return top + body + foot;
}
