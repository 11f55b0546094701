/** The dashboard's pages, rendered on the server from what data.ts read. */
import { renderChart, type ChartSeries } from '../charts/svg.js';
import { JOB_STATES, PRIORITIES, type JobState } from '../queue/keys.js';
import type { JobRecord } from '../queue/job.js';
import type { ErrorInfo } from '../queue/errors.js';
import { fireRule } from '../scheduler/spec.js';
import { firesBetween } from '../scheduler/next-fire.js';
import type { StoredSchedule } from '../scheduler/store.js';
import type { SupervisorEntry } from '../supervisor/registry.js';
import { BULK, JOB_CONFIRM, type JobAction, type QueueAction } from './actions.js';
import { SEARCH_FIELDS, SEARCH_SCAN_LIMIT, type JobDetail, type JobPage, type Overview, type QueueSummary, type SearchResult } from './data.js';
import type { MinutePoint, Minutes, QueueMinutes } from './latency.js';
import { actionButton, badge, formatAge, formatBytes, formatDuration, h, link, ms, num, path, preview, raw, type Html } from './html.js';

export interface PageContext {
  readOnly: boolean;
  now: number;
}

const STATE_KIND: Record<string, string> = { pending: '', delayed: 'warn', active: 'ok', completed: 'ok', dead: 'bad' };
const stateBadge = (state: string) => badge(state, STATE_KIND[state] ?? '');

function pauseCell(q: QueueSummary, now: number): Html {
  if (q.resourcePause) {
    return h`${badge('resource-paused', 'warn')} <span class="small">until ${formatAge(q.resourcePause.until, now)}${q.resourcePause.reason ? `: ${q.resourcePause.reason}` : ''}</span>`;
  }
  return q.paused ? badge('paused', 'warn') : badge('running', 'ok');
}

function supervisorsCell(q: QueueSummary): Html {
  if (q.supervisors.length > 0) return h`${q.supervisors.length}`;
  return q.counts.pending + q.counts.delayed > 0 ? badge('no supervisor', 'bad') : h`<span class="muted">none</span>`;
}

/** Runs per minute over the window: the merged run histogram's count / minutes. */
function throughput(q: QueueSummary, windowMs: number): string {
  const runs = q.latency?.all.run.count ?? 0;
  return runs === 0 ? '0' : (runs / (windowMs / 60_000)).toFixed(runs / (windowMs / 60_000) < 10 ? 1 : 0);
}

const minuteLabel = (at: number) => new Date(at).toISOString().slice(11, 16);

function lineChart(title: string, yLabel: string, points: readonly MinutePoint[], series: Array<[string, (p: MinutePoint) => number]>): Html {
  const chartSeries: ChartSeries[] = series.map(([name, pick]) => ({ name, points: points.map((p, i) => [i, pick(p)] as const) }));
  return raw(`<div class="chart">${renderChart({ kind: 'line', title, xLabel: 'minute (UTC)', yLabel, series: chartSeries, categories: points.map((p) => minuteLabel(p.at)) })}</div>`);
}

