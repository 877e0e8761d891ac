// The dashboard page: asks for a key or a sign-in when reads need one, then shows the live
// counters of the tenant over the WebSocket, the stats of a period (web/stats.ts), a funnel
// (web/funnel.ts) and retention cohorts (web/retention.ts) over that period, and a time series
// from the query API (refreshed while the tab is visible), in one time zone for the page.
// Bundled by the server with Bun.build; uPlot's CSS comes along.

import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import {
  type Access,
  busyNote,
  fetchSeries,
  loadAccess,
  probe,
  ReadBusy,
  ReadUnauthorized,
  saveProject,
  saveToken,
} from './api.ts';
import { RateChart, SeriesChart } from './charts.ts';
import { FunnelPanel } from './funnel.ts';
import { type InsightDeps, insightRange } from './insight-read.ts';
import { connectLive, type LiveConnection, type LiveSnapshot } from './live.ts';
import { formatCount } from './period.ts';
import { RetentionPanel } from './retention.ts';
import { type ReadOutcome, SerialRead } from './serial-read.ts';
import { canRefresh, forgetSession, signInEnded } from './sign-in.ts';
import { wireSignIn } from './sign-in-form.ts';
import { StatsPanel } from './stats.ts';
import {
  byId,
  clearLive,
  setNote,
  showCounters,
  showMetrics,
  showStatus,
  showTops,
  showUpdated,
} from './view.ts';

const RATE_SAMPLE_INTERVAL_MS = 1000;
/** A boot that found no server (restarting, a proxy's 502) checks again: 1 s doubling to 15 s. */
const BOOT_RETRY_FIRST_MS = 1000;
const BOOT_RETRY_MAX_MS = 15_000;
const SERIES_REFRESH_INTERVAL_MS = 30_000;
/** How often the page checks whether the local day changed under the funnel and retention. */
const DAY_CHECK_INTERVAL_MS = 60_000;

let access: Access = loadAccess();
let connection: LiveConnection | null = null;
let latest: LiveSnapshot | null = null;
let live = false;
let rateChart: RateChart | null = null;
let seriesChart: SeriesChart | null = null;
/** A boot waiting out a busy server's Retry-After, or an unreachable one's backoff. */
let bootRetry: ReturnType<typeof setTimeout> | null = null;
let bootBackoffMs = BOOT_RETRY_FIRST_MS;
/** The latest boot's number: an earlier one's check answers for a project or key left. */
let bootRun = 0;
/** Bumped by forgetShown(): a series read sent before it is of another project or key. */
let seriesGeneration = 0;
/** One series read per tab at a time (see web/serial-read.ts). */
const seriesReads = new SerialRead(loadSeriesOnce);
/** The stats of a period; made once the time zones are listed. */
let stats: StatsPanel | null = null;
/** The funnel and the retention cohorts over the stats period; read once asked for. */
let insights: (FunnelPanel | RetentionPanel)[] = [];
let insightDeps: InsightDeps | null = null;

/**
 * Checks access and starts the page. `retry` is a boot's own retry; any other boot (the first,
 * another project or key) starts the backoff over: the last project's grown wait is not its.
 */
