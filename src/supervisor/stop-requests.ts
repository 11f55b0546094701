import type { Logger } from './logger.js';
import { watchParent } from './parent-watch.js';

export interface StopRequest {
  /** 'SIGINT', 'SIGTERM', or 'parent' when the process that started this one went away. */
  reason: NodeJS.Signals | 'parent';
}

export interface StopRequestHandlers {
  /** The first request: shut down gracefully. */
  graceful(request: StopRequest): void;
  /** A second signal: stop at once. */
  immediate(request: StopRequest): void;
}

/**
 * The ways a supervisor (or a director) is asked to stop: SIGINT, SIGTERM and, unless turned
 * off, its parent going away (see parent-watch.ts). The first request is graceful, a second
 * signal is immediate; the parent going away only ever counts as a first request.
 *
 * A director's children do not take a second signal as "now": a signal to the whole process
 * group (Ctrl-C, systemd's default KillMode, `kill -- -PGID`) reaches a child once directly and
 * once more forwarded by its director, and that is one request. The director escalates itself
 * (SIGKILL to its children on its own second signal). Returns a function that removes the handlers.
 */
export function onStopRequests(logger: Logger, options: { exitWithParent: boolean; secondSignalStops: boolean }, handlers: StopRequestHandlers): () => void {
  let requests = 0;
  const request = (reason: StopRequest['reason']) => {
    requests += 1;
    if (requests === 1) handlers.graceful({ reason });
    else if (reason !== 'parent' && options.secondSignalStops) handlers.immediate({ reason });
  };
  const onSignal = (signal: NodeJS.Signals) => request(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const watch = options.exitWithParent
    ? watchParent(({ parentPid, nowParentPid }) => {
        logger.warn(
          { parentPid, nowParentPid },
          'the parent process went away (npx or the process manager was stopped?): shutting down gracefully, as on SIGTERM (--no-exit-with-parent to keep running)',
        );
        request('parent');
      })
    : undefined;
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    watch?.stop();
  };
}
