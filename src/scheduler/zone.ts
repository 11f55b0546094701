/**
 * Time zones for the scheduler, from the tz database Node ships (Intl), with no extra library.
 *
 * "Wall ms" is how this module writes a zone's wall-clock time: the epoch ms that the same
 * calendar fields would have in UTC. 02:30 on 10 March 2024 in New York is wall ms
 * Date.UTC(2024, 2, 10, 2, 30) whether or not that instant exists there. Cron fields are matched
 * on wall ms with plain arithmetic; only the step between wall ms and real instants needs the
 * zone, and that step is `wall = instant + offset`, where the offset changes at transitions.
 */
import { UnknownTimezoneError } from './errors.js';

export interface Transition {
  /** The first instant (epoch ms) with the new offset. */
  at: number;
  /** Offsets (wall minus instant, ms) just before and from `at` on. */
  before: number;
  after: number;
}

const DAY_MS = 86_400_000;

/**
 * Zone data is a pure function of the zone name and the tz database loaded in this process, so
 * one cache per process is safe to share between supervisors built in the same process; it
 * holds formatters (costly to build) and per-year transition lists (costly to find).
 */
const zones = new Map<string, Zone>();

export class Zone {
  private readonly format: Intl.DateTimeFormat;
  private readonly years = new Map<number, Transition[]>();

  private constructor(readonly name: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /**
   * The zone called `name` (an IANA name such as Europe/Berlin, or UTC); throws
   * UnknownTimezoneError. Its `name` is the one given (see zoneName), so Europe/Kyiv stays Europe/Kyiv.
   */
  static of(name: string, field = 'timezone'): Zone {
    const cached = zones.get(name);
    if (cached) return cached;
    const spelled = zoneName(name, field);
    const zone = zones.get(spelled) ?? new Zone(spelled);
    zones.set(spelled, zone);
    zones.set(name, zone);
    return zone;
  }

  /** Wall ms minus instant, at instant `t` (whole seconds; the tz database has no finer offsets). */
  offsetAt(t: number): number {
    const at = Math.floor(t / 1000) * 1000;
    const parts: Record<string, number> = {};
    for (const p of this.format.formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - at;
  }

  wallAt(t: number): number {
    return t + this.offsetAt(t);
  }

  /** The first transition strictly after `from` and at or before `to`, if any. */
  transitionIn(from: number, to: number): Transition | undefined {
    for (let year = utcYear(from); year <= utcYear(to); year++) {
      const found = this.transitionsOf(year).find((tr) => tr.at > from && tr.at <= to);
      if (found) return found;
    }
    return undefined;
  }

  /** The last transition at or before `t` within `lookBackMs`, if any. */
  transitionAtOrBefore(t: number, lookBackMs: number): Transition | undefined {
    let found: Transition | undefined;
    for (let year = utcYear(t - lookBackMs); year <= utcYear(t); year++) {
      for (const tr of this.transitionsOf(year)) if (tr.at <= t && tr.at > t - lookBackMs) found = tr;
    }
    return found;
  }

  /**
   * Transitions with `at` in (1 Jan `year`, 1 Jan `year`+1], UTC. Offsets are probed once a day
   * and a change is narrowed to the second: no zone changes its offset twice within a day.
   */
  private transitionsOf(year: number): Transition[] {
    let list = this.years.get(year);
    if (list) return list;
    list = [];
    const end = Date.UTC(year + 1, 0, 1);
    let probe = Date.UTC(year, 0, 1);
    let offset = this.offsetAt(probe);
    while (probe < end) {
      const next = Math.min(probe + DAY_MS, end);
      const nextOffset = this.offsetAt(next);
      if (nextOffset !== offset) list.push(this.narrow(probe, next, offset));
      probe = next;
      offset = nextOffset;
    }
    this.years.set(year, list);
    return list;
  }

  private narrow(lo: number, hi: number, before: number): Transition {
    while (hi - lo > 1000) {
      const mid = lo + Math.max(1, Math.floor((hi - lo) / 2000)) * 1000;
      if (this.offsetAt(mid) === before) lo = mid;
      else hi = mid;
    }
    return { at: hi, before, after: this.offsetAt(hi) };
  }
}

function utcYear(t: number): number {
  return new Date(t).getUTCFullYear();
}

/**
 * Validates an IANA zone name and returns it as the user wrote it, only its letter case put right
 * when the name Intl knows differs in case alone (utc → UTC, america/new_york →
 * America/New_York). Intl answers a newer name with the older one its ICU data keeps as
 * canonical (Europe/Kyiv → Europe/Kiev, Asia/Kolkata → Asia/Calcutta, Asia/Kathmandu →
 * Asia/Katmandu on Node 20); both name the same zone, so the user's name is kept: it is the one
 * they will look for in `schedule list`, and the one newer tz data calls canonical.
 */
export function zoneName(name: unknown, field = 'timezone'): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new UnknownTimezoneError(field, `must be an IANA time zone name such as "Europe/Berlin" or "UTC", got ${JSON.stringify(name)}`);
  }
  try {
    const known = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    return known.toLowerCase() === name.toLowerCase() ? known : name;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const hint = similarZones(name);
    throw new UnknownTimezoneError(
      field,
      `${JSON.stringify(name)} is not a time zone this Node knows; use an IANA name such as "Europe/Berlin", "America/New_York" or "UTC"` +
        (hint.length > 0 ? ` (did you mean ${hint.map((z) => `"${z}"`).join(' or ')}?)` : ''),
    );
  }
}

function similarZones(name: string): string[] {
  const wanted = name.toLowerCase().replace(/[\s-]+/g, '_');
  return Intl.supportedValuesOf('timeZone')
    .filter((zone) => zone.toLowerCase().includes(wanted))
    .slice(0, 3);
}