async function boot(retry = false): Promise<void> {
  const run = ++bootRun;
  if (bootRetry !== null) clearTimeout(bootRetry);
  bootRetry = null;
  // Another project or key (or the first boot): nothing of the last one stays on screen, and
  // its socket is closed, so none of its counters show while the new one is checked.
  if (!retry) {
    bootBackoffMs = BOOT_RETRY_FIRST_MS;
    forgetShown();
  }
  connection?.close();
  connection = null;
  live = false;
  showStatus('starting', 'checking access…');
  const answer = await probe(access);
  // Another project or key was picked while this check ran: its own boot answers (this one's
  // refusal would lock the page, its retry would stack on that boot's and restart it later).
  if (run !== bootRun) return;
  if (answer.kind !== 'unreachable') bootBackoffMs = BOOT_RETRY_FIRST_MS;
  if (answer.kind === 'ok') start();
  else if (answer.kind === 'unreachable') {
    // No answer about the key (a restart, a proxy's 502): check again, never ask for a key.
    const seconds = Math.round(bootBackoffMs / 1000);
    showStatus('offline', `${answer.detail}; retrying in ${seconds} s`);
    bootRetry = setTimeout(() => void boot(true), bootBackoffMs);
    bootBackoffMs = Math.min(bootBackoffMs * 2, BOOT_RETRY_MAX_MS);
  } else if (answer.kind === 'busy') {
    // Overload is not a refused key: wait as asked, then check again.
    const seconds = Math.round(answer.retryAfterMs / 1000);
    showStatus('busy', `server busy (${answer.detail}); retrying in ${seconds} s`);
    bootRetry = setTimeout(() => void boot(true), answer.retryAfterMs);
  } else if (answer.kind === 'login') askAfterUnauthorized(answer.detail);
  else askForKey(answer.detail);
}

/**
 * Asks for a key after a 401 (`detail` the server's reason): a tab that sent no credential is
 * just asked (the prompt itself says why); a sign-in that ended says so and why.
 */
function askAfterUnauthorized(detail: string): void {
  const ended = signInEnded(detail);
  if (ended !== null) askForKey(ended, 'sign-in ended');
  else askForKey(access.token === null ? '' : detail);
}

/**
 * Another project or key: its counters, top lists, metrics, stats, series and insights are
 * cleared, and answers read before for the last one are dropped when they come.
 */
function forgetShown(): void {
  for (const panel of insights) panel.forget();
  stats?.forget();
  seriesGeneration++;
  seriesReads.cancelRetry();
  seriesChart?.clear();
  setNote(byId('series-note'), '');
  rateChart?.clear();
  latest = null;
  lastUpdate = null;
  byId('updated').textContent = '';
  clearLive();
}

function askForKey(detail: string, state?: string): void {
  connection?.close();
  connection = null;
  live = false; // no samples while locked: the last rate would be drawn on
  byId('main').hidden = true;
  byId('auth').hidden = false;
  byId('auth-error').textContent = detail;
  byId('forget').hidden = access.token === null;
  seriesReads.cancelRetry();
  stats?.stop();
  for (const panel of insights) panel.stop();
  showStatus('locked', state ?? (access.token === null ? 'key needed' : 'key refused'));
  // Focus the prompt, unless someone types in it already (a sign-in's email): keys stay there.
  if (!byId('auth').contains(document.activeElement)) byId<HTMLInputElement>('key').focus();
}

function start(): void {
  byId('auth').hidden = true;
  byId('main').hidden = false;
  byId('forget').hidden = access.token === null;
  // Kept by the tab now, not in the hidden prompt too, where Forget key would show it again.
  for (const id of ['key', 'password']) byId<HTMLInputElement>(id).value = '';
  rateChart ??= new RateChart(byId('rate-chart'), () => selected('tz'));
  seriesChart ??= new SeriesChart(byId('series-chart'));
  // Another project, or the page was locked: nothing of what was shown carries over.
  rateChart.clear();
  latest = null;
  live = false;
  connection?.close();
  connection = connectLive(() => access, {
    onSnapshot(snapshot) {
      latest = snapshot;
      render();
      showUpdate({ atMs: snapshot.at, what: 'updated' });
    },
    onHeartbeat(atMs) {
      showUpdate({ atMs, what: 'no change since' });
    },
    onState(state, detail) {
      live = state === 'live';
      showStatus(state, detail);
    },
    onRefused() {
      // Refused or closed for lapsed credentials, or for overload (429/503): the probe tells
      // them apart. On a 401 it refreshes a sign-in's access token (ACCESS_TOKEN_TTL), which
      // the next reconnect uses; only without a sign-in to refresh (none, or one the server
      // ended) does the page ask for a key. A refusal of another kind (403: a member removed,
      // a key's project changed) asks for one too, with the server's reason, as a boot does.
      // Any other answer leaves it to the backoff. A check answered after another project or
      // key was picked says nothing of them.
      const run = bootRun;
      void probe(access)
        .then((answer) => {
          if (run !== bootRun) return;
          if (answer.kind === 'login' && !canRefresh()) askAfterUnauthorized(answer.detail);
          else if (answer.kind === 'refused') askForKey(answer.detail);
        })
        .catch(() => undefined);
    },
    onGone(detail) {
      // Deleted: its counters, events and keys are gone. The page stops until another project
      // is picked (the Project field) or the page reloads: nothing of it stays on screen and
      // nothing is read again (the panels read only while #main is shown).
      live = false;
      forgetShown();
      byId('main').hidden = true;
      showStatus('offline', `${detail}; pick another project`);
    },
  });
  void loadSeries('changed');
  void stats?.load('changed');
  loadInsights();
}

