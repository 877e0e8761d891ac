// The funnel panel: 2 to 20 steps (each an event name or a page path, added and removed in
// the form; property conditions typed after it, `purchase,property.plan:pro`, are sent as
// typed), a conversion window and whom to count, read from GET /api/v1/funnel over the
// stats panel's period in the page's time zone, and shown as PostHog shows a funnel: each
// step's count, its conversion from the start and from the previous step, the drop-off, the
// median and average time from the previous step, and a horizontal bar of its share of step
// 1; broken down by a column or property when asked (web/funnel-breakdown.ts). Read as every
// insight panel is (web/insight-panel.ts): when the form is sent, then again for another
// period, zone or project; one read in flight per tab. Text goes in with textContent only:
// names and paths are typed or come from event senders and must never become markup.

import { type Access, type FunnelAnswer, fetchFunnel } from './api.ts';
import {
  breakdownParam,
  hideBreakdowns,
  showBreakdowns,
  watchBreakdownChoice,
} from './funnel-breakdown.ts';
import { InsightPanel } from './insight-panel.ts';
import { type InsightDeps, setNote } from './insight-read.ts';
import {
  formatPercent,
  formatWindow,
  STEP_FIELD_HINT,
  type StepKind,
  stepLabel,
  stepParam,
  windowParam,
} from './insights-format.ts';
import { formatCount, formatDuration } from './period.ts';
import { byId } from './view.ts';

/** The steps of a funnel, as the API takes them (query/limits.ts: funnelSteps{Min,Max}). */
const STEPS_MIN = 2;
const STEPS_MAX = 20;

/** The steps the form starts with: a page view, then an event (as PostHog starts one). */
const FIRST_STEPS: StepKind[] = ['path', 'name'];

/** What a step's field shows while empty, by what it matches. */
const PLACEHOLDERS: Record<StepKind, string> = { path: '/pricing', name: 'signup' };

export class FunnelPanel extends InsightPanel<FunnelAnswer> {
  constructor(deps: InsightDeps) {
    super(deps, 'funnel', 'The funnel');
    for (const kind of FIRST_STEPS) this.addStep(kind);
    watchBreakdownChoice();
    byId('funnel-add').addEventListener('click', () => {
      this.addStep('name');
      this.focusStep(this.stepItems().length - 1);
    });
  }

  private stepItems(): HTMLLIElement[] {
    return Array.from(byId('funnel-steps').querySelectorAll<HTMLLIElement>('li'));
  }

  private addStep(kind: StepKind): void {
    if (this.stepItems().length >= STEPS_MAX) return;
    const li = document.createElement('li');
    li.className = 'step';
    const select = document.createElement('select');
    select.append(new Option('event', 'name'), new Option('page path', 'path'));
    select.value = kind;
    const input = document.createElement('input');
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.placeholder = PLACEHOLDERS[kind];
    input.title = STEP_FIELD_HINT;
    select.addEventListener('change', () => {
      input.placeholder = PLACEHOLDERS[select.value as StepKind];
    });
    const label = document.createElement('label');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    remove.textContent = '×';
    remove.addEventListener('click', () => {
      if (this.stepItems().length <= STEPS_MIN) return;
      const index = this.stepItems().indexOf(li);
      li.remove();
      this.renumber();
      // The focused button is gone: the focus goes to the step now in its place, not the page.
      this.focusStep(Math.min(index, this.stepItems().length - 1));
    });
    li.append(label, select, input, remove);
    byId('funnel-steps').append(li);
    this.renumber();
  }

