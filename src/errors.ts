/**
 * The one coded error base. Every error family of troupe is a subclass with its own code table
 * (an `as const` object of UPPER_SNAKE strings); callers match on `err.code` (or `instanceof`),
 * never on message text. This file imports nothing, so every layer may import it.
 *
 *   export const FooErrorCode = { Broken: 'FOO_BROKEN' } as const;
 *   export type FooErrorCode = CodeOf<typeof FooErrorCode>;
 *   export class FooError extends CodedError<FooErrorCode> {}
 *   throw new FooError(FooErrorCode.Broken, 'foo is broken; fix it like this', { cause: err });
 *
 * `name` defaults to the class name (`new.target.name`); a family that must keep a fixed name
 * whatever the class is called sets `override name = '...'` itself.
 */

/** The values of a code table: `CodeOf<typeof FooErrorCode>` is the union of its codes. */
export type CodeOf<T extends Readonly<Record<string, string>>> = T[keyof T];

export interface CodedErrorOptions {
  cause?: unknown;
}

export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: CodedErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * True when `err` carries one of these codes: a CodedError, or any error-shaped value with a
 * string `code` (an error rebuilt from a thread or from a job's stored ErrorInfo).
 */
export function hasCode<C extends string>(err: unknown, ...codes: C[]): err is { code: C; message: string; name: string } {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (codes as string[]).includes(code);
}
