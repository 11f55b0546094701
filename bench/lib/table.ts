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

export function renderText(table: Table): string {
  const widths = table.headers.map((h, c) => Math.max(h.length, ...table.rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (isText(table, c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const out = [table.title, line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)];
  for (const note of table.notes ?? []) out.push(`  * ${note}`);
  return out.join('\n');
}

export function renderMarkdown(table: Table): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const align = table.headers.map((_, c) => (isText(table, c) ? ':---' : '---:'));
  const out = [
    `### ${table.title}`,
    '',
    `| ${table.headers.map(escape).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...table.rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ];
  if (table.notes?.length) out.push('', ...table.notes.map((n) => `- ${n}`));
  return out.join('\n');
}
