import { readFileSync } from 'node:fs';

/**
 * Notices when the process that started this one goes away.
 *
 * Why: `npx troupe supervise` runs node under `sh -c`, under npm. A SIGTERM to npm (`kill $!`
 * after `npx … &`, a CI step's timeout, a process manager that signals only its own child) is
 * passed to the shell, which dies of it without passing it on, and the supervisor is left
 * behind, re-parented, leasing jobs for nobody. Node keeps `process.ppid` as read at start, so
 * the parent is read again here:
 * - on Linux from /proc/self/stat, which is exact (a re-parented process gets a new parent id,
 *   init's or a subreaper's);
 * - elsewhere by asking whether the first parent's pid still exists (kill 0), which misses only
 *   a pid reused within one poll.
 * A parent that is init (pid 1, or 0 for PID 1 itself: systemd, a container's init, an already
 * detached process) never goes away, so there is nothing to watch.
 */
export interface ParentWatch {
  /** The parent's pid when the watch started. */
  readonly parentPid: number;
  stop(): void;
}

const POLL_MS = 1000;

function currentParentLinux(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    // No procfs (not Linux, or not mounted): the caller falls back to asking about the pid.
    return undefined;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Calls onGone once, with the new parent's pid when known, if the parent goes away. Undefined when there is nothing to watch. */
export function watchParent(onGone: (info: { parentPid: number; nowParentPid?: number }) => void, pollMs = POLL_MS): ParentWatch | undefined {
  const parentPid = currentParentLinux() ?? process.ppid;
  if (parentPid <= 1) return undefined;
  const procfs = currentParentLinux() !== undefined;
  const timer = setInterval(() => {
    const now = procfs ? currentParentLinux() : undefined;
    const gone = procfs ? now !== undefined && now !== parentPid : !pidExists(parentPid);
    if (!gone) return;
    clearInterval(timer);
    onGone(now === undefined ? { parentPid } : { parentPid, nowParentPid: now });
  }, pollMs);
  // The watch alone must not keep a finished process alive.
  timer.unref();
  return { parentPid, stop: () => clearInterval(timer) };
}
