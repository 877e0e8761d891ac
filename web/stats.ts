// The stats panel: the totals and top lists of a period (Today … a custom from/to, in the
// page's time zone) from GET /api/v1/stats, as Plausible shows them, the pages table with its
// tabs (Top, Entry, Exit pages), the sources table with its (Channels, Sources), the
// campaigns table with Plausible's Campaigns tabs (UTM Medium … UTM Term), and
// countries by name and code. One read in flight per tab (SerialRead); a busy server
// (429/503) is waited out by its Retry-After; refreshed every minute while the tab is visible.
// Text goes in with textContent only: paths, sources and names come from event senders and
// must never become markup.

import { type Access, fetchStats, ReadBusy, ReadUnauthorized, type StatsAnswer } from './api.ts';
import { countryLabel } from './countries.ts';
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
import { byId, fillTable, setNote, type TableCell, tableCount } from './view.ts';

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
  /** A 401 that a refresh did not cure. */
  onUnauthorized: () => void;
}

/** Each top list without tabs: its table, the key of its value, its count, its empty row. */
const TABLES = [
  { list: 'os', table: 'stats-os', key: 'os', count: 'events', none: 'operating systems' },
  { list: 'browsers', table: 'stats-browsers', key: 'browser', count: 'events', none: 'browsers' },
  { list: 'devices', table: 'stats-devices', key: 'device', count: 'events', none: 'devices' },
  {
    list: 'countries',
    table: 'stats-countries',
    key: 'country',
    count: 'events',
    none: 'countries',
  },
  { list: 'top_events', table: 'stats-events', key: 'name', count: 'events', none: 'events' },
] as const;

/**
 * A tab of a tabbed table: its caption, its column headings (and their tooltips), the key of
 * its value, its count and its empty row.
 */
interface TableTab {
  caption: string;
  heads: readonly string[];
  titles?: readonly string[];
  key: string;
  count: string;
  none: string;
}

/**
 * The tabs of the pages table, as Plausible's Top Pages panel (the visitors and visits of
 * entry and exit pages are Plausible's "Unique entrances" and "Total entrances").
 */
const PAGE_TABS = {
  top_paths: {
    caption: 'Top pages',
    heads: ['Page', 'Visitors', 'Views'],
    key: 'path',
    count: 'views',
    none: 'page views',
  },
  top_entry_pages: {
    caption: 'Entry pages',
    heads: ['Entry page', 'Unique entrances', 'Entrances'],
    key: 'path',
    count: 'visits',
    none: 'entry pages',
  },
  top_exit_pages: {
    caption: 'Exit pages',
    heads: ['Exit page', 'Unique exits', 'Exits'],
    key: 'path',
    count: 'visits',
    none: 'exit pages',
  },
} as const satisfies Record<string, TableTab>;

/** The tabs of the sources table, as Plausible's Top Sources panel: channels and sources. */
const SOURCE_TABS = {
  top_channels: {
    caption: 'Channels',
    heads: ['Channel', 'Visitors', 'Visits'],
    titles: [
      "the kind of traffic a visit came from, by Plausible's rules: its source (search engine, " +
        'social network …) and its utm_medium, utm_source, utm_campaign and ad click id',
    ],
    key: 'channel',
    count: 'visits',
    none: 'channels',
  },
  top_referrer_sources: {
    caption: 'Sources',
    heads: ['Source', 'Visitors', 'Visits'],
    titles: [
      "where a visit came from, by its first event: utm_source, else the referrer's host " +
        '(well-known ones by name, e.g. Google); Direct / None without one',
    ],
    key: 'source',
    count: 'visits',
    none: 'sources',
  },
} as const satisfies Record<string, TableTab>;

/** The tabs of the campaigns table, as Plausible's Campaigns: a tag of the visits' entry URL. */
const CAMPAIGN_TABS: Record<string, TableTab> = Object.fromEntries(
  (['medium', 'source', 'campaign', 'content', 'term'] as const).map((tag) => {
    const name = `${tag.charAt(0).toUpperCase()}${tag.slice(1)}`;
    const fallback = tag === 'source' ? ' (else source, else ref)' : '';
    const tab: TableTab = {
      caption: `UTM ${name}s`,
      heads: [`UTM ${name}`, 'Visitors', 'Visits'],
      titles: [`the utm_${tag} of a visit's entry URL${fallback}; visits without one are left out`],
      key: `utm_${tag}`,
      count: 'visits',
      none: `visits with a utm_${tag}`,
    };
    return [`top_utm_${tag}s`, tab];
  }),
);

/** Each tabbed table: its element ids and its tabs, by the list each shows. */
const TABBED = {
  pages: { tabs: 'stats-pages-tabs', table: 'stats-pages', lists: PAGE_TABS },
  sources: { tabs: 'stats-sources-tabs', table: 'stats-sources', lists: SOURCE_TABS },
  campaigns: { tabs: 'stats-campaigns-tabs', table: 'stats-campaigns', lists: CAMPAIGN_TABS },
} as const;

