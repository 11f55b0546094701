/**
 * Requests to an executor (POST /run, GET /health), each on a fresh connection (no keep-alive). A pooled connection to an
 * executor that has since died fails with "other side closed", which cannot be told apart from
 * an executor dying mid-job; a fresh connection to a dead executor is refused outright, and a
 * refused job was never seen, so it can go to another executor at once. One TCP handshake per
 * job is cheap next to the job itself. Each request is checked against the network policy (the
 * host first, then what it resolves to as the socket connects): see src/net-guard.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkHop, type NetGuard } from '../../net-guard/index.js';
import { FetchError, FetchErrorCode } from '../fetch/errors.js';

export interface PostAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function postJson(url: string, json: string, headers: Record<string, string>, signal: AbortSignal, maxBytes: number, guard: NetGuard): Promise<PostAnswer> {
  return exchange('POST', url, Buffer.from(json), { ...headers, 'content-type': 'application/json' }, signal, maxBytes, guard);
}

/** GET <base>/health: healthy when it answers 2xx. */
export async function healthy(url: string, signal: AbortSignal, guard: NetGuard): Promise<{ ok: boolean; status: number }> {
  const answer = await exchange('GET', url, undefined, {}, signal, 64 * 1024, guard);
  return { ok: answer.status >= 200 && answer.status <= 299, status: answer.status };
}

async function exchange(
  method: 'GET' | 'POST',
  url: string,
  payload: Buffer | undefined,
  headers: Record<string, string>,
  signal: AbortSignal,
  maxBytes: number,
  guard: NetGuard,
): Promise<PostAnswer> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  // Throws, before any connection, for a refused address or metadata name.
  const hop = checkHop(guard, new URL(url), `http: ${method} ${url}`);
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method, agent: false, signal, headers: payload ? { ...headers, 'content-length': String(payload.length) } : headers, ...(hop.lookup ? { lookup: hop.lookup } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > maxBytes) {
            res.destroy();
            reject(new FetchError(FetchErrorCode.TooLarge, `${method} ${url}: the answer is over the limit of ${maxBytes} bytes; raise data.maxBytes if this size is expected`, { unrecoverable: true, url }));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, total) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
