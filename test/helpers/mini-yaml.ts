/**
 * A YAML reader for the subset the files under deploy/ use, so their tests need no YAML
 * package (none is installed): block mappings and sequences (a sequence may sit at its key's
 * indent, as Kubernetes manifests write it), `- key: value` items, plain, single- and
 * double-quoted scalars, flow sequences of scalars (`[a, b]`), `{}` and `[]`, literal block
 * scalars (`|`, `|-`), comments and `---` between documents. Anything else (anchors, tags,
 * multi-line plain scalars, nested flow collections) throws, naming the line, rather than being
 * read wrongly.
 */

interface Line {
  indent: number;
  text: string;
  no: number;
}

type Value = unknown;

function stripComment(raw: string): string {
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || raw[i - 1] === ' ')) {
      return raw.slice(0, i).trimEnd();
    }
  }
  return raw.trimEnd();
}

function fail(line: Line | undefined, why: string): never {
  throw new Error(`mini-yaml: line ${line?.no ?? '?'}: ${why}${line ? `: ${JSON.stringify(line.text)}` : ''}`);
}

function scalar(text: string, line: Line): Value {
  const t = text.trim();
  if (t === '') return null;
  if (t.startsWith('"')) {
    if (!t.endsWith('"') || t.length < 2) fail(line, 'unterminated double-quoted string');
    return JSON.parse(t) as string;
  }
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2) fail(line, 'unterminated single-quoted string');
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (t === '{}') return {};
  if (t === '[]') return [];
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) fail(line, 'flow sequence over several lines');
    const inner = t.slice(1, -1);
    if (/[[\]{}]/.test(inner)) fail(line, 'nested flow collection');
    return inner.split(',').map((part) => scalar(part, line));
  }
  if (t.startsWith('{') || t.startsWith('&') || t.startsWith('*') || t.startsWith('!')) fail(line, 'flow mapping, anchor, alias or tag');
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null' || t === '~') return null;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t;
}

/** `key: rest` → [key, rest]; undefined when the text is not a mapping entry. */
function splitKey(text: string): [string, string] | undefined {
  const quoted = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')\s*:(\s|$)/.exec(text);
  if (quoted) return [scalar(quoted[1]!, { indent: 0, text, no: 0 }) as string, text.slice(quoted[0].length).trim()];
  const m = /^([^\s"'#][^:]*?)\s*:(\s|$)/.exec(text);
  if (!m) return undefined;
  return [m[1]!, text.slice(m[0].length).trim()];
}

class Reader {
  constructor(private readonly lines: Line[]) {}
  private i = 0;

  done(): boolean {
    return this.i >= this.lines.length;
  }

  block(indent: number): Value {
    const line = this.lines[this.i];
    if (!line) return null;
    if (line.indent !== indent) fail(line, `expected indent ${indent}`);
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): Value[] {
    const out: Value[] = [];
    for (let line = this.lines[this.i]; line && line.indent === indent && (line.text === '-' || line.text.startsWith('- ')); line = this.lines[this.i]) {
      const rest = line.text === '-' ? '' : line.text.slice(2).trimStart();
      const inner = indent + (line.text.length - rest.length);
      if (rest === '') {
        this.i += 1;
        const next = this.lines[this.i];
        out.push(next && next.indent > indent ? this.block(next.indent) : null);
      } else if (splitKey(rest) || rest.startsWith('- ')) {
        // "- key: value": a mapping (or sequence) whose first line starts after the dash.
        this.lines[this.i] = { indent: inner, text: rest, no: line.no };
        out.push(this.block(inner));
      } else {
        this.i += 1;
        out.push(scalar(rest, line));
      }
    }
    return out;
  }

  private mapping(indent: number): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (let line = this.lines[this.i]; line && line.indent === indent && !line.text.startsWith('- ') && line.text !== '-'; line = this.lines[this.i]) {
      const entry = splitKey(line.text);
      if (!entry) fail(line, 'not a "key: value" line');
      const [key, rest] = entry;
      if (key in out) fail(line, `key ${key} given twice`);
      this.i += 1;
      if (rest === '|' || rest === '|-' || rest === '>' || rest === '>-') {
        out[key] = this.blockScalar(indent, rest);
      } else if (rest === '') {
        const next = this.lines[this.i];
        if (next && next.indent > indent) out[key] = this.block(next.indent);
        else if (next && next.indent === indent && (next.text.startsWith('- ') || next.text === '-')) out[key] = this.sequence(indent);
        else out[key] = null;
      } else {
        out[key] = scalar(rest, line);
      }
    }
    const stray = this.lines[this.i];
    if (stray && stray.indent > indent) fail(stray, 'more indented than its mapping (a multi-line plain scalar?)');
    return out;
  }

  private blockScalar(indent: number, style: string): string {
    const body: Line[] = [];
    while (this.lines[this.i] && this.lines[this.i]!.indent > indent) body.push(this.lines[this.i++]!);
    const base = Math.min(...body.map((l) => l.indent));
    const text = body.map((l) => ' '.repeat(l.indent - base) + l.text).join(style.startsWith('>') ? ' ' : '\n');
    return style.endsWith('-') ? text : `${text}\n`;
  }
}

/** Every document of a YAML stream in the subset above. */
export function parseYamlDocuments(source: string): Value[] {
  const docs: Line[][] = [[]];
  source.split('\n').forEach((raw, index) => {
    if (/^---\s*$/.test(raw)) return void docs.push([]);
    if (raw.includes('\t')) fail({ indent: 0, text: raw, no: index + 1 }, 'tab character');
    const text = stripComment(raw);
    if (text.trim() === '') return;
    docs[docs.length - 1]!.push({ indent: text.length - text.trimStart().length, text: text.trim(), no: index + 1 });
  });
  return docs
    .filter((d) => d.length > 0)
    .map((lines) => {
      const reader = new Reader(lines);
      const value = reader.block(lines[0]!.indent);
      if (!reader.done()) fail(undefined, 'text left over after the document');
      return value;
    });
}
