// Runs a round of work in bounded steps: a step does at most one turn's share and says whether
// the round is done; between steps the event loop runs (setImmediate), so a round over many
// tenants or sockets never stalls requests. At most one round runs at a time.

/** One turn's share of a round; true when the round is done. */
export type Step = () => boolean;

export class TurnRunner {
  private running: Promise<void> | null = null;
  private stopped = false;

  /** Whether a round is still going on (it yielded and has steps left). */
  get busy(): boolean {
    return this.running !== null;
  }

  /**
   * Runs `step` until it is done: the first step at once (a round that fits one turn ends
   * before this returns), the others in later turns. While a round runs, returns it instead.
   */
  run(step: Step): Promise<void> {
    if (this.running !== null) return this.running;
    this.stopped = false;
    if (step()) return Promise.resolve();
    this.running = new Promise<void>((resolve) => {
      const turn = () => {
        if (this.stopped || step()) {
          this.running = null;
          resolve();
        } else setImmediate(turn);
      };
      setImmediate(turn);
    });
    return this.running;
  }

  /** Ends a running round before its next step. */
  stop(): void {
    this.stopped = true;
  }
}
