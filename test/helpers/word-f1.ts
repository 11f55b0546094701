/** Word-level F1: words are whitespace-separated tokens, compared as multisets. */
export function wordF1(ours: string, reference: string): { precision: number; recall: number; f1: number } {
  const a = ours.split(/\s+/).filter(Boolean);
  const b = reference.split(/\s+/).filter(Boolean);
  const counts = new Map<string, number>();
  for (const w of b) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of a) {
    const n = counts.get(w) ?? 0;
    if (n > 0) {
      common += 1;
      counts.set(w, n - 1);
    }
  }
  const precision = a.length ? common / a.length : 0;
  const recall = b.length ? common / b.length : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}