/** Reads the funnel and retention again (those asked for): the period, zone or project moved. */
function loadInsights(): void {
  insightDays = insightDaysNow();
  for (const panel of insights) void panel.load('changed');
}

/** The stats period's days and zone when the funnel and retention were last asked to read. */
let insightDays: string | null = null;
const insightDaysNow = () =>
  insightDeps === null ? null : (insightRange(insightDeps)?.key ?? null);

/**
 * The local day changed (midnight in the page's zone) since the funnel and retention were
 * read: "Today" or "Last 7 days" are other days now, as the stats panel's next read shows, so
 * they are read again. Checked every DAY_CHECK_INTERVAL_MS while the tab is visible, and on
 * coming back to it.
 */
function followDay(): void {
  if (document.visibilityState !== 'visible' || insightDaysNow() === insightDays) return;
  loadInsights();
}

/**
 * A read answered 401 after the refresh `readFetch` tried: without a sign-in to refresh (none,
 * or one the server ended) the page asks for a key; a refresh that failed for overload keeps
 * the sign-in, and the next read tries again.
 */
function onUnauthorized(detail: string): void {
  if (!canRefresh()) askAfterUnauthorized(detail);
}

function render(): void {
  if (latest === null) return;
  showCounters(latest);
  showTops(latest, selected('paths-window'), selected('names-window'));
  showMetrics(latest, selected('tz'));
}

const selected = (id: string) => byId<HTMLSelectElement>(id).value;

/** The last snapshot's or heartbeat's time, shown again in a newly chosen zone. */
let lastUpdate: { atMs: number; what: string } | null = null;
function showUpdate(update: { atMs: number; what: string }): void {
  lastUpdate = update;
  showUpdated(update.atMs, update.what, selected('tz'));
}

/**
 * Loads the series of the selectors: at once for a change (or after the read in flight), and
 * for the periodic refresh only when nothing is in flight or waiting for a retry.
 */
function loadSeries(why: 'changed' | 'refresh'): Promise<void> {
  if (seriesChart === null || byId('main').hidden) return Promise.resolve();
  return seriesReads.request(why);
}

/** Whether a periodic refresh of the series was skipped while the tab was hidden. */
let seriesMissed = false;

/** The periodic refresh: none while the tab is hidden (it would draw for no one). */
function refreshSeries(): void {
  seriesMissed = document.visibilityState === 'hidden';
  if (!seriesMissed) void loadSeries('refresh');
}

