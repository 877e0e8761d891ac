// Runs the tenant actors' ticks of one turn of the event loop together, then starts the group
// commit right away. Requests parsed in one turn so reach the log in the same turn's check
// phase, instead of each hop (actor tick, then commit) waiting for a turn of its own.

export class Ticker {
  private due: (() => void)[] = [];
  private scheduled = false;

  /** `afterTicks` runs once after every tick of a turn, e.g. to start the commit they queued. */
  constructor(private readonly afterTicks: () => void) {}

  /** Runs `tick` at the end of this turn of the event loop, with every other tick due. */
  schedule(tick: () => void): void {
    this.due.push(tick);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const due = this.due;
    this.due = [];
    for (const tick of due) tick();
    this.afterTicks();
  }
}
