// Puts a live snapshot on the page: the counters of each window card, the top paths and top
// events of the chosen windows, and the latest metric values. Text goes in with textContent
// only: paths and names come from event senders and must never become markup.

import type { LiveSnapshot } from './live.ts';
import { formatCompactCount } from './period.ts';

type WindowName = keyof LiveSnapshot['windows'];

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
/** Under 1: significant digits, not 3 decimals, so a quiet tenant's 24 h rate is not 0. */
const fraction = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });
/** Under this, a fraction in scientific notation: its zeros would run past a table cell. */
const SCIENTIFIC_BELOW = 1e-5;
const scientific = new Intl.NumberFormat(undefined, {
  notation: 'scientific',
  maximumSignificantDigits: 3,
});

/**
 * A rate or a metric value: up to 3 decimals, a fraction under 1 to 3 significant digits
 * (6 events in 24 h: 0.0000694/s, which the server sends with 4 so as not to round it to 0).
 */
function formatDecimal(n: number): string {
  const size = Math.abs(n);
  if (size === 0 || size >= 1) return decimal.format(n);
  return (size < SCIENTIFIC_BELOW ? scientific : fraction).format(n);
}
/**
 * The least count a card or a table shows compact: 9 digits ("123,456,789") fit the narrowest
 * card in full; 10 and up to 2^53 ("9,007,199,254,740,991") would run past it.
 */
const CARD_COMPACT_FROM = 1_000_000_000;
/** A rate this high or higher is shown without decimals (they would not fit a card). */
const RATE_WHOLE_FROM = 1000;

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

export function showCounters(snapshot: LiveSnapshot): void {
  // With a key the project is the key's: show whose counters these are.
  byId<HTMLInputElement>('project').placeholder = snapshot.tenant;
  document.querySelectorAll<HTMLElement>('[data-window]').forEach((card) => {
    const counters = snapshot.windows[card.dataset.window as WindowName];
    if (counters === undefined) return;
    setCount(card, 'events', counters.events);
    setCount(card, 'uniques', counters.uniques);
    setCount(card, 'rate', counters.events_per_second);
  });
}

/** No project's counters shown: every card's count '–', the top lists and metrics not loaded. */
export function clearLive(): void {
  document.querySelectorAll<HTMLElement>('.card [data-field]').forEach((el) => {
    el.textContent = '–';
    el.removeAttribute('title');
  });
  for (const id of ['top-paths', 'top-events', 'metrics']) {
    fillTable(byId(id).querySelector('tbody') as HTMLElement, [], 'Not loaded');
  }
}

/**
 * A card's number in full below CARD_COMPACT_FROM (a rate of 1,000/s and more without its
 * decimals), compact from there with the exact value in its title: every count up to 2^53
 * fits the card at any width.
 */
function setCount(card: HTMLElement, field: string, n: number): void {
  const el = card.querySelector<HTMLElement>(`[data-field="${field}"]`);
  if (el === null) return;
  const exact = n < RATE_WHOLE_FROM ? formatDecimal(n) : integer.format(n);
  const text = n < CARD_COMPACT_FROM ? exact : formatCompactCount(n);
  if (el.textContent !== text) el.textContent = text;
  if (text === exact) el.removeAttribute('title');
  else el.title = exact;
}

/**
 * Writes a panel's note: a plain one (`role="status"`), or an error, styled so and with
 * `role="alert"` so that screen readers announce it; an unchanged note is left untouched.
 */
export function setNote(note: HTMLElement, text: string, error = false): void {
  // The same note again (a refresh failing as the last one did) is not announced again.
  const role = error ? 'alert' : 'status';
  if (note.textContent === text && note.getAttribute('role') === role) return;
  note.textContent = text;
  note.classList.toggle('error', error);
  note.setAttribute('role', role);
}

/** A table cell: its text, or a count shown compact with its exact value as its title. */
export type TableCell = string | { text: string; title: string };

/**
 * A count for a table: in full below CARD_COMPACT_FROM, compact from there with the exact count
 * in the title (10 digits twice in a row squeeze the label column to a letter at 320 px).
 */
export function tableCount(n: number): TableCell {
  const exact = integer.format(n);
  return n < CARD_COMPACT_FROM ? exact : { text: formatCompactCount(n), title: exact };
}

/** Replaces a table body with rows of cells; an empty list shows one muted row. */
export function fillTable(tbody: HTMLElement, rows: TableCell[][], empty: string): void {
  const fresh = rows.map((cells) => {
    const tr = document.createElement('tr');
    cells.forEach((cell, i) => {
      const td = document.createElement('td');
      if (typeof cell === 'string') {
        td.textContent = cell;
        if (i > 0 && /^[\d.,\s-]+$/.test(cell)) td.className = 'num';
      } else {
        td.textContent = cell.text;
        td.title = cell.title;
        td.className = 'num';
      }
      tr.append(td);
    });
    return tr;
  });
  if (fresh.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 3;
    td.className = 'muted';
    td.textContent = empty;
    tr.append(td);
    fresh.push(tr);
  }
  tbody.replaceChildren(...fresh);
}

export function showTops(snapshot: LiveSnapshot, pathsWindow: string, namesWindow: string): void {
  const paths = snapshot.windows[pathsWindow as WindowName]?.top_paths ?? [];
  fillTable(
    byId('top-paths').querySelector('tbody') as HTMLElement,
    paths.map((p) => [p.path, tableCount(p.views)]),
    'No page views in this window',
  );
  const names = snapshot.windows[namesWindow as WindowName]?.names ?? [];
  fillTable(
    byId('top-events').querySelector('tbody') as HTMLElement,
    names.map((n) => [n.name, n.events === null ? 'in (other)' : tableCount(n.events)]),
    'No events in this window',
  );
}

/** The latest metric points, their times in `timeZone` (the zone chosen for the series). */
export function showMetrics(snapshot: LiveSnapshot, timeZone: string): void {
  fillTable(
    byId('metrics').querySelector('tbody') as HTMLElement,
    snapshot.latest_metrics.map((m) => [
      m.name,
      formatDecimal(m.value),
      new Date(m.timestamp).toLocaleString(undefined, { timeZone, timeZoneName: 'short' }),
    ]),
    'No metric points yet (events with a value)',
  );
}

/** The time of the last snapshot or heartbeat, in the page's time zone. */
export function showUpdated(atMs: number, what: string, timeZone: string): void {
  const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium', timeZone });
  byId('updated').textContent = `${what} ${clock.format(atMs)}`;
}

export function showStatus(state: string, text: string): void {
  const el = byId('status');
  el.dataset.state = state;
  el.textContent = text;
}
