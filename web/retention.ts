// The retention panel: PostHog's retention insight from GET /api/v1/cohorts over the stats
// panel's period in the page's time zone. The form picks the start and return events (a page
// view, any event, an event by name or a page by path; the return event is the start event
// unless another is picked), the period (day, week, month), how many periods each cohort is
// followed, the cohort type (recurring, first time) and whom to count. The answer is a
// triangle: a row per cohort with its size and the share of it that came back in each later
// period, shaded by that share. Read as every insight panel is (web/insight-panel.ts): when
// the form is sent, then again for another period, zone, project or local day; one read in
// flight per tab.

import { type Access, type CohortsAnswer, fetchCohorts } from './api.ts';
import { InsightPanel } from './insight-panel.ts';
import { type InsightDeps, setNote } from './insight-read.ts';
import {
  type CohortEventKind,
  type CohortPeriodName,
  cohortEventParam,
  cohortLabel,
  formatPercent,
  periodHeading,
  retentionRates,
  STEP_FIELD_HINT,
  shadeOf,
} from './insights-format.ts';
import { formatCount } from './period.ts';
import { byId } from './view.ts';

/**
 * Shades from which a cell's text turns (dashboard.css): `strong` cells get white text on the
 * dark scheme and black on the light one, `deepest` white on both (on the light scheme the
 * accent over white leaves neither ink nor white 4.5:1 between 0.85 and 0.97; black reads to
 * 0.98, white from there).
 */
const STRONG_SHADE_MIN = 0.8;
const DEEPEST_SHADE_MIN = 0.98;

/** The event fields of the form: kind select and the name or path it needs. */
const EVENT_FIELDS = [
  { kind: 'retention-start-kind', text: 'retention-start-text', param: 'start' },
  { kind: 'retention-return-kind', text: 'retention-return-text', param: 'return' },
] as const;

export class RetentionPanel extends InsightPanel<CohortsAnswer> {
  constructor(deps: InsightDeps) {
    super(deps, 'retention', 'The retention');
    for (const field of EVENT_FIELDS) {
      const select = byId<HTMLSelectElement>(field.kind);
      select.addEventListener('change', () => showTextField(field.kind, field.text));
      showTextField(field.kind, field.text);
    }
  }

  /** The form as the API's parameters (the return event left out for "the start event"). */
  private params(): Record<string, string> {
    const params: Record<string, string> = {
      period: byId<HTMLSelectElement>('retention-period').value,
      periods: byId<HTMLInputElement>('retention-periods').value.trim(),
      cohort: byId<HTMLSelectElement>('retention-cohort').value,
      by: byId<HTMLSelectElement>('retention-by').value,
    };
    for (const field of EVENT_FIELDS) {
      const kind = byId<HTMLSelectElement>(field.kind).value as CohortEventKind;
      const value = cohortEventParam(kind, byId<HTMLInputElement>(field.text).value);
      if (value !== null) params[field.param] = value;
    }
    return params;
  }

  protected fetchAnswer(access: Access, range: Record<string, string>): Promise<CohortsAnswer> {
    return fetchCohorts(access, { ...range, ...this.params() });
  }

  protected show(answer: CohortsAnswer): void {
    const period = answer.period as CohortPeriodName;
    const columns = Math.max(0, ...answer.cohorts.map((c) => c.returned.length));
    const table = byId('retention-table');
    const headings = ['Cohort', 'Size', ...Array.from({ length: columns }, (_, k) => k)];
    (table.querySelector('thead tr') as HTMLElement).replaceChildren(
      ...headings.map((heading) => {
        const th = document.createElement('th');
        th.scope = 'col';
        th.textContent = typeof heading === 'number' ? periodHeading(period, heading) : heading;
        if (heading !== 'Cohort') th.className = 'num';
        return th;
      }),
    );
    const rows = answer.cohorts.map((cohort) => cohortRow(cohort, period, columns));
    (table.querySelector('tbody') as HTMLElement).replaceChildren(...rows);
    const people = answer.cohorts.reduce((sum, c) => sum + c.size, 0);
    byId('retention-summary').textContent =
      `${answer.cohort === 'first' ? 'First-time' : 'Recurring'} cohorts by ${period}, ` +
      `by ${answer.by} · ${answer.tz}`;
    const note = byId('retention-note');
    if (people === 0) setNote(note, 'No one did the start event in this period.');
    else {
      const clock = new Intl.DateTimeFormat(undefined, {
        timeStyle: 'medium',
        timeZone: answer.tz,
      });
      setNote(note, `Updated ${clock.format(Date.now())}`);
    }
  }
}

/** Shows the name or path field of an event only for the kinds that need one. */
function showTextField(kindId: string, textId: string): void {
  const kind = byId<HTMLSelectElement>(kindId).value;
  const input = byId<HTMLInputElement>(textId);
  input.hidden = kind !== 'name' && kind !== 'path';
  input.placeholder = kind === 'path' ? '/pricing' : 'signup';
  input.title = STEP_FIELD_HINT;
}

/**
 * One cohort's row: its period and size, then a cell per period it was followed (its share,
 * with the count in a visually hidden text and the title), empty cells after its last (the
 * triangle).
 */
function cohortRow(
  cohort: CohortsAnswer['cohorts'][number],
  period: CohortPeriodName,
  columns: number,
): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const head = document.createElement('th');
  head.scope = 'row';
  head.textContent = cohortLabel(cohort.start, period);
  const size = document.createElement('td');
  size.className = 'num';
  size.textContent = formatCount(cohort.size);
  const rates = retentionRates(cohort);
  const cells = Array.from({ length: columns }, (_, k) => {
    const td = document.createElement('td');
    const rate = rates[k];
    if (rate === undefined) {
      td.className = 'retention-cell none';
      return td;
    }
    td.className = 'num retention-cell';
    const count = `${formatCount(cohort.returned[k] ?? 0)} of ${formatCount(cohort.size)}`;
    // The count is read out with the share ("50% (1 of 2)"): a title alone reaches neither the
    // keyboard nor a screen reader. The title stays for the pointer's tooltip.
    const spoken = document.createElement('span');
    spoken.className = 'visually-hidden';
    spoken.textContent = ` (${count})`;
    td.replaceChildren(formatPercent(rate), spoken);
    td.title = count;
    const shade = shadeOf(rate);
    // Set through the CSSOM: the page's CSP allows no inline style attributes.
    td.style.setProperty('--shade', String(shade));
    if (shade >= STRONG_SHADE_MIN) td.classList.add('strong');
    if (shade >= DEEPEST_SHADE_MIN) td.classList.add('deepest');
    return td;
  });
  tr.append(head, size, ...cells);
  return tr;
}
