// The funnel panel's breakdown: the "Break down by" choice as the API's `breakdown` parameter
// (a column, or `property:<key>` with the key typed beside it), and the answer's `breakdowns`
// as a table, one row per value as PostHog lists them: the value, each step's count, and the
// conversion from step 1 to the last. No value is "(none)", PostHog's None; the folded values
// are "Other (n values)". Text goes in with textContent only: values come from event senders.

import type { FunnelBreakdownResult } from '../src/query/index.ts';
import type { FunnelAnswer } from './api.ts';
import { formatPercent } from './insights-format.ts';
import { formatCount } from './period.ts';
import { byId } from './view.ts';

/** The form's choice as the API's `breakdown`; undefined for none. */
export function breakdownParam(): string | undefined {
  const choice = byId<HTMLSelectElement>('funnel-breakdown').value;
  if (choice === '') return undefined;
  if (choice !== 'property') return choice;
  return `property:${byId<HTMLInputElement>('funnel-breakdown-key').value.trim()}`;
}

/** Shows the property key's field only while "event property" is chosen. */
export function watchBreakdownChoice(): void {
  const select = byId<HTMLSelectElement>('funnel-breakdown');
  const key = byId('funnel-breakdown-key-field');
  const sync = () => {
    key.hidden = select.value !== 'property';
  };
  select.addEventListener('change', sync);
  sync();
}

/** Hides the breakdown table (another range, a failure, or an answer without one). */
export function hideBreakdowns(): void {
  byId('funnel-breakdown-table').hidden = true;
}

/** Fills the breakdown table with the answer's values, or hides it when none were asked. */
export function showBreakdowns(answer: FunnelAnswer): void {
  const table = byId('funnel-breakdown-table');
  const breakdowns = answer.breakdowns;
  if (breakdowns === undefined) {
    hideBreakdowns();
    return;
  }
  byId('funnel-breakdown-summary').textContent =
    `By ${answer.breakdown ?? ''}: each actor under the value of its step-1 event`;
  const heads = [
    head('Value', 'col'),
    ...answer.steps.map((step) => head(`Step ${step.step}`, 'col', 'num')),
    head('Conversion', 'col', 'num'),
  ];
  (table.querySelector('thead') as HTMLElement).replaceChildren(row(heads));
  const rows = breakdowns.map((entry) => {
    const label = breakdownLabel(entry);
    const rate = formatPercent(entry.entered === 0 ? null : entry.completed / entry.entered);
    const cells = [...entry.steps.map((step) => formatCount(step.count)), rate].map((text) => {
      const td = document.createElement('td');
      td.className = 'num';
      td.textContent = text;
      return td;
    });
    return row([head(label, 'row'), ...cells]);
  });
  (table.querySelector('tbody') as HTMLElement).replaceChildren(...rows);
  table.hidden = false;
}

/** An entry's name: its value, `(none)` for no value, `Other (n values)` for the folded. */
export function breakdownLabel(
  entry: Pick<FunnelBreakdownResult, 'value' | 'other' | 'folded_values'>,
): string {
  if (!entry.other) return entry.value ?? '(none)';
  const n = entry.folded_values ?? 0;
  return `Other (${formatCount(n)} ${n === 1 ? 'value' : 'values'})`;
}

function head(text: string, scope: 'col' | 'row', className = ''): HTMLTableCellElement {
  const th = document.createElement('th');
  th.scope = scope;
  if (className !== '') th.className = className;
  th.textContent = text;
  return th;
}

function row(cells: HTMLTableCellElement[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}