type Tabbed = keyof typeof TABBED;

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
  /** The answer on screen (null while cleared), kept to switch a tab without a read. */
  private shownAnswer: StatsAnswer | null = null;
  /** The tab shown in each tabbed table, kept across periods. */
  private readonly tabs: Record<Tabbed, string> = {
    pages: 'top_paths',
    sources: 'top_referrer_sources',
    campaigns: 'top_utm_mediums',
  };

  constructor(private readonly deps: StatsPanelDeps) {
    for (const tabbed of Object.keys(TABBED) as Tabbed[]) {
      for (const button of tabButtons(tabbed)) {
        button.addEventListener('click', () => this.showTab(tabbed, button.dataset.list ?? ''));
      }
    }
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
    this.fillTables(NOT_LOADED);
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
      this.fillTables(NO_PERIOD);
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
      // The project's reads are full (other tabs, other readers): wait as the server asks.
      const seconds = Math.round(error.retryAfterMs / 1000);
      setNote(note, `The server is busy reading this project; retrying in ${seconds} s`);
      return { kind: 'busy', retryAfterMs: error.retryAfterMs };
    }
    if (error instanceof ReadUnauthorized) this.deps.onUnauthorized();
    setNote(note, `The stats could not be loaded: ${errorText(error)}`, true);
    // Nothing of this period is on screen: its tables no longer say they are loading.
    if (this.shownAnswer === null) this.fillTables(NOT_LOADED);
    return { kind: 'done' };
  }

  private show(answer: StatsAnswer): void {
    for (const field of TOTALS) setTotal(field, answer[field]);
    setStat('avg_duration', formatDuration(answer.avg_duration));
    setStat('visit_duration', formatDuration(answer.visit_duration));
    setStat('bounce_rate', answer.bounce_rate === null ? '–' : `${answer.bounce_rate}%`);
    setStat('views_per_visit', formatDecimal(answer.views_per_visit));
    for (const t of TABLES) {
      const cells = cellsOf(answer[t.list], t.key, t.count, LABELS[t.key]);
      fillTable(tbodyOf(t.table), cells, noneIn(t.none));
    }
    this.shownAnswer = answer;
    for (const tabbed of Object.keys(TABBED) as Tabbed[]) this.showTab(tabbed, this.tabs[tabbed]);
  }

  /** Shows `list` in a tabbed table, from the answer on screen (no read). */
  private showTab(tabbed: Tabbed, list: string): void {
    const lists: Record<string, TableTab> = TABBED[tabbed].lists;
    const shown = lists[list];
    if (shown === undefined) return;
    this.tabs[tabbed] = list;
    for (const button of tabButtons(tabbed)) {
      button.setAttribute('aria-pressed', String(button.dataset.list === list));
    }
    const table = byId(TABBED[tabbed].table);
    (table.querySelector('caption') as HTMLElement).textContent = shown.caption;
    table.querySelectorAll('thead th').forEach((th, i) => {
      th.textContent = shown.heads[i] ?? '';
      const title = shown.titles?.[i];
      if (title === undefined) th.removeAttribute('title');
      else th.setAttribute('title', title);
    });
    const answer = this.shownAnswer;
    if (answer === null) return;
    const rows = answer[list as keyof StatsAnswer] as readonly object[];
    fillTable(
      tbodyOf(TABBED[tabbed].table),
      cellsOf(rows, shown.key, shown.count),
      noneIn(shown.none),
    );
  }

  /** Another period, zone or project: nothing of the last one stays on screen. */
  private clear(): void {
    this.shownKey = null;
    this.shownAnswer = null;
    delete byId('stats').dataset.shown;
    for (const field of [...TOTALS, ...RATES]) setStat(field, '–');
    this.fillTables(LOADING);
  }

  /** Every table of the panel empty, with one row saying why. */
  private fillTables(why: string): void {
    for (const t of [...TABLES, ...Object.values(TABBED)]) fillTable(tbodyOf(t.table), [], why);
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

const tbodyOf = (table: string) => byId(table).querySelector('tbody') as HTMLElement;

const tabButtons = (tabbed: Tabbed) =>
  Array.from(byId(TABBED[tabbed].tabs).querySelectorAll<HTMLButtonElement>('button'));

const noneIn = (what: string) => `No ${what} in this period`;

/** The cells of a top list: its value (as `label` writes it), its visitors and its `count`. */
function cellsOf(
  rows: readonly object[],
  key: string,
  count: string,
  label: (value: string) => string = (value) => value,
): TableCell[][] {
  return rows.map((row) => {
    const cells = row as Record<string, unknown>;
    return [label(String(cells[key] ?? '')), countOf(cells.visitors), countOf(cells[count])];
  });
}

/** Values shown otherwise than as sent: a country code with its name. */
const LABELS: Partial<Record<string, (value: string) => string>> = { country: countryLabel };

function countOf(value: unknown): TableCell {
  return typeof value === 'number' ? tableCount(value) : '–';
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
