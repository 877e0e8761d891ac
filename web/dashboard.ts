// The dashboard page: asks for a key or a sign-in when reads need one, then shows the live
// counters of the tenant over the WebSocket and a time series from the query API with bucket
// and time-zone selectors. Bundled by the server with Bun.build; uPlot's CSS comes along.

import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import {
  type Access,
  canRefresh,
  fetchSeries,
  forgetSession,
  loadAccess,
  login,
  probe,
  saveProject,
  saveToken,
} from './api.ts';
import { RateChart, SeriesChart } from './charts.ts';
import { connectLive, type LiveConnection, type LiveSnapshot } from './live.ts';
import { byId, showCounters, showMetrics, showStatus, showTops, showUpdated } from './view.ts';

const RATE_SAMPLE_INTERVAL_MS = 1000;
const SERIES_REFRESH_INTERVAL_MS = 30_000;

let access: Access = loadAccess();
let connection: LiveConnection | null = null;
let latest: LiveSnapshot | null = null;
let live = false;
let rateChart: RateChart | null = null;
let seriesChart: SeriesChart | null = null;
let seriesRequest = 0;

async function boot(): Promise<void> {
  showStatus('starting', 'checking access…');
  const answer = await probe(access).catch((error: unknown) => ({
    kind: 'refused' as const,
    detail: `the server did not answer (${String(error)})`,
  }));
  if (answer.kind === 'ok') start();
  else askForKey(answer.kind === 'login' ? '' : answer.detail);
}

function askForKey(detail: string): void {
  connection?.close();
  connection = null;
  live = false; // no samples while locked: the last rate would be drawn on
  byId('main').hidden = true;
  byId('auth').hidden = false;
  byId('auth-error').textContent = detail;
  showStatus('locked', access.token === null ? 'key needed' : 'key refused');
  byId<HTMLInputElement>('key').focus();
}

function start(): void {
  byId('auth').hidden = true;
  byId('main').hidden = false;
  byId('forget').hidden = access.token === null;
  rateChart ??= new RateChart(byId('rate-chart'));
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
      showUpdated(snapshot.at, 'updated');
    },
    onHeartbeat(atMs) {
      showUpdated(atMs, 'no change since');
    },
    onState(state, detail) {
      live = state === 'live';
      showStatus(state, detail);
    },
    onRefused() {
      // Refused or closed for lapsed credentials, or for overload (429/503): the probe tells
      // them apart. On a 401 it refreshes a sign-in's access token (ACCESS_TOKEN_TTL), which
      // the next reconnect uses; only without a sign-in to refresh (none, or one the server
      // ended) does the page ask for a key. Any other answer leaves it to the backoff.
      void probe(access)
        .then((answer) => {
          if (answer.kind === 'login' && !canRefresh()) askForKey('');
        })
        .catch(() => undefined);
    },
  });
  void loadSeries();
}

function render(): void {
  if (latest === null) return;
  showCounters(latest);
  showTops(latest, selected('paths-window'), selected('names-window'));
  showMetrics(latest, selected('series-tz'));
}

const selected = (id: string) => byId<HTMLSelectElement>(id).value;

async function loadSeries(): Promise<void> {
  if (seriesChart === null || byId('main').hidden) return;
  const query = {
    metric: selected('series-metric'),
    bucket: selected('series-bucket'),
    tz: selected('series-tz'),
  };
  const note = byId('series-note');
  const request = ++seriesRequest;
  try {
    const points = await fetchSeries(access, query);
    // Selectors may have changed while this was in flight: only the newest answer is shown.
    if (request !== seriesRequest) return;
    const values = points.map((p) => p.value);
    const label = query.metric === 'uniques' ? 'visitors' : 'events';
    const times = points.map((p) => Date.parse(p.bucket) / 1000);
    seriesChart.show({ times, values, label }, query.tz);
    const shown = `${points.length} ${query.bucket} buckets in ${query.tz}`;
    if (query.metric === 'uniques') {
      // Distinct visitors do not add up across buckets: one visitor of three hours is one.
      note.textContent = `${shown}; visitors distinct within each bucket`;
    } else {
      const total = values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
      note.textContent = `${shown}; ${total} in all`;
    }
  } catch (error) {
    if (request !== seriesRequest) return;
    note.textContent = `The time series could not be loaded: ${String(error)}`;
  }
}

function fillTimeZones(): void {
  const select = byId<HTMLSelectElement>('series-tz');
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
  byId('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const email = byId<HTMLInputElement>('email').value;
    const password = byId<HTMLInputElement>('password').value;
    login(email, password).then(
      (token) => {
        saveToken(token);
        access = loadAccess();
        void boot();
      },
      (error: unknown) => {
        byId('auth-error').textContent = error instanceof Error ? error.message : String(error);
      },
    );
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
  wireForms();
  for (const id of ['paths-window', 'names-window']) {
    byId(id).addEventListener('change', render);
  }
  byId('series-form').addEventListener('change', () => {
    render(); // the metric times follow the chosen zone
    void loadSeries();
  });
  setInterval(() => {
    if (live && latest !== null) rateChart?.add(Date.now(), latest.events_per_second);
  }, RATE_SAMPLE_INTERVAL_MS);
  setInterval(() => void loadSeries(), SERIES_REFRESH_INTERVAL_MS);
  void boot();
}

main();
