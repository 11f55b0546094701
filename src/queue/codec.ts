import { ErrorCode, ValidationError } from './errors.js';

/** How a payload is stored: JSON text, or raw bytes (never base64: a 1 MB PDF stays 1 MB). */
export type PayloadType = 'json' | 'bytes';

/**
 * JSON stays a string: ioredis writes a command whose arguments are all strings as one string,
 * while a single Buffer argument switches the whole command to assembling a Buffer piece by
 * piece (two byte-length scans and a copy per argument). With JSON as Buffers, that slow path
 * was every enqueue's and every completion's.
 */
export interface EncodedPayload {
  value: Buffer | string;
  type: PayloadType;
  /** Size as stored (UTF-8 bytes for JSON). */
  bytes: number;
}

const LOSSY_OBJECTS: ReadonlyArray<[abstract new (...args: never[]) => unknown, string]> = [
  [Map, 'a Map (convert it with Object.fromEntries)'],
  [Set, 'a Set (convert it with Array.from)'],
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
  [RegExp, 'a RegExp (send its source string)'],
  [Promise, 'a Promise (await it first)'],
];

/**
 * JSON.stringify silently drops functions, turns NaN into null and Maps into {}; a job that
 * arrives different from what was sent is worse than a refused enqueue, so refuse those.
 */
export function assertSerialisable(value: unknown, path: string, ancestors: unknown[] = []): void {
  switch (typeof value) {
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new ValidationError(path, `is a ${typeof value}, which JSON cannot carry; convert it to a string or number`, ErrorCode.NotSerialisable);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new ValidationError(path, `is ${value}, which JSON cannot carry (it would arrive as null)`, ErrorCode.NotSerialisable);
      }
      return;
    case 'object': {
      if (value === null) return;
      if (ancestors.includes(value)) {
        throw new ValidationError(path, 'refers back to one of its parents (a cycle); JSON cannot carry cycles', ErrorCode.NotSerialisable);
      }
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
        throw new ValidationError(path, 'holds bytes inside a JSON payload; send the bytes as the whole payload, or encode them yourself', ErrorCode.NotSerialisable);
      }
      for (const [ctor, what] of LOSSY_OBJECTS) {
        if (value instanceof ctor) throw new ValidationError(path, `is ${what}, which JSON cannot carry`, ErrorCode.NotSerialisable);
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
      ancestors.push(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => assertSerialisable(item, `${path}[${i}]`, ancestors));
      } else {
        for (const [key, item] of Object.entries(value)) {
          if (item !== undefined) assertSerialisable(item, `${path}.${key}`, ancestors);
        }
      }
      ancestors.pop();
      return;
    }
    default:
      return;
  }
}

export function encodePayload(data: unknown, maxBytes: number, field = 'data'): EncodedPayload {
  let encoded: EncodedPayload;
  if (Buffer.isBuffer(data)) {
    encoded = { value: data, type: 'bytes', bytes: data.byteLength };
  } else if (ArrayBuffer.isView(data)) {
    // Any typed array or DataView is bytes: its memory is taken as is, without a copy.
    encoded = { value: Buffer.from(data.buffer, data.byteOffset, data.byteLength), type: 'bytes', bytes: data.byteLength };
  } else if (data instanceof ArrayBuffer) {
    encoded = { value: Buffer.from(data), type: 'bytes', bytes: data.byteLength };
  } else {
    assertSerialisable(data, field, []);
    // JSON.stringify escapes lone surrogates, so the text is valid UTF-8 and stored byte for byte.
    const text = JSON.stringify(data ?? null);
    encoded = { value: text, type: 'json', bytes: Buffer.byteLength(text) };
  }
  if (encoded.bytes > maxBytes) {
    throw new ValidationError(
      field,
      `is ${encoded.bytes} bytes, over the limit of ${maxBytes} bytes; raise maxPayloadBytes or store the content elsewhere and send a reference`,
      ErrorCode.PayloadTooLarge,
    );
  }
  return encoded;
}

export function decodePayload(value: Buffer | string | undefined, type: string | undefined): unknown {
  if (value === undefined) return undefined;
  if (type === 'bytes') return Buffer.isBuffer(value) ? value : Buffer.from(value);
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return text === '' ? undefined : JSON.parse(text);
}
