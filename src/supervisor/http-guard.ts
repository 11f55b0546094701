/**
 * The rules every Troupe HTTP endpoint follows (a supervisor's and `troupe dashboard`'s):
 * loopback unless a token is set, the token checked in constant time, state changes by POST
 * only and never from another site, and a token id (never the token) to name who acted.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/** Shortest token accepted: 16 characters is 64 bits of hex, beyond guessing over HTTP. */
export const MIN_TOKEN_LENGTH = 16;
/** The browser's cookie: a value derived from the token, so the cookie never holds the token itself. */
export const SESSION_COOKIE = 'troupe_session';

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Why binding `host` without a token is refused, or undefined when it is allowed. The sentence
 * names the fix: a token, or a loopback address.
 */
export function exposureProblem(host: string, token: string, what = 'the HTTP endpoint'): string | undefined {
  if (token !== '' && token.length < MIN_TOKEN_LENGTH) {
    return `httpToken: must be at least ${MIN_TOKEN_LENGTH} characters (got ${token.length}); make one with "openssl rand -hex 16"`;
  }
  if (token === '' && !isLoopbackHost(host)) {
    return (
      `httpHost: ${host} lets other machines reach ${what}, which then needs a token: set --http-token ` +
      `(env TROUPE_HTTP_TOKEN, config "httpToken"; e.g. "openssl rand -hex 16"), or bind 127.0.0.1`
    );
  }
  return undefined;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Names a token in logs: the first 8 hex digits of its SHA-256, which cannot be turned back into it. */
export function tokenId(token: string): string {
  return `token:${sha256(token).toString('hex').slice(0, 8)}`;
}

/** The cookie value for a token (a hash of it with a fixed label). */
export function sessionValue(token: string): string {
  return sha256(`troupe-session:${token}`).toString('hex');
}

/** Constant-time comparison of two strings by their hashes (equal lengths, as timingSafeEqual needs). */
function same(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function cookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** True when the request carries the token: `Authorization: Bearer <token>` or the session cookie. */
export function hasToken(headers: IncomingHttpHeaders, token: string): boolean {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ') && same(auth.slice(7).trim(), token)) return true;
  const session = cookie(headers, SESSION_COOKIE);
  return session !== undefined && same(session, sessionValue(token));
}

/** True when `given` is the token (the login form), compared in constant time. */
export function isToken(given: string, token: string): boolean {
  return same(given, token);
}

/**
 * Why a state-changing request looks cross-site, or undefined when it does not. Browsers send
 * Sec-Fetch-Site (and Origin) on every POST; a page of another site gets "cross-site" or
 * "same-site" (a sibling subdomain or another port of the same host name) and a foreign Origin.
 * Clients that are not browsers (curl, scripts) send neither, and they carry the token
 * themselves, which another site's page cannot read.
 */
export function crossSiteProblem(headers: IncomingHttpHeaders): string | undefined {
  // Sec-Fetch-Site is set by the browser and cannot be forged by a page; when present it decides.
  const site = headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none' ? undefined : `Sec-Fetch-Site is "${site}"`;
  // Older browsers: Origin, which a form POST carries ("null" from opaque origins, refused).
  const origin = headers.origin;
  if (origin !== undefined) {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return `Origin "${origin}" is not this server`;
    }
    if (host !== headers.host) return `Origin ${origin} is not this server (${headers.host ?? 'no Host header'})`;
  }
  return undefined;
}

/** Headers every reply carries: no framing, no sniffing, no referrer, and pages load only their own assets. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our own form POSTs.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};
