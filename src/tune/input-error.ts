/**
 * Bad input to `troupe tune` (an unknown processor, a sample that cannot be read or that the
 * processor refuses), found before any Redis or thread is started. tune/ does not import the
 * CLI: `troupe tune` reports this as a usage error (exit 2, message unchanged).
 */
export class TuneInputError extends Error {
  override name = 'TuneInputError';
}