export function overviewPage(o: Overview, minutes: Minutes, ctx: PageContext): Html {
  const live = o.supervisors.filter((s) => !s.stale);
  const stranded = o.queues.filter((q) => q.supervisors.length === 0 && q.counts.pending + q.counts.delayed > 0);
  const warnings: Html[] = [];
  if (live.length === 0) warnings.push(h`<p class="warning" role="alert"><strong>No supervisor is running.</strong> Jobs wait until one starts: <code>troupe supervise --queues …</code></p>`);
  else if (stranded.length > 0) warnings.push(h`<p class="warning" role="alert"><strong>No supervisor serves ${stranded.map((q) => q.name).join(', ')}</strong>: their jobs wait until a supervisor with that queue in <code>--queues</code> starts.</p>`);
  const totals = o.queues.reduce((t, q) => ({ pending: t.pending + q.counts.pending, active: t.active + q.counts.active, dead: t.dead + q.counts.dead, delayed: t.delayed + q.counts.delayed }), { pending: 0, active: 0, dead: 0, delayed: 0 });
  const window = Math.round(o.latencyWindowMs / 60_000);
  const rows = o.queues.map((q) => {
    const l = q.latency?.all;
    const prio = PRIORITIES.filter((p) => q.byPriority[p] > 0).map((p) => `${p} ${num(q.byPriority[p])}`).join(' · ');
    return h`<tr data-queue="${q.name}">
<td>${link(path('queues', q.name), q.name)}</td><td>${pauseCell(q, ctx.now)}</td>
<td class="n">${link(`${path('queues', q.name)}?state=pending`, num(q.counts.pending))}${prio ? h`<div class="small muted">${prio}</div>` : ''}</td>
<td class="n">${link(`${path('queues', q.name)}?state=delayed`, num(q.counts.delayed))}</td>
<td class="n">${link(`${path('queues', q.name)}?state=active`, num(q.counts.active))}</td>
<td class="n">${link(`${path('queues', q.name)}?state=completed`, num(q.counts.completed))}</td>
<td class="n">${q.counts.dead > 0 ? link(`${path('queues', q.name)}?state=dead`, h`<span class="badge bad">${num(q.counts.dead)}</span>`) : '0'}</td>
<td class="n">${throughput(q, o.latencyWindowMs)}</td>
<td class="n">${l ? `${ms(l.wait.p50)} / ${ms(l.wait.p99)}` : '-'}</td>
<td class="n">${l ? `${ms(l.run.p50)} / ${ms(l.run.p99)}` : '-'}</td>
<td class="n">${supervisorsCell(q)}</td></tr>`;
  });
  const all = minutes.all;
  return h`<h1>Overview</h1>${warnings}
<div class="cards">
<div class="card"><div class="label">queues</div><div class="big">${num(o.queues.length)}</div></div>
<div class="card"><div class="label">pending</div><div class="big">${num(totals.pending)}</div></div>
<div class="card"><div class="label">delayed</div><div class="big">${num(totals.delayed)}</div></div>
<div class="card"><div class="label">active</div><div class="big">${num(totals.active)}</div></div>
<div class="card"><div class="label">dead</div><div class="big">${num(totals.dead)}</div></div>
<div class="card"><div class="label">supervisors</div><div class="big">${num(live.length)}</div></div>
</div>
<h2>Queues</h2>
${o.discovering ? h`<p class="muted" role="status">Still scanning Redis for queues (a keyspace of millions of jobs takes seconds); the queues supervisors serve are shown meanwhile.</p>` : ''}
${o.queues.length === 0 ? h`<p class="muted">No queues found in this Redis yet: a queue appears once a job is enqueued.</p>` : h`<table id="queues"><thead><tr><th>queue</th><th>state</th><th class="n">pending</th><th class="n">delayed</th><th class="n">active</th><th class="n">completed</th><th class="n">dead</th><th class="n">runs/min</th><th class="n">wait p50 / p99 ms</th><th class="n">run p50 / p99 ms</th><th class="n">supervisors</th></tr></thead><tbody>${rows}</tbody></table>
<p class="small muted">Throughput and latency: the last ${window} minutes, merged across every supervisor (HDR histograms, as <code>troupe stats</code>). Counts refresh every 2 s, shared by every viewer.</p>`}
${all.length > 1 ? h`<h2>The last hour, every queue</h2><div class="grid2">${lineChart('Runs per minute', 'runs', all, [['runs', (p) => p.runs]])}${lineChart('Latency per minute (ms)', 'ms', all, [['wait p50', (p) => p.waitP50], ['wait p99', (p) => p.waitP99], ['run p50', (p) => p.runP50], ['run p99', (p) => p.runP99]])}</div><p class="small muted">A point per minute from the first with runs, at most an hour back (every supervisor's histograms merged); the last minute is still filling. Per queue and processor under ${link('/charts', 'Metrics')}.</p>` : ''}`;
}

function jobRows(jobs: readonly JobRecord[], queue: string, now: number): Html {
  return h`<table id="jobs"><thead><tr><th>id</th><th>processor</th><th>state</th><th class="n">attempts</th><th>priority</th><th>enqueued</th><th>${'last error'}</th></tr></thead><tbody>${jobs.map(
    (j) => h`<tr data-job="${j.id}"><td>${link(path('queues', queue, 'jobs', j.id), j.id)}</td><td>${j.processor}</td><td>${stateBadge(j.state)}</td><td class="n">${j.attempts}/${j.maxAttempts}</td><td>${j.priority}</td><td>${formatAge(j.enqueuedAt, now)}</td><td class="small">${j.error ? `${j.error.name}: ${j.error.message}`.split('\n')[0]!.slice(0, 120) : ''}</td></tr>`,
  )}</tbody></table>`;
}

const ORDER: Record<JobState, string> = {
  pending: 'in the order they will run',
  delayed: 'soonest due first',
  active: 'soonest lease deadline first',
  completed: 'newest first',
  dead: 'newest first',
};

export function queuePage(q: QueueSummary, list: JobPage | SearchResult, ctx: PageContext): Html {
  const base = path('queues', q.name);
  const tabs = JOB_STATES.map((s) => h`<a href="${`${base}?state=${s}`}"${s === list.state && !('by' in list) ? raw(' aria-current="page"') : ''}>${s} <strong>${num(q.counts[s])}</strong></a>`);
  const bulk = ctx.readOnly
    ? ''
    : (Object.keys(BULK) as QueueAction[])
        .filter((a) => q.counts[BULK[a]!.state] > 0)
        .map((a) => link(`${base}/confirm/${a}`, BULK[a]!.label, a === 'purge-dead' || a === 'empty-pending' ? 'button danger' : 'button'));
  const pauseButton = ctx.readOnly ? '' : q.paused || q.resourcePause ? actionButton(`${base}/actions/resume`, 'Resume', 'primary') : actionButton(`${base}/actions/pause`, 'Pause');
  const by = 'by' in list ? list.by : 'id';
  const term = 'by' in list ? list.term : '';
  const search = h`<form method="get" action="${base}" class="inline" role="search"><input type="hidden" name="state" value="${list.state}">
<select name="by" aria-label="search by">${SEARCH_FIELDS.map((f) => h`<option value="${f}"${f === by ? raw(' selected') : ''}>${f === 'metadata' ? 'metadata key=value' : f}</option>`)}</select>
<input type="search" name="q" value="${term}" placeholder="job id, processor, or key=value" aria-label="search term" size="34" required> <button type="submit">Search ${list.state}</button></form>`;
  let listing: Html;
  if ('by' in list) {
    const scope = list.by === 'id' ? '' : h` among the newest ${num(list.scanned)} of ${num(list.total)} ${list.state} jobs${list.total > SEARCH_SCAN_LIMIT ? ` (a search looks at ${num(SEARCH_SCAN_LIMIT)} at most)` : ''}`;
    listing = h`<h2>Search: ${list.by} ${list.by === 'id' ? '' : `in ${list.state}`} “${list.term}”</h2>
<p class="muted">${num(list.jobs.length)} found${scope}. ${link(`${base}?state=${list.state}`, 'Back to the list')}</p>${list.jobs.length > 0 ? jobRows(list.jobs, q.name, ctx.now) : ''}`;
  } else {
    const first = list.offset + 1;
    const last = list.offset + list.jobs.length;
    const prev = list.offset > 0 ? link(`${base}?state=${list.state}&offset=${Math.max(0, list.offset - list.limit)}`, '← previous', 'button') : '';
    const next = last < list.total ? link(`${base}?state=${list.state}&offset=${last}`, 'next →', 'button') : '';
    listing = list.jobs.length === 0
      ? h`<p class="muted">No ${list.state} jobs${list.offset > 0 ? ` at offset ${num(list.offset)}` : ''}.</p>`
      : h`${jobRows(list.jobs, q.name, ctx.now)}<div class="pager">${prev}<span class="muted">${num(first)}–${num(last)} of ${num(list.total)} ${list.state}, ${ORDER[list.state]}</span>${next}</div>`;
  }
  return h`<h1>Queue ${q.name} ${pauseCell(q, ctx.now)}</h1>
${q.supervisors.length === 0 && q.counts.pending + q.counts.delayed > 0 ? h`<p class="warning" role="alert"><strong>No supervisor serves this queue</strong>: its jobs wait until one starts with it in <code>--queues</code>.</p>` : ''}
<p class="muted small">pending by priority: ${PRIORITIES.map((p) => `${p} ${num(q.byPriority[p])}`).join(' · ')} · served by ${q.supervisors.length > 0 ? q.supervisors.join(', ') : 'no supervisor'}</p>
<div class="toolbar">${pauseButton}${bulk}</div>
<div class="tabs">${tabs}</div>
<div class="toolbar">${search}</div>
${listing}`;
}

function errorItem(e: ErrorInfo, now: number): Html {
  const frames = (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at ')).join('\n');
  return h`<li><strong>attempt ${e.attempt ?? '?'}</strong>${e.at ? h` <span class="muted">${new Date(e.at).toISOString()} (${formatAge(e.at, now)})</span>` : ''}
<div class="job-error"><code>${e.name}${e.code ? ` [${e.code}]` : ''}</code>: ${e.message}</div>${frames ? h`<details><summary>stack</summary><pre>${frames}</pre></details>` : ''}</li>`;
}

export function jobPage(d: JobDetail, ctx: PageContext): Html {
  const j = d.job;
  const base = path('queues', j.queue, 'jobs', j.id);
  const fields: Array<[string, Html | string]> = [
    ['state', stateBadge(j.state)],
    ['queue', link(path('queues', j.queue), j.queue)],
    ['processor', j.processor],
    ['priority', j.priority],
    ['attempts', `${j.attempts} of ${j.maxAttempts}`],
    ['enqueued', `${new Date(j.enqueuedAt).toISOString()} (${formatAge(j.enqueuedAt, ctx.now)})`],
  ];
  if (j.runAt) fields.push([j.state === 'delayed' ? 'due' : 'run at', `${new Date(j.runAt).toISOString()} (${formatAge(j.runAt, ctx.now)})`]);
  if (j.startedAt) fields.push(['started', `${new Date(j.startedAt).toISOString()} (${formatAge(j.startedAt, ctx.now)})`]);
  if (j.finishedAt) fields.push(['finished', `${new Date(j.finishedAt).toISOString()} (${formatAge(j.finishedAt, ctx.now)})`]);
  if (j.startedAt && j.finishedAt) fields.push(['ran for', formatDuration(j.finishedAt - j.startedAt)]);
  if (j.timeoutMs) fields.push(['time limit', formatDuration(j.timeoutMs)]);
  if (j.owner) fields.push([j.state === 'active' ? 'lease held by' : 'last held by', j.owner]);
  if (d.leaseDeadline) fields.push(['lease deadline', `${new Date(d.leaseDeadline).toISOString()} (${formatAge(d.leaseDeadline, ctx.now)})`]);
  if (j.leaseExpiries) fields.push(['lease expiries', String(j.leaseExpiries)]);
  if (j.dedupeKey) fields.push(['dedupe key', j.dedupeKey]);
  if (j.cachedFrom) fields.push(['result cached from', link(path('queues', j.queue, 'jobs', j.cachedFrom), j.cachedFrom)]);
  if (d.parent) fields.push(['parent', link(path('queues', j.queue, 'jobs', d.parent), d.parent)]);
  if (d.followUps.length > 0) fields.push(['follow-ups', h`${d.followUps.map((f, i) => h`${i > 0 ? ', ' : ''}${link(path('queues', j.queue, 'jobs', f.id), f.id)} ${stateBadge(f.state)}`)}`]);
  const possible: JobAction[] = [];
  if (j.state === 'dead') possible.push('retry');
  if (j.state === 'delayed') possible.push('promote');
  if (j.state === 'pending' || j.state === 'delayed') possible.push('cancel');
  if (j.state !== 'active') possible.push('delete');
  const labels: Record<JobAction, string> = { retry: 'Retry', cancel: 'Cancel', promote: 'Promote (run now)', delete: 'Delete' };
  const buttons = ctx.readOnly
    ? ''
    : possible.map((a) => (JOB_CONFIRM[a] ? link(`${base}/confirm/${a}`, labels[a], 'button danger') : actionButton(`${base}/actions/${a}`, labels[a], 'primary')));
  const timeline: Html[] = [h`<li class="info"><strong>enqueued</strong> <span class="muted">${new Date(j.enqueuedAt).toISOString()}</span></li>`, ...j.errors.map((e) => errorItem(e, ctx.now))];
  if (j.state === 'completed') timeline.push(h`<li class="ok"><strong>completed</strong>${j.finishedAt ? h` <span class="muted">${new Date(j.finishedAt).toISOString()}</span>` : ''}</li>`);
  if (j.state === 'active') timeline.push(h`<li class="info"><strong>attempt ${j.attempts} running</strong>${j.owner ? ` on ${j.owner}` : ''}</li>`);
  return h`<h1>Job <code>${j.id}</code> ${stateBadge(j.state)}</h1>
<div class="toolbar">${buttons}${link(`${path('queues', j.queue)}?state=${j.state}`, `← ${j.state} jobs of ${j.queue}`)}</div>
${j.error ? h`<div class="error" id="last-error"><strong>Last error</strong> (attempt ${j.error.attempt ?? '?'}): <code>${j.error.name}${j.error.code ? ` [${j.error.code}]` : ''}</code>: ${j.error.message}</div>` : ''}
<div class="grid2"><div class="card"><dl class="fields">${fields.map(([k, v]) => h`<dt>${k}</dt><dd>${v}</dd>`)}</dl></div>
<div class="card"><h2>Attempts</h2><ol class="timeline">${timeline}</ol>${j.errors.length >= 10 ? h`<p class="small muted">The 10 most recent errors are kept.</p>` : ''}</div></div>
${j.progress !== undefined ? h`<h2>Progress</h2>${preview(j.progress)}` : ''}
<h2>Data</h2>${preview(j.data)}
${j.result !== undefined ? h`<h2>Result</h2>${preview(j.result)}` : ''}
${j.metadata ? h`<h2>Metadata</h2>${preview(j.metadata)}` : ''}`;
}

export function confirmPage(question: string, action: string, count: number, back: string): Html {
  return h`<div class="confirm card"><h1>Please confirm</h1><p class="question" id="question">${question}</p>
<div class="toolbar">${actionButton(action, 'Yes, do it', 'danger solid', { confirm: String(count) })}${link(back, 'Cancel', 'button')}</div></div>`;
}

/** "1 / 2": busy of live threads, with the configured maximum when the pool has shrunk below it. */
function threadsCell(s: SupervisorEntry): Html {
  if (s.busyThreads === null || s.liveThreads === null) return h`<span class="muted" title="written by an older supervisor">? / ?</span> <span class="small muted">max ${s.threads}</span>`;
  return h`${s.busyThreads} / ${s.liveThreads}${s.liveThreads < s.threads ? h` <span class="small muted">max ${s.threads}</span>` : ''}`;
}

/**
 * Running jobs, and the held ones not running. The registry's `held` counts every job the
 * supervisor holds from lease to written outcome, the running ones included, so the rest is
 * held - inFlight (waiting for a thread slot, or for their outcome to reach Redis).
 */
function inFlightCell(s: SupervisorEntry): Html {
  const waiting = Math.max(0, s.held - s.inFlight);
  return h`${s.inFlight}${waiting > 0 ? h` <span class="small muted">+${waiting} waiting</span>` : ''}`;
}

export function supervisorsPage(list: readonly SupervisorEntry[], ctx: PageContext): Html {
  const rows = list.map(
    (s) => h`<tr data-supervisor="${s.id}"><td><code>${s.id}</code></td><td>${s.host}</td><td class="n">${s.pid}</td><td>${s.queues.map((q, i) => h`${i > 0 ? ', ' : ''}${link(path('queues', q), q)}`)}</td>
<td class="n" data-field="threads">${threadsCell(s)}</td><td class="n" data-field="in-flight">${inFlightCell(s)}</td><td class="n" data-field="rss">${s.rssBytes === null ? '-' : formatBytes(s.rssBytes)}</td>
<td class="n">${num(s.completed)}</td><td class="n">${num(s.failed)}</td><td class="n">${num(s.dead)}</td>
<td class="nowrap" data-field="heartbeat">${formatAge(s.heartbeatAt, ctx.now)}</td><td class="nowrap">${formatAge(s.startedAt, ctx.now)}</td><td>${s.stale ? badge('stale', 'bad') : badge('live', 'ok')}</td></tr>`,
  );
  return h`<h1>Supervisors</h1>${list.length === 0 ? h`<p class="warning" role="alert"><strong>No supervisor is running.</strong> Start one with <code>troupe supervise</code>.</p>` : h`<table id="supervisors"><thead><tr><th>id</th><th>host</th><th class="n">pid</th><th>queues</th><th class="n">threads busy / live</th><th class="n">jobs in flight</th><th class="n">RSS</th><th class="n">completed</th><th class="n">failed</th><th class="n">dead</th><th>heartbeat</th><th>started</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<p class="small muted">From the registry each supervisor refreshes every heartbeat, so these figures are as old as the heartbeat column says. Threads: busy running a job / alive now (the pool shrinks to its minimum when idle; max = <code>--threads</code>). Jobs in flight: running on a thread; waiting: leased and not running (waiting for a thread slot, or for their outcome to reach Redis). RSS: the whole process, every thread. Stale = three heartbeats missed (stopped or stalled: its jobs return to the queue when their leases expire).</p>`}`;
}

export function schedulesPage(schedules: readonly StoredSchedule[], broken: ReadonlyArray<{ name: string; problem: string }>, ctx: PageContext): Html {
  const rows = schedules.map((s) => {
    const fires = s.paused ? [] : firesBetween(fireRule(s), ctx.now, ctx.now + 366 * 86_400_000, 3);
    const base = path('schedules', s.name);
    const buttons = ctx.readOnly ? '' : h`${s.paused ? actionButton(`${base}/actions/resume`, 'Resume', 'primary') : actionButton(`${base}/actions/pause`, 'Pause')} ${actionButton(`${base}/actions/run`, 'Run now')}`;
    return h`<tr data-schedule="${s.name}"><td><strong>${s.name}</strong><div class="small muted">${s.source}</div></td><td>${s.when}<div class="small muted"><code>${s.cron}</code> ${s.timezone}</div></td>
<td>${s.queue === '*' ? h`<span class="muted">first queue of the claimer</span>` : link(path('queues', s.queue), s.queue)}</td><td>${s.processor}</td>
<td class="small">${fires.length > 0 ? fires.map((f, i) => h`${i > 0 ? raw('<br>') : ''}${new Date(f).toISOString().replace('T', ' ').slice(0, 19)} (${formatAge(f, ctx.now)})`) : h`<span class="muted">${s.paused ? 'paused' : 'none within a year'}</span>`}</td>
<td class="small">${s.lastFire ? `${new Date(s.lastFire).toISOString().replace('T', ' ').slice(0, 19)} (${formatAge(s.lastFire, ctx.now)})` : h`<span class="muted">never</span>`}</td>
<td>${s.paused ? badge('paused', 'warn') : badge('active', 'ok')}</td><td>${buttons}</td></tr>`;
  });
  return h`<h1>Schedules</h1>${broken.length > 0 ? h`<p class="error">Unreadable definitions: ${broken.map((b) => `${b.name} (${b.problem})`).join('; ')}</p>` : ''}
${schedules.length === 0 ? h`<p class="muted">No schedules. Add one with <code>troupe schedule add</code> or the config file's <code>schedules</code>.</p>` : h`<table id="schedules"><thead><tr><th>name</th><th>when</th><th>queue</th><th>processor</th><th>next fires (UTC)</th><th>last fire (UTC)</th><th>state</th><th></th></tr></thead><tbody>${rows}</tbody></table>`}`;
}

export function chartsPage(minutes: readonly QueueMinutes[], o: Overview, dead: ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>): Html {
  const sections = minutes.map((q) => {
    const processors = q.processors.length > 1 ? q.processors : [];
    const growth = dead.get(q.queue) ?? [];
    return h`<h2>${link(path('queues', q.queue), q.queue)}</h2><div class="grid2">
${lineChart(`${q.queue}: runs per minute`, 'runs', q.points, [['runs', (p) => p.runs]])}
${lineChart(`${q.queue}: latency (ms)`, 'ms', q.points, [['wait p50', (p) => p.waitP50], ['wait p99', (p) => p.waitP99], ['run p50', (p) => p.runP50], ['run p99', (p) => p.runP99]])}
${processors.map((p) => lineChart(`${q.queue} / ${p.processor}: run time (ms)`, 'ms', p.points, [['run p50', (x) => x.runP50], ['run p99', (x) => x.runP99], ['wait p99', (x) => x.waitP99]]))}
${growth.length > 1 ? raw(`<div class="chart">${renderChart({ kind: 'line', title: `${q.queue}: dead jobs`, xLabel: 'time (UTC)', yLabel: 'dead', series: [{ name: 'dead', points: growth.map(([, v], i) => [i, v] as const) }], categories: growth.map(([at]) => new Date(at).toISOString().slice(11, 19)) })}</div>`) : ''}
</div>`;
  });
  const rows = o.queues.filter((q) => q.latency).flatMap((q) =>
    Object.entries(q.latency!.processors).map(([p, k]) => {
      // No figure ('-', not 0) where nothing was recorded: a processor whose jobs have started and
      // none finished has waits and no run yet; end to end is recorded for completed jobs only.
      const shown = (l: { count: number; p50: number; p99: number }, v: 'p50' | 'p99') => (l.count > 0 ? ms(l[v]) : '-');
      return h`<tr data-processor="${`${q.name}/${p}`}"><td>${q.name}</td><td>${p}</td><td class="n">${num(k.run.count)}</td><td class="n">${ms(k.wait.p50)}</td><td class="n">${ms(k.wait.p99)}</td><td class="n">${shown(k.run, 'p50')}</td><td class="n">${shown(k.run, 'p99')}</td><td class="n">${shown(k.endToEnd, 'p99')}</td></tr>`;
    }),
  );
  return h`<h1>Metrics</h1>
<p class="muted">Per minute over the last hour, from the histograms every supervisor writes to Redis; dead-job counts are sampled by this dashboard since it started (an hour kept).</p>
${rows.length > 0 ? h`<h2>Last ${Math.round(o.latencyWindowMs / 60_000)} minutes by processor (ms)</h2><table><thead><tr><th>queue</th><th>processor</th><th class="n">runs</th><th class="n">wait p50</th><th class="n">wait p99</th><th class="n">run p50</th><th class="n">run p99</th><th class="n">end to end p99</th></tr></thead><tbody>${rows}</tbody></table>` : ''}
${sections.length > 0 ? sections : h`<p class="muted">No supervisor has recorded runs in the last minutes.</p>`}`;
}

export function errorPage(message: string, back?: string): Html {
  return h`<h1>That did not work</h1><p class="error" role="alert">${message}</p>${back ? link(back, '← back') : ''}`;
}
