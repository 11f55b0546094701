/**
 * The dashboard's routes: HTML pages at /, /queues/…, /supervisors, /schedules, /charts, their
 * form actions (POST, then a redirect with a notice), and the same reads and actions as JSON
 * under /api/ (described in /openapi.json). Served by `troupe dashboard` and, with --dashboard,
 * by a supervisor's HTTP endpoint; the server in front (supervisor/http-server.ts) has already
 * checked the method, the token and cross-site requests.
 */
import { jsonSafe } from '../format.js';
import type { RedisClient } from '../queue/connection.js';
import { JOB_STATES, QUEUE_NAME_PATTERN, type JobState } from '../queue/keys.js';
import type { Durability } from '../queue/scripts.js';
import { fireRule } from '../scheduler/spec.js';
import { firesBetween } from '../scheduler/next-fire.js';
import { htmlReply, jsonReply, postOnly, type Handler, type HttpRequest, type Reply } from '../supervisor/http-server.js';
import type { HttpExtension } from '../supervisor/http.js';
import type { Logger } from '../supervisor/logger.js';
import { ActionError, ActionErrorCode, Actions, BULK, JOB_ACTIONS, JOB_CONFIRM, QUEUE_ACTIONS, SCHEDULE_ACTIONS, type JobAction, type QueueAction, type ScheduleAction } from './actions.js';
import { DASHBOARD_CSS, DASHBOARD_JS } from './assets.js';
import { DashboardData, MAX_PAGE_SIZE, PAGE_SIZE, SEARCH_FIELDS, type Overview, type SearchBy } from './data.js';
import { h, layout, path, type LayoutOptions } from './html.js';
import { dashboardPaths } from './openapi.js';
import { chartsPage, confirmPage, errorPage, jobPage, overviewPage, queuePage, schedulesPage, supervisorsPage } from './pages.js';

export interface DashboardOptions {
  client: RedisClient;
  /** Queues to show; empty = every queue found in Redis. */
  queues: readonly string[];
  readOnly: boolean;
  logger: Logger;
  durability?: Durability;
  clock?: () => number;
  /**
   * False while the connection is not up yet (a supervisor serves its endpoint before it reaches
   * Redis): pages answer 503 instead of sending commands that would open the connection early.
   */
  ready?: () => boolean;
}

/** Main refreshes itself this often (seconds); the data behind it is shared (data.ts). */
const REFRESH_S = 5;
export const ASSET_PATHS: ReadonlySet<string> = new Set(['/assets/dashboard.css', '/assets/dashboard.js']);

class NotFound extends Error {}
class BadRequest extends Error {}

function segments(pathname: string): string[] {
  try {
    return pathname.split('/').slice(1).filter((s, i, all) => s !== '' || i < all.length - 1).map(decodeURIComponent);
  } catch {
    throw new BadRequest(`the path ${pathname} is not valid percent-encoding`);
  }
}

function wholeNumber(raw: string | null, fallback: number, name: string): number {
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new BadRequest(`${name} must be a whole number of at least 0, got ${JSON.stringify(raw)}`);
  return n;
}

