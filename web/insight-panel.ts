// The read lifecycle the funnel and retention panels share. Nothing is read until the panel's
// form is sent; from then on another period, zone, project or local day (web/dashboard.ts)
// reads it again, one read in flight per tab (SerialRead). A read is over the stats period in
// the page's time zone (insightRange): with no valid period the panel is hidden and says why,
// an answer of another range is hidden before reading, an answer that comes back after the
// form, period, zone or project changed (or after forget()) is dropped, and a failure is shown
// on the panel's note (showFailure). While a read is in flight the section is `aria-busy`;
// once an answer shows, its `data-shown` holds the range's key for tests and tools. A panel
// supplies only its ids, its fetch (with its form's parameters) and its show.

import type { Access } from './api.ts';
import { type InsightDeps, insightRange, NO_RANGE, setNote, showFailure } from './insight-read.ts';
import { type ReadOutcome, SerialRead } from './serial-read.ts';
import { byId } from './view.ts';

export abstract class InsightPanel<Answer> {
  private readonly reads = new SerialRead((superseded) => this.readOnce(superseded));
  /** Whether the panel's answer was asked for: another period, zone or project reads it again. */
  private asked = false;
  /** The days and zone of the answer on screen; another range hides it before reading. */
  private shownKey: string | null = null;
  /** Bumped by forget(): an answer read before it is of another project or key. */
  private generation = 0;

  /**
   * `id` is the panel's section; its form, note, days label and table are `${id}-form`,
   * `${id}-note`, `${id}-days` and `${id}-table`. `what` names its answer in a failure
   * ("The funnel could not be loaded: …").
   */
  protected constructor(
    private readonly deps: InsightDeps,
    private readonly id: string,
    private readonly what: string,
  ) {
    byId(`${id}-form`).addEventListener('submit', (event) => {
      event.preventDefault();
      this.asked = true;
      void this.load('changed');
    });
  }

  /** Reads the answer asked for (now, or right after the read in flight). */
  load(why: 'changed' | 'refresh'): Promise<void> {
    if (!this.asked || !this.deps.shown()) return Promise.resolve();
    return this.reads.request(why);
  }

  /** Stops a retry of a locked page. */
  stop(): void {
    this.reads.cancelRetry();
  }

  /**
   * Another project or key: nothing shown or in flight is of it (the form stays), and a retry
   * of a busy read is dropped: it would read the new project before its access is checked.
   */
  forget(): void {
    this.generation++;
    this.reads.cancelRetry();
    this.hide();
  }

  /** Reads the answer over `range` (the period's query parameters) with the form's own. */
  protected abstract fetchAnswer(access: Access, range: Record<string, string>): Promise<Answer>;

  /** Fills the table, its summary and the note with an answer (the table is then shown). */
  protected abstract show(answer: Answer): void;

  /** Hides what the panel shows besides its table (none by default). */
  protected hideMore(): void {}

  private hide(): void {
    this.shownKey = null;
    delete byId(this.id).dataset.shown;
    byId(`${this.id}-table`).hidden = true;
    this.hideMore();
  }

  private async readOnce(superseded: () => boolean): Promise<ReadOutcome> {
    const note = byId(`${this.id}-note`);
    const section = byId(this.id);
    delete section.dataset.shown;
    const range = insightRange(this.deps);
    if (range === null) {
      this.hide();
      setNote(note, NO_RANGE, true);
      return { kind: 'done' };
    }
    // Another period or zone: the last one's answer is not shown under its days.
    if (range.key !== this.shownKey) this.hide();
    const generation = this.generation;
    const stale = () => superseded() || generation !== this.generation;
    byId(`${this.id}-days`).textContent = range.label;
    section.setAttribute('aria-busy', 'true');
    try {
      const answer = await this.fetchAnswer(this.deps.access(), range.params);
      // The form, period, zone or project changed while this was in flight: the next read shows.
      if (stale()) return { kind: 'done' };
      this.show(answer);
      byId(`${this.id}-table`).hidden = false;
      this.shownKey = range.key;
      section.dataset.shown = range.key;
      return { kind: 'done' };
    } catch (error) {
      if (stale()) return { kind: 'done' };
      this.hide();
      return showFailure(error, note, this.what, this.deps.onUnauthorized);
    } finally {
      section.setAttribute('aria-busy', 'false');
    }
  }
}
