/**
 * When a schedule fires: the next fire after an instant, and the latest fire in a range.
 *
 * A fire is an instant (epoch ms, whole seconds). Cron fields are matched on the zone's wall
 * clock; across daylight-saving changes these rules decide (Vixie cron's, which is what people
 * who set a "daily at 02:30" job expect, and what node-cron by itself does not do):
 *
 * - A time-of-day schedule (its hour field names particular hours):
 *   - a wall time skipped by a spring-forward change fires once, at the instant of the change
 *     (02:30 → 03:00 local), so a daily job still runs that day;
 *   - a wall time repeated by a fall-back change fires once, at its first occurrence.
 * - An interval schedule (its hour field is every hour: every minute, hourly, every 15 min):
 *   - skipped wall times do not fire (the interval carries on from the new time);
 *   - repeated wall times fire both times, so the real spacing between fires stays the same.
 *
 * Several skipped wall times that map to the same instant are one fire (fires are instants).
 */
import { nextWallMatch, type CronFields } from './cron.js';
import type { Zone } from './zone.js';

export interface FireRule {
  readonly cron: CronFields;
  readonly zone: Zone;
}

/** The longest fall-back overlap looked back for: no zone repeats more than 3 hours. */
const MAX_SHIFT_MS = 3 * 3_600_000;
/**
 * How far ahead a fire is looked for. A schedule that names 29 February and a weekday fires
 * only every 5 to 28 years; one that never fires within this horizon is refused when written.
 */
export const HORIZON_MS = 30 * 366 * 86_400_000;

/** The first fire strictly after `after` (epoch ms), or null when none within HORIZON_MS. */
export function nextFire(rule: FireRule, after: number): number | null {
  const { cron, zone } = rule;
  let t = Math.floor(after / 1000) * 1000 + 1000;
  const horizon = t + HORIZON_MS;
  while (t <= horizon) {
    const previous = zone.transitionAtOrBefore(t, MAX_SHIFT_MS);
    if (previous && !cron.everyHour && previous.at === t && previous.after > previous.before) {
      // A spring-forward change happens at t: wall times [t + before, t + after) never show.
      if (nextWallMatch(cron, t + previous.before, t + previous.after - 1000) !== null) return t;
    }
    const offset = zone.offsetAt(t);
    let fromWall = t + offset;
    if (previous && !cron.everyHour && previous.before > previous.after) {
      // Shortly after a fall-back change: wall times shown before it already had their fire.
      fromWall = Math.max(fromWall, previous.at + previous.before);
    }
    const wall = nextWallMatch(cron, fromWall, horizon + offset);
    if (wall === null) return null;
    const candidate = wall - offset;
    // The candidate assumed the offset holds until then; a change on the way invalidates it,
    // and the search goes on from the change with the new offset.
    const change = zone.transitionIn(t, candidate);
    if (!change) return candidate;
    t = change.at;
  }
  return null;
}

/** Fires in (after, until], oldest first, at most `limit` of them. */
export function firesBetween(rule: FireRule, after: number, until: number, limit = 1000): number[] {
  const fires: number[] = [];
  for (let f = nextFire(rule, after); f !== null && f <= until && fires.length < limit; f = nextFire(rule, f)) fires.push(f);
  return fires;
}

/**
 * The latest fire in (after, until], or null. Looks back from `until` in growing windows, so a
 * per-second schedule whose cursor is a week old costs a few dozen steps, not 600,000.
 */
export function latestFireIn(rule: FireRule, after: number, until: number): number | null {
  for (let span = 60_000; ; span *= 4) {
    const start = Math.max(after, until - span);
    let fire = nextFire(rule, start);
    if (fire !== null && fire <= until) {
      for (let next = nextFire(rule, fire); next !== null && next <= until; next = nextFire(rule, next)) fire = next;
      return fire;
    }
    if (start === after) return null;
  }
}
