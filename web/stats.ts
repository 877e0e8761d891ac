// The stats panel: the totals and top lists of a period (Today … a custom from/to, in the
// page's time zone) from GET /api/v1/stats, as Plausible shows them. This module reads them
// and owns the panel's state: the period asked, the headline numbers and the note; the top
// lists' tables and their tabs are web/stats-tables.ts. One read in flight per tab
// (SerialRead); a busy server (429/503) is waited out by its Retry-After; refreshed every
// minute while the tab is visible. Text goes in with textContent only.

import {
  type Access,
  busyNote,
  fetchStats,
  ReadBusy,
  ReadUnauthorized,
  type StatsAnswer,
} from './api.ts';
import {
  type DayRange,
  daysOf,
  formatCompactCount,
  formatCount,
  formatDays,
  formatDuration,
  type Period,
  statsParams,
} from './period.ts';
import { type ReadOutcome, SerialRead } from './serial-read.ts';
import { StatsTables } from './stats-tables.ts';
import { byId, setNote } from './view.ts';

const STATS_REFRESH_INTERVAL_MS = 60_000;
/** The least headline count shown compact: a card holds 10 digits ("1,234,567,890") in full. */
const TOTAL_COMPACT_FROM = 10_000_000_000;
/** The tables' row while a period is read, and after its read failed (see the note). */
const LOADING = 'Loading…';
const NOT_LOADED = 'Not loaded';
/** The tables' row while the custom days are missing or out of order. */
const NO_PERIOD = 'No period chosen';

export interface StatsPanelDeps {
  access: () => Access;
  /** The page's time zone. */
  timeZone: () => string;
  /** Whether the panel is on screen (the page is not locked). */
  shown: () => boolean;
  /** A 401 that a refresh did not cure; `detail` is the server's reason. */
  onUnauthorized: (detail: string) => void;
}

const TOTALS = [
  'unique_visitors',
  'visits',
  'page_views',
  'total_events',
  'sessions',
  'unique_users',
] as const;

/** The totals that are not counts; '–' when there is nothing to measure (null). */
const RATES = ['avg_duration', 'visit_duration', 'bounce_rate', 'views_per_visit'] as const;

/** What a read asks: the days, the zone and the project. */
interface StatsQuery {
  days: DayRange;
  tz: string;
  project: string | null;
}

const keyOf = (q: StatsQuery) => `${q.project ?? ''} ${q.tz} ${q.days.from}/${q.days.to}`;

export class StatsPanel {
  private readonly reads = new SerialRead((superseded) => this.readOnce(superseded));
  /** The query whose answer is on screen; another one clears the figures before reading. */
  private shownKey: string | null = null;
  private lastReadAtMs = 0;
  /** Bumped by forget(): an answer read before it is of another project or key. */
  private generation = 0;
  /** The top lists, and the tab chosen in each tabbed one. */
  private readonly tables = new StatsTables();

  constructor(private readonly deps: StatsPanelDeps) {
    const form = byId('stats-form');
    form.addEventListener('change', () => {
      this.showCustomFields();
      void this.load('changed');
    });
    form.addEventListener('submit', (event) => event.preventDefault());
    this.fillCustomDefaults();
    this.showCustomFields();
    setInterval(() => this.refresh(), STATS_REFRESH_INTERVAL_MS);
    document.addEventListener('visibilitychange', () => {
      // Back on screen after a refresh was skipped: read now rather than at the next tick.
      if (Date.now() - this.lastReadAtMs >= STATS_REFRESH_INTERVAL_MS) this.refresh();
    });
  }

  /** Reads the period now (or right after the read in flight): a change of what is shown. */
  load(why: 'changed' | 'refresh'): Promise<void> {
    if (!this.deps.shown()) return Promise.resolve();
    return this.reads.request(why);
  }

  /** Another project or key: nothing shown or in flight is of it (the period stays). */
  forget(): void {
    this.generation++;
    this.reads.cancelRetry();
    this.clear();
    this.tables.empty(NOT_LOADED);
    byId('stats-days').textContent = '';
    setNote(byId('stats-note'), '');
  }

  /** Stops a retry of a locked page and forgets what was shown (another key may read else). */
  stop(): void {
    this.reads.cancelRetry();
    this.shownKey = null;
  }

  private refresh(): void {
    if (document.visibilityState === 'visible') void this.load('refresh');
  }

  /**
   * The local days of the chosen period in the page's zone, now; null for a custom range with
   * a day missing or the two out of order. The funnel and retention panels read these too.
   */
  days(): DayRange | null {
    const custom = {
      from: byId<HTMLInputElement>('stats-from').value,
      to: byId<HTMLInputElement>('stats-to').value,
    };
    const period = byId<HTMLSelectElement>('stats-period').value as Period;
    return daysOf(period, Date.now(), this.deps.timeZone(), custom);
  }