async function loadSeriesOnce(superseded: () => boolean): Promise<ReadOutcome> {
  const chart = seriesChart;
  if (chart === null) return { kind: 'done' };
  const query = {
    metric: selected('series-metric'),
    bucket: selected('series-bucket'),
    tz: selected('tz'),
  };
  const note = byId('series-note');
  const generation = seriesGeneration;
  const stale = () => superseded() || generation !== seriesGeneration;
  try {
    const points = await fetchSeries(access, query);
    // Selectors or the project changed while this was in flight: the next read shows.
    if (stale()) return { kind: 'done' };
    const values = points.map((p) => p.value);
    const label = query.metric === 'uniques' ? 'visitors' : 'events';
    const times = points.map((p) => Date.parse(p.bucket) / 1000);
    chart.show({ times, values, label }, query.tz);
    const shown = `${points.length} ${query.bucket} buckets in ${query.tz}`;
    if (query.metric === 'uniques') {
      // Distinct visitors do not add up across buckets: one visitor of three hours is one.
      setNote(note, `${shown}; visitors distinct within each bucket`);
    } else {
      const total = values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
      setNote(note, `${shown}; ${formatCount(total)} in all`);
    }
  } catch (error) {
    if (stale()) return { kind: 'done' };
    if (error instanceof ReadBusy) {
      // The project's reads are full (other tabs, other readers), or the refresh of an expired
      // access token waits: wait as the server asks.
      setNote(note, busyNote(error));
      return { kind: 'busy', retryAfterMs: error.retryAfterMs };
    }
    if (error instanceof ReadUnauthorized) onUnauthorized(error.message);
    const text = error instanceof Error ? error.message : String(error);
    setNote(note, `The time series could not be loaded: ${text}`, true);
  }
  return { kind: 'done' };
}

function fillTimeZones(): void {
  const select = byId<HTMLSelectElement>('tz');
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zones = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
  if (!zones.includes(own)) zones.unshift(own);
  select.replaceChildren(...zones.map((z) => new Option(z, z, z === own, z === own)));
}

function wireForms(): void {
  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = byId<HTMLInputElement>('key').value.trim();
    forgetSession();
    saveToken(token === '' ? null : token);
    access = loadAccess();
    void boot();
  });
  wireSignIn((token) => {
    saveToken(token, true);
    access = loadAccess();
    void boot();
  });
  byId('forget').addEventListener('click', () => {
    forgetSession();
    saveToken(null);
    access = loadAccess();
    void boot();
  });
  const project = byId<HTMLInputElement>('project');
  project.value = access.project ?? '';
  project.addEventListener('change', () => {
    saveProject(project.value.trim());
    access = loadAccess();
    void boot();
  });
}

function main(): void {
  fillTimeZones();
  stats = new StatsPanel({
    access: () => access,
    timeZone: () => selected('tz'),
    shown: () => !byId('main').hidden,
    onUnauthorized,
  });
  insightDeps = {
    access: () => access,
    timeZone: () => selected('tz'),
    days: () => stats?.days() ?? null,
    shown: () => !byId('main').hidden,
    onUnauthorized,
  };
  insights = [new FunnelPanel(insightDeps), new RetentionPanel(insightDeps)];
  byId('stats-form').addEventListener('change', loadInsights);
  wireForms();
  for (const id of ['paths-window', 'names-window']) {
    byId(id).addEventListener('change', render);
  }
  byId('series-form').addEventListener('change', () => void loadSeries('changed'));
  byId('tz').addEventListener('change', () => {
    render(); // the metric times follow the chosen zone
    rateChart?.redraw();
    if (lastUpdate !== null) showUpdate(lastUpdate);
    void loadSeries('changed');
    void stats?.load('changed');
    loadInsights();
  });
  setInterval(() => {
    // Not live (offline, in error, connecting): no rate is known, and the chart shows a gap.
    if (latest !== null) rateChart?.add(Date.now(), live ? latest.events_per_second : null);
  }, RATE_SAMPLE_INTERVAL_MS);
  setInterval(refreshSeries, SERIES_REFRESH_INTERVAL_MS);
  setInterval(followDay, DAY_CHECK_INTERVAL_MS);
  document.addEventListener('visibilitychange', () => {
    // Back on screen after a refresh was skipped: read once now, not at the next tick.
    if (document.visibilityState === 'visible' && seriesMissed) refreshSeries();
    followDay();
  });
  void boot();
}

main();
