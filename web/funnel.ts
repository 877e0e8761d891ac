// The funnel panel: 2 to 20 steps (each an event name or a page path, added and removed in
// the form), a conversion window and whom to count, read from GET /api/v1/funnel over the
// stats panel's period in the page's time zone, and shown as PostHog shows a funnel: each
// step's count, its conversion from the start and from the previous step, the drop-off, the
// median and average time from the previous step, and a horizontal bar of its share of step
// 1. Read when the form is sent, then again for another period, zone or project; one read in
// flight per tab (SerialRead). Text goes in with textContent only: names and paths are typed
// or come from event senders and must never become markup.

import { type FunnelAnswer, fetchFunnel } from './api.ts';
import { type InsightDeps, insightRange, NO_RANGE, setNote, showFailure } from './insight-read.ts';
import {
  formatPercent,
  formatWindow,
  type StepKind,
  stepLabel,
  stepParam,
  windowParam,
} from './insights-format.ts';
import { formatCount, formatDuration } from './period.ts';
import { type ReadOutcome, SerialRead } from './serial-read.ts';
import { byId } from './view.ts';

/** The steps of a funnel, as the API takes them (query/limits.ts: funnelSteps{Min,Max}). */
const STEPS_MIN = 2;
const STEPS_MAX = 20;

/** The steps the form starts with: a page view, then an event (as PostHog starts one). */
const FIRST_STEPS: StepKind[] = ['path', 'name'];

/** What a step's field shows while empty, by what it matches. */
const PLACEHOLDERS: Record<StepKind, string> = { path: '/pricing', name: 'signup' };

export class FunnelPanel {
  private readonly reads = new SerialRead((superseded) => this.readOnce(superseded));
  /** Whether a funnel was asked for: another period, zone or project then reads it again. */
  private asked = false;
  /** The days and zone of the funnel on screen; another range hides it before reading. */
  private shownKey: string | null = null;
  /** Bumped by forget(): an answer read before it is of another project or key. */
  private generation = 0;

  constructor(private readonly deps: InsightDeps) {
    for (const kind of FIRST_STEPS) this.addStep(kind);
    byId('funnel-add').addEventListener('click', () => {
      this.addStep('name');
      this.focusStep(this.stepItems().length - 1);
    });
    byId('funnel-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.asked = true;
      void this.load('changed');
    });
  }

  /** Reads the funnel asked for (now, or right after the read in flight). */
  load(why: 'changed' | 'refresh'): Promise<void> {
    if (!this.asked || !this.deps.shown()) return Promise.resolve();
    return this.reads.request(why);
  }

  /** Stops a retry of a locked page. */
  stop(): void {
    this.reads.cancelRetry();
  }

  /** Another project or key: nothing shown or in flight is of it (the form stays). */
  forget(): void {
    this.generation++;
    this.hide();
  }

  private hide(): void {
    this.shownKey = null;
    delete byId('funnel').dataset.shown;
    byId('funnel-table').hidden = true;
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

  private async readOnce(superseded: () => boolean): Promise<ReadOutcome> {
    const note = byId('funnel-note');
    const section = byId('funnel');
    delete section.dataset.shown;
    const range = insightRange(this.deps);
    if (range === null) {
      this.hide();
      setNote(note, NO_RANGE, true);
      return { kind: 'done' };
    }
    // Another period or zone: the last one's funnel is not shown under its days.
    if (range.key !== this.shownKey) this.hide();
    const generation = this.generation;
    const stale = () => superseded() || generation !== this.generation;
    byId('funnel-days').textContent = range.label;
    const params = {
      ...range.params,
      window: windowParam(
        byId<HTMLInputElement>('funnel-window').value,
        byId<HTMLSelectElement>('funnel-window-unit').value,
      ),
      by: byId<HTMLSelectElement>('funnel-by').value,
    };
    section.setAttribute('aria-busy', 'true');
    try {
      const answer = await fetchFunnel(this.deps.access(), this.steps(), params);
      // The form, period, zone or project changed while this was in flight: the next read shows.
      if (stale()) return { kind: 'done' };
      this.show(answer);
      this.shownKey = range.key;
      section.dataset.shown = range.key;
      return { kind: 'done' };
    } catch (error) {
      if (stale()) return { kind: 'done' };
      this.hide();
      return showFailure(error, note, 'The funnel', this.deps.onUnauthorized);
    } finally {
      section.setAttribute('aria-busy', 'false');
    }
  }

  private show(answer: FunnelAnswer): void {
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
    table.hidden = false;
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
