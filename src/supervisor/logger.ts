import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout (pino); the level comes from config. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}