  private query(): StatsQuery | null {
    const days = this.days();
    const tz = this.deps.timeZone();
    return days === null ? null : { days, tz, project: this.deps.access().project };
  }

  private async readOnce(superseded: () => boolean): Promise<ReadOutcome> {
    const query = this.query();
    const note = byId('stats-note');
    if (query === null) {
      this.clear();
      // Nothing is read until the days are valid: no table says it is loading, no days shown.
      this.tables.empty(NO_PERIOD);
      byId('stats-days').textContent = '';
      setNote(note, 'Pick a start and an end day, the start on or before the end.', true);
      return { kind: 'done' };
    }
    const key = keyOf(query);
    if (key !== this.shownKey) this.clear();
    byId('stats-days').textContent = `${formatDays(query.days)} · ${query.tz}`;
    const section = byId('stats');
    section.setAttribute('aria-busy', 'true');
    const generation = this.generation;
    const stale = () => superseded() || generation !== this.generation;
    try {
      const answer = await fetchStats(this.deps.access(), statsParams(query.days, query.tz));
      // The period, zone or project changed while this was in flight: the next read shows.
      if (stale()) return { kind: 'done' };
      this.show(answer);
      this.shownKey = key;
      this.lastReadAtMs = Date.now();
      section.dataset.shown = `${query.tz} ${query.days.from}/${query.days.to}`;
      const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium', timeZone: query.tz });
      setNote(note, `Updated ${clock.format(Date.now())}`);
      return { kind: 'done' };
    } catch (error) {
      if (stale()) return { kind: 'done' };
      return this.failed(error);
    } finally {
      section.setAttribute('aria-busy', 'false');
    }
  }

  private failed(error: unknown): ReadOutcome {
    const note = byId('stats-note');
    if (error instanceof ReadBusy) {
      // The project's reads are full (other tabs, other readers), or the refresh of an expired
      // access token waits: wait as the server asks.
      setNote(note, busyNote(error));
      return { kind: 'busy', retryAfterMs: error.retryAfterMs };
    }
    if (error instanceof ReadUnauthorized) this.deps.onUnauthorized(error.message);
    setNote(note, `The stats could not be loaded: ${errorText(error)}`, true);
    // Nothing of this period is on screen: its tables no longer say they are loading.
    if (!this.tables.shown) this.tables.empty(NOT_LOADED);
    return { kind: 'done' };
  }

  private show(answer: StatsAnswer): void {
    for (const field of TOTALS) setTotal(field, answer[field]);
    setStat('avg_duration', formatDuration(answer.avg_duration));
    setStat('visit_duration', formatDuration(answer.visit_duration));
    setStat('bounce_rate', answer.bounce_rate === null ? '–' : `${answer.bounce_rate}%`);
    setStat('views_per_visit', formatDecimal(answer.views_per_visit));
    this.tables.show(answer);
  }

  /** Another period, zone or project: nothing of the last one stays on screen. */
  private clear(): void {
    this.shownKey = null;
    delete byId('stats').dataset.shown;
    for (const field of [...TOTALS, ...RATES]) setStat(field, '–');
    this.tables.empty(LOADING);
  }

  /** A custom range starts as the last 7 days, so picking "Custom" reads something. */
  private fillCustomDefaults(): void {
    const days = daysOf('7d', Date.now(), this.deps.timeZone());
    if (days === null) return;
    byId<HTMLInputElement>('stats-from').value = days.from;
    byId<HTMLInputElement>('stats-to').value = days.to;
  }

  private showCustomFields(): void {
    const custom = byId<HTMLSelectElement>('stats-period').value === 'custom';
    byId('stats-custom').hidden = !custom;
  }
}

function setStat(field: string, text: string, title?: string): void {
  const el = document.querySelector<HTMLElement>(`#stats-totals [data-stat="${field}"]`);
  if (el === null) return;
  el.textContent = text;
  if (title === undefined) el.removeAttribute('title');
  else el.title = title;
}

/**
 * A headline count: in full up to 10 digits (what a card holds), compact from 11 digits up to
 * 2^53 ("12.3B", "9010T") with the exact count in its title.
 */
function setTotal(field: string, n: number): void {
  const exact = formatCount(n);
  if (n < TOTAL_COMPACT_FROM) setStat(field, exact);
  else setStat(field, formatCompactCount(n), exact);
}

/** A ratio with up to two decimals in the page's locale ("1.5", "301"); '–' for none. */
function formatDecimal(n: number | null): string {
  return n === null
    ? '–'
    : new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(n);
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
