import { readFileSync, statSync } from 'node:fs';
import { encodePayload } from '../queue/codec.js';
import { ValidationError } from '../queue/errors.js';
import { DEFAULT_QUEUE_OPTIONS } from '../queue/options.js';
import { TuneInputError } from './input-error.js';

/** The job data `troupe tune` runs, copied into every job it enqueues. */
export interface Sample {
  path: string;
  data: unknown;
  /** How the data is stored: parsed JSON, or the file's raw bytes. */
  kind: 'json' | 'bytes';
  /** Size of one job's payload as stored in Redis. */
  bytes: number;
}

const HOW =
  'a .json file is the job\'s data as is; any other file is sent as its raw bytes (e.g. --sample invoice.pdf for pdf, --sample page.html for wasm)';

/**
 * Reads the sample the way `troupe enqueue --data-file` reads a payload (.json is parsed, any
 * other file is bytes), so a sample that tunes well is exactly what production jobs carry.
 */
export function readSample(path: string | undefined): Sample {
  if (path === undefined || path === '') {
    throw new TuneInputError(`--sample FILE is required: the data of the job to tune with; ${HOW}`);
  }
  let raw: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new TuneInputError(`--sample: ${path} is a directory; give one file: ${HOW}`);
    raw = readFileSync(path);
  } catch (err) {
    if (err instanceof TuneInputError) throw err;
    throw new TuneInputError(`--sample: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}; check the path and its permissions`);
  }
  let data: unknown = raw;
  let kind: Sample['kind'] = 'bytes';
  if (path.toLowerCase().endsWith('.json')) {
    try {
      data = JSON.parse(raw.toString('utf8'));
      kind = 'json';
    } catch (err) {
      throw new TuneInputError(
        `--sample: ${path} ends in .json but is not valid JSON (${err instanceof Error ? err.message : String(err)}); fix it, or rename it to send it as raw bytes`,
      );
    }
  }
  try {
    const encoded = encodePayload(data, DEFAULT_QUEUE_OPTIONS.maxPayloadBytes, 'sample');
    return { path, data, kind, bytes: encoded.bytes };
  } catch (err) {
    if (err instanceof ValidationError) throw new TuneInputError(`--sample: ${path} ${err.detail}`);
    throw err;
  }
}

/**
 * Checks the sample against the processor's own validate(), so a sample the processor refuses
 * is a usage error now rather than a table of failed jobs after a minute of measuring.
 */
export function checkSampleFits(processor: { name: string; validate?: (input: unknown) => void | string | undefined }, sample: Sample): void {
  let problem: string | undefined;
  try {
    problem = processor.validate?.(sample.data) ?? undefined;
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err);
  }
  if (problem) {
    throw new TuneInputError(`--sample: ${processor.name} refuses ${sample.path} (${sample.kind === 'json' ? 'JSON' : `${sample.bytes} bytes`}): ${problem}`);
  }
}
