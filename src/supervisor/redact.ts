/** Logs and messages never show a Redis password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch (err) {
    return `(unparseable URL: ${err instanceof Error ? err.message : String(err)})`;
  }
}
