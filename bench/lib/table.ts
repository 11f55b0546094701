/** One table, rendered either as aligned text (stdout) or as markdown (the report file). */
export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  /** Columns (by index) that hold text and so stay left-aligned; the rest are numbers. */
  textColumns?: number[];
  notes?: string[];
}

function isText(table: Table, column: number): boolean {
  return (table.textColumns ?? [0]).includes(column);
}

/**
 * Headers and rows cut to one width, cells on one line: a row one cell short (or long) would
 * otherwise shift every column after it, and a newline would end a markdown row early.
 * Rendering never throws, so a slip in one bench's table cannot lose the whole run's report.
 */
function normalise(table: Table): { headers: string[]; rows: string[][] } {
  const width = Math.max(table.headers.length, ...table.rows.map((r) => r.length));
  const fit = (cells: readonly string[]) => Array.from({ length: width }, (_, c) => String(cells[c] ?? '').replace(/\s*\r?\n\s*/g, ' '));
  return { headers: fit(table.headers), rows: table.rows.map(fit) };
}

export function renderText(table: Table): string {
  const { headers, rows } = normalise(table);
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (isText(table, c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const out = [table.title, line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  for (const note of table.notes ?? []) out.push(`  * ${note}`);
  return out.join('\n');
}

/** A markdown table under a heading of `level` (### by default: tables sit inside a bench's section). */
export function renderMarkdown(table: Table, level = 3): string {
  const { headers, rows } = normalise(table);
  // A pipe inside a cell would end the cell; GitHub reads \| as a literal pipe, in code spans too.
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const align = headers.map((_, c) => (isText(table, c) ? ':---' : '---:'));
  const out = [
    `${'#'.repeat(level)} ${table.title.replace(/\s*\r?\n\s*/g, ' ')}`,
    '',
    `| ${headers.map(escape).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ];
  if (table.notes?.length) out.push('', ...table.notes.map((n) => `- ${n}`));
  return out.join('\n');
}
