// The stats panel's top-10 tables (web/stats.ts reads the answer and owns the headline
// numbers): pages with Plausible's tabs (Top, Entry, Exit pages), sources with its (Channels,
// Sources), campaigns with its Campaigns tabs (UTM Medium … UTM Term), and operating systems,
// browsers, devices, countries (by name and code) and events. Fills them from an answer, keeps
// the tab chosen in each tabbed table across periods (a switch shows the answer on screen, no
// read), and empties them with one row saying why. Text goes in with textContent only: paths,
// sources and names come from event senders and must never become markup.

import type { StatsAnswer } from './api.ts';
import { countryLabel } from './countries.ts';
import { byId, fillTable, type TableCell, tableCount } from './view.ts';

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

/** The tables of the stats panel, and the tab shown in each tabbed one. */
export class StatsTables {
  /** The answer on screen (null while emptied), kept to switch a tab without a read. */
  private answer: StatsAnswer | null = null;
  /** The tab shown in each tabbed table, kept across periods. */
  private readonly tabs: Record<Tabbed, string> = {
    pages: 'top_paths',
    sources: 'top_referrer_sources',
    campaigns: 'top_utm_mediums',
  };

  constructor() {
    for (const tabbed of Object.keys(TABBED) as Tabbed[]) {
      for (const button of tabButtons(tabbed)) {
        button.addEventListener('click', () => this.showTab(tabbed, button.dataset.list ?? ''));
      }
    }
  }

  /** Whether an answer is on screen. */
  get shown(): boolean {
    return this.answer !== null;
  }

  /** Every table filled from `answer`, each tabbed one on its chosen tab. */
  show(answer: StatsAnswer): void {
    for (const t of TABLES) {
      const cells = cellsOf(answer[t.list], t.key, t.count, LABELS[t.key]);
      fillTable(tbodyOf(t.table), cells, noneIn(t.none));
    }
    this.answer = answer;
    for (const tabbed of Object.keys(TABBED) as Tabbed[]) this.showTab(tabbed, this.tabs[tabbed]);
  }

  /** Every table empty, with one row saying why; the answer on screen is dropped. */
  empty(why: string): void {
    this.answer = null;
    for (const t of [...TABLES, ...Object.values(TABBED)]) fillTable(tbodyOf(t.table), [], why);
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
    const answer = this.answer;
    if (answer === null) return;
    const rows = answer[list as keyof StatsAnswer] as readonly object[];
    fillTable(
      tbodyOf(TABBED[tabbed].table),
      cellsOf(rows, shown.key, shown.count),
      noneIn(shown.none),
    );
  }
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
