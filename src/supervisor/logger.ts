import { pino, type Logger } from 'pino';
import { REDIS_CONNECTION_WARNING } from '../queue/connection.js';

export type { Logger };

/** JSON lines on stdout (pino); the level comes from config. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * Sends this process's warnings (process.emitWarning: the queue layer's clients, Node's own
 * deprecations) through the logger instead of Node's raw "(node:PID) Warning:" lines on
 * stderr, which a JSON log reader cannot parse. Connection warnings go at debug: the
 * supervisor's RedisWatch already says once when Redis stops answering and once when it is
 * back. Library users keep Node's default. Returns a function that puts the default back.
 */
export function routeProcessWarnings(logger: Logger): () => void {
  const previous = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (warning: Error & { code?: string }) => {
    const fields = { warning: { name: warning.name, code: warning.code } };
    if (warning.code === REDIS_CONNECTION_WARNING) logger.debug(fields, warning.message);
    else logger.warn(fields, warning.message);
  };
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const listener of previous) process.on('warning', listener);
  };
}
