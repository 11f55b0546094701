/** URL checks for validate(): kept apart from the HTTP client so validating a job loads no networking code. */
/** Parses and checks a URL; a message names the problem, for validators. */
export function checkHttpUrl(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string' || value === '') return `${field} must be an http(s) URL string, got ${JSON.stringify(value) ?? String(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The URL constructor's own message adds nothing: say what a good value looks like instead.
    return `${field} is not a valid URL: ${JSON.stringify(value)} (expected e.g. "https://example.com/file.pdf")`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${field} must use http or https, got ${JSON.stringify(url.protocol.slice(0, -1))} in ${JSON.stringify(value)}`;
  }
  return undefined;
}