  /** Step numbers, ids and accessible names follow the order; add and remove obey the limits. */
  private renumber(): void {
    const items = this.stepItems();
    items.forEach((li, i) => {
      const [label, select, input, remove] = li.children as unknown as [
        HTMLLabelElement,
        HTMLSelectElement,
        HTMLInputElement,
        HTMLButtonElement,
      ];
      input.id = `funnel-step-${i + 1}`;
      label.htmlFor = input.id;
      label.textContent = `Step ${i + 1}`;
      select.setAttribute('aria-label', `Step ${i + 1} matches`);
      remove.setAttribute('aria-label', `Remove step ${i + 1}`);
      remove.disabled = items.length <= STEPS_MIN;
    });
    (byId('funnel-add') as HTMLButtonElement).disabled = items.length >= STEPS_MAX;
  }

  private focusStep(index: number): void {
    this.stepItems()[index]?.querySelector('input')?.focus();
  }

  /** The form's steps in the API's syntax, in order (empty ones too: the API says why). */
  private steps(): string[] {
    return this.stepItems().map((li) => {
      const kind = (li.querySelector('select') as HTMLSelectElement).value as StepKind;
      return stepParam(kind, (li.querySelector('input') as HTMLInputElement).value);
    });
  }

  protected fetchAnswer(access: Access, range: Record<string, string>): Promise<FunnelAnswer> {
    const params: Record<string, string> = {
      ...range,
      window: windowParam(
        byId<HTMLInputElement>('funnel-window').value,
        byId<HTMLSelectElement>('funnel-window-unit').value,
      ),
      by: byId<HTMLSelectElement>('funnel-by').value,
    };
    const breakdown = breakdownParam();
    if (breakdown !== undefined) params.breakdown = breakdown;
    return fetchFunnel(access, this.steps(), params);
  }

  protected override hideMore(): void {
    hideBreakdowns();
  }

  protected show(answer: FunnelAnswer): void {
    const table = byId('funnel-table');
    const note = byId('funnel-note');
    const rate = formatPercent(answer.entered === 0 ? null : answer.completed / answer.entered);
    byId('funnel-summary').textContent =
      `${formatCount(answer.entered)} entered, ${formatCount(answer.completed)} completed ` +
      `(${rate}) · within ${formatWindow(answer.window_seconds)} · by ${answer.by}`;
    const rows = answer.steps.map((step, i) =>
      stepRow(step, answer.entered, answer.steps[i - 1]?.count ?? answer.entered),
    );
    if (answer.entered === 0) {
      setNote(note, 'No one did step 1 in this period: nothing to convert.');
    } else {
      const clock = new Intl.DateTimeFormat(undefined, {
        timeStyle: 'medium',
        timeZone: answer.tz,
      });
      setNote(note, `Updated ${clock.format(Date.now())}`);
    }
    (table.querySelector('tbody') as HTMLElement).replaceChildren(...rows);
    showBreakdowns(answer);
  }
}

/**
 * One step's row: its name and bar, count, rates, drop-off and times from the previous. A rate
 * over no one (the API's 0) is "–", not 0%: nobody was there to convert.
 */
function stepRow(
  step: FunnelAnswer['steps'][number],
  entered: number,
  previous: number,
): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const head = document.createElement('th');
  head.scope = 'row';
  const name = document.createElement('span');
  name.className = 'step-name';
  name.textContent = `${step.step}. ${stepLabel(step.match)}`;
  const bar = document.createElement('span');
  bar.className = 'funnel-bar';
  bar.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'fill';
  // Set through the CSSOM: the page's CSP allows no inline style attributes.
  fill.style.width = `${entered === 0 ? 0 : (step.count / entered) * 100}%`;
  bar.append(fill);
  head.append(name, bar);
  const first = step.step === 1;
  const cells = [
    formatCount(step.count),
    formatPercent(entered === 0 ? null : step.conversion_from_start),
    first ? '–' : formatPercent(previous === 0 ? null : step.conversion_from_previous),
    first ? '–' : formatCount(step.dropped),
    formatDuration(step.median_seconds_from_previous),
    formatDuration(step.avg_seconds_from_previous),
  ].map((text) => {
    const td = document.createElement('td');
    td.className = 'num';
    td.textContent = text;
    return td;
  });
  tr.append(head, ...cells);
  return tr;
}