function stateOf(raw: string | null, fallback: JobState): JobState {
  if (raw === null || raw === '') return fallback;
  if (!(JOB_STATES as readonly string[]).includes(raw)) throw new BadRequest(`state must be one of ${JOB_STATES.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as JobState;
}

const redirect = (location: string): Reply => ({ status: 303, type: 'text/plain; charset=utf-8', body: `see ${location}\n`, headers: { location } });
const withNotice = (to: string, notice: string) => `${to}${to.includes('?') ? '&' : '?'}notice=${encodeURIComponent(notice)}`;

export class Dashboard {
  readonly data: DashboardData;
  readonly actions: Actions;
  readonly handler: Handler = (req) => this.route(req);

  constructor(private readonly options: DashboardOptions) {
    this.data = new DashboardData({ client: options.client, queues: options.queues, ...(options.durability ? { durability: options.durability } : {}), ...(options.clock ? { clock: options.clock } : {}) });
    this.actions = new Actions(this.data, options.logger, options.readOnly);
  }

  start(): Promise<void> {
    return this.data.start();
  }

  stop(): Promise<void> {
    return this.data.stop();
  }

  /** For a supervisor's HTTP endpoint (--dashboard). */
  extension(): HttpExtension {
    return {
      handlers: [this.handler],
      paths: dashboardPaths(),
      openPaths: ASSET_PATHS,
      loginPage: (next, problem) => this.loginPage(next, problem),
      start: () => this.start(),
      stop: () => this.stop(),
    };
  }

  loginPage(next: string, problem?: string): string {
    return this.page({
      title: 'Sign in',
      nav: 'none',
      body: h`<div class="confirm card"><h1>Sign in</h1><p>This dashboard needs its token (the value of <code>--http-token</code>).</p>${problem ? h`<p class="error">${problem}</p>` : ''}
<form method="post" action="/login"><input type="hidden" name="next" value="${next}"><p><input type="password" name="token" aria-label="token" placeholder="token" autocomplete="current-password" required size="40"> <button type="submit" class="primary">Sign in</button></p></form></div>`,
    });
  }

  private page(o: Pick<LayoutOptions, 'title' | 'nav' | 'body'> & Partial<LayoutOptions>): string {
    return layout({ readOnly: this.options.readOnly, ...o });
  }

  private async route(req: HttpRequest): Promise<Reply | undefined> {
    if (req.path === '/assets/dashboard.css') return { status: 200, type: 'text/css; charset=utf-8', body: DASHBOARD_CSS };
    if (req.path === '/assets/dashboard.js') return { status: 200, type: 'text/javascript; charset=utf-8', body: DASHBOARD_JS };
    if (this.options.ready && !this.options.ready() && (req.path === '/' || /^\/(api|queues|supervisors|schedules|charts)(\/|$)/.test(req.path))) {
      return this.fail(req, 503, 'Redis is not connected yet (the supervisor is still reaching it); this page refreshes once it is', req.path.startsWith('/api/'));
    }
    let parts: string[];
    try {
      parts = segments(req.path);
    } catch (err) {
      return this.fail(req, 400, (err as Error).message);
    }
    const api = parts[0] === 'api';
    try {
      const reply = api ? await this.apiRoute(req, parts.slice(1)) : await this.pageRoute(req, parts);
      return reply;
    } catch (err) {
      if (err instanceof NotFound) return this.fail(req, 404, err.message, api);
      if (err instanceof BadRequest) return this.fail(req, 400, err.message, api);
      if (err instanceof ActionError) {
        const body = { error: err.message, code: err.code, ...(err.count !== undefined ? { count: err.count } : {}) };
        return api || !req.wantsHtml ? jsonReply(err.status, body) : htmlReply(err.status, this.page({ title: 'Refused', nav: 'none', body: errorPage(err.message, '/') }));
      }
      throw err;
    }
  }

  private fail(req: HttpRequest, status: number, message: string, api = false): Reply {
    if (api || !req.wantsHtml) return jsonReply(status, { error: message });
    const title = status === 404 ? 'Not found' : status === 503 ? 'Waiting for Redis' : 'Bad request';
    return htmlReply(status, this.page({ title, nav: 'none', body: errorPage(message, '/'), ...(status === 503 ? { refresh: 2 } : {}) }));
  }

  private async queueOrThrow(name: string | undefined): Promise<{ overview: Overview; name: string }> {
    if (!name || !QUEUE_NAME_PATTERN.test(name)) throw new NotFound(`${JSON.stringify(name ?? '')} is not a queue name (letters, digits, _ . : -)`);
    let overview = await this.data.overview.get();
    if (!this.data.isShown(name, overview)) {
      if (!(await this.data.lookUp(name))) {
        throw new NotFound(this.data.fixedQueues ? `queue ${name} is not among the queues this dashboard shows (--queues)` : `no queue ${name} in this Redis (a queue appears once a job is enqueued)`);
      }
      overview = await this.data.overview.get();
    }
    return { overview, name };
  }

  private async summaryOf(name: string) {
    const { overview } = await this.queueOrThrow(name);
    const summary = overview.queues.find((q) => q.name === name);
    if (summary) return summary;
    // Found by discovery after the overview was computed: count it now.
    const c = await this.data.queue(name).counts();
    return { name, counts: { pending: c.pending, delayed: c.delayed, active: c.active, completed: c.completed, dead: c.dead }, byPriority: c.byPriority, paused: c.paused, resourcePause: c.resourcePause, supervisors: [] };
  }

  private listRequest(req: HttpRequest) {
    const state = stateOf(req.query.get('state'), 'pending');
    const offset = wholeNumber(req.query.get('offset'), 0, 'offset');
    const limit = Math.min(Math.max(1, wholeNumber(req.query.get('limit'), PAGE_SIZE, 'limit')), MAX_PAGE_SIZE);
    const term = (req.query.get('q') ?? '').trim();
    const byRaw = req.query.get('by') ?? 'id';
    if (!(SEARCH_FIELDS as readonly string[]).includes(byRaw)) throw new BadRequest(`by must be one of ${SEARCH_FIELDS.join(', ')}, got ${JSON.stringify(byRaw)}`);
    return { state, offset, limit, term, by: byRaw as SearchBy };
  }

  private async pageRoute(req: HttpRequest, parts: string[]): Promise<Reply | undefined> {
    const now = this.data.clock();
    const ctx = { readOnly: this.options.readOnly, now };
    const notice = req.query.get('notice');
    const isPost = req.method === 'POST';
    const get = (title: string, nav: LayoutOptions['nav'], body: ReturnType<typeof h>, refresh = REFRESH_S, at = now): Reply => {
      if (isPost) return jsonReply(405, { error: `${req.path} takes GET; actions are POSTed to …/actions/<action>` }, { allow: 'GET, HEAD' });
      return htmlReply(200, this.page({ title, nav, body, refresh, notice, at }));
    };
    const [a, b, c, d, e, f] = parts;
    if (parts.length === 0) {
      const [overview, minutes] = await Promise.all([this.data.overview.get(), this.data.minutes.get()]);
      return get('Overview', 'overview', overviewPage(overview, minutes, ctx), REFRESH_S, overview.at);
    }
    if (a === 'supervisors' && parts.length === 1) {
      const overview = await this.data.overview.get();
      return get('Supervisors', 'supervisors', supervisorsPage(overview.supervisors, ctx), REFRESH_S, overview.at);
    }
    if (a === 'schedules' && parts.length === 1) {
      const { schedules, broken } = await this.data.scheduleList();
      return get('Schedules', 'schedules', schedulesPage(schedules, broken, ctx));
    }
    if (a === 'charts' && parts.length === 1) {
      const [overview, minutes] = await Promise.all([this.data.overview.get(), this.data.minutes.get()]);
      return get('Metrics', 'metrics', chartsPage(minutes.queues, overview, this.data.deadSamples), 15, overview.at);
    }
    if (a === 'schedules' && parts.length === 4 && c === 'actions') {
      if (!isPost) return postOnly(req.path);
      const action = this.pick(d!, SCHEDULE_ACTIONS, 'schedule action') as ScheduleAction;
      const result = await this.actions.scheduleAction(req, b!, action);
      return redirect(withNotice('/schedules', result.message));
    }
    if (a !== 'queues' || b === undefined) return undefined;
    const base = path('queues', b);
    if (parts.length === 2) {
      const summary = await this.summaryOf(b);
      const list = this.listRequest(req);
      const shown = list.term ? await this.data.search(b, list.state, list.by, list.term, MAX_PAGE_SIZE) : await this.data.page(b, list.state, list.offset, list.limit);
      if (list.term && list.by === 'id' && 'by' in shown && shown.jobs.length === 1) return redirect(path('queues', b, 'jobs', shown.jobs[0]!.id));
      return get(`Queue ${b}`, 'queues', queuePage(summary, shown, ctx));
    }
    if (c === 'confirm' && parts.length === 4) {
      if (isPost) return jsonReply(405, { error: 'a confirmation page takes GET' }, { allow: 'GET, HEAD' });
      await this.queueOrThrow(b);
      const action = this.pick(d!, QUEUE_ACTIONS, 'queue action') as QueueAction;
      const bulk = BULK[action];
      if (!bulk) throw new BadRequest(`${action} needs no confirmation; POST it to ${base}/actions/${action}`);
      this.refuseReadOnly();
      const n = await this.actions.bulkCount(b, action);
      return htmlReply(200, this.page({ title: 'Confirm', nav: 'none', body: confirmPage(bulk.question(n, b), `${base}/actions/${action}`, n, base) }));
    }
    if (c === 'actions' && parts.length === 4) {
      if (!isPost) return postOnly(req.path);
      await this.queueOrThrow(b);
      const action = this.pick(d!, QUEUE_ACTIONS, 'queue action') as QueueAction;
      const form = await req.form();
      try {
        const result = await this.actions.queueAction(req, b, action, form.has('confirm'));
        const state = BULK[action]?.state;
        return redirect(withNotice(`${base}${state ? `?state=${state === 'delayed' || action === 'retry-dead' ? 'pending' : state}` : ''}`, result.message));
      } catch (err) {
        if (err instanceof ActionError && err.code === ActionErrorCode.NeedsConfirmation) return redirect(`${base}/confirm/${action}`);
        throw err;
      }
    }
    if (c === 'jobs' && d !== undefined) {
      await this.queueOrThrow(b);
      const jobBase = path('queues', b, 'jobs', d);
      if (parts.length === 4) {
        const detail = await this.data.job(b, d);
        if (!detail) throw new NotFound(`no job ${d} in queue ${b} (it may have been deleted, or trimmed by retention)`);
        return get(`Job ${d}`, 'queues', jobPage(detail, ctx));
      }
      if (e === 'confirm' && parts.length === 6) {
        if (isPost) return jsonReply(405, { error: 'a confirmation page takes GET' }, { allow: 'GET, HEAD' });
        const action = this.pick(f!, JOB_ACTIONS, 'job action') as JobAction;
        const ask = JOB_CONFIRM[action];
        if (!ask) throw new BadRequest(`${action} needs no confirmation; POST it to ${jobBase}/actions/${action}`);
        this.refuseReadOnly();
        return htmlReply(200, this.page({ title: 'Confirm', nav: 'none', body: confirmPage(ask(d), `${jobBase}/actions/${action}`, 1, jobBase) }));
      }
      if (e === 'actions' && parts.length === 6) {
        if (!isPost) return postOnly(req.path);
        const action = this.pick(f!, JOB_ACTIONS, 'job action') as JobAction;
        const form = await req.form();
        try {
          const result = await this.actions.jobAction(req, b, d, action, form.has('confirm'));
          const gone = action === 'cancel' || action === 'delete';
          return redirect(withNotice(gone ? base : jobBase, result.message));
        } catch (err) {
          if (err instanceof ActionError && err.code === ActionErrorCode.NeedsConfirmation) return redirect(`${jobBase}/confirm/${action}`);
          throw err;
        }
      }
    }
    return undefined;
  }

  private async apiRoute(req: HttpRequest, parts: string[]): Promise<Reply | undefined> {
    const isPost = req.method === 'POST';
    const read = (value: unknown): Reply => (isPost ? jsonReply(405, { error: `${req.path} takes GET` }, { allow: 'GET, HEAD' }) : jsonReply(200, jsonSafe(value)));
    const [a, b, c, d, e, f] = parts;
    if (a === 'overview' && parts.length === 1) return read(await this.data.overview.get());
    if (a === 'supervisors' && parts.length === 1) return read({ supervisors: (await this.data.overview.get()).supervisors });
    if (a === 'metrics' && parts.length === 1) return read(await this.data.minutes.get());
    if (a === 'schedules' && parts.length === 1) {
      const now = this.data.clock();
      const { schedules, broken } = await this.data.scheduleList();
      return read({ schedules: schedules.map((s) => ({ ...s, next: s.paused ? [] : firesBetween(fireRule(s), now, now + 366 * 86_400_000, 3) })), broken });
    }
    if (a === 'schedules' && parts.length === 4 && c === 'actions') {
      if (!isPost) return postOnly(req.path);
      return jsonReply(200, await this.actions.scheduleAction(req, b!, this.pick(d!, SCHEDULE_ACTIONS, 'schedule action') as ScheduleAction));
    }
    if (a !== 'queues' || b === undefined) return undefined;
    if (c === 'jobs' && parts.length === 3) {
      await this.queueOrThrow(b);
      const list = this.listRequest(req);
      return read(list.term ? await this.data.search(b, list.state, list.by, list.term, list.limit) : await this.data.page(b, list.state, list.offset, list.limit));
    }
    if (c === 'actions' && parts.length === 4) {
      if (!isPost) return postOnly(req.path);
      await this.queueOrThrow(b);
      const form = await req.form();
      return jsonReply(200, await this.actions.queueAction(req, b, this.pick(d!, QUEUE_ACTIONS, 'queue action') as QueueAction, form.has('confirm')));
    }
    if (c === 'jobs' && d !== undefined && parts.length === 4) {
      await this.queueOrThrow(b);
      const detail = await this.data.job(b, d);
      if (!detail) throw new NotFound(`no job ${d} in queue ${b}`);
      return read(detail);
    }
    if (c === 'jobs' && d !== undefined && e === 'actions' && parts.length === 6) {
      if (!isPost) return postOnly(req.path);
      await this.queueOrThrow(b);
      const form = await req.form();
      return jsonReply(200, await this.actions.jobAction(req, b, d, this.pick(f!, JOB_ACTIONS, 'job action') as JobAction, form.has('confirm')));
    }
    return undefined;
  }

  private pick(value: string, allowed: readonly string[], what: string): string {
    if (!allowed.includes(value)) throw new NotFound(`no ${what} ${JSON.stringify(value)}; the ${what}s are ${allowed.join(', ')}`);
    return value;
  }

  private refuseReadOnly(): void {
    if (this.options.readOnly) throw new ActionError(ActionErrorCode.ReadOnly, 'the dashboard is read-only (--read-only / dashboardReadOnly): actions are not offered');
  }
}
