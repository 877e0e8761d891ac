// Names ordered by a time, oldest first: a binary min-heap with lazy deletion. A name's time is
// pushed again whenever it changes; entries that no longer match their name's current time are
// skipped when they reach the top, and the heap is rebuilt once stale entries outnumber live
// ones, so each operation is O(log n) amortized (the latest-metric table evicts its oldest
// metric in O(log n), not by scanning every name).

interface Entry {
  name: string;
  at: number;
}

/** Oldest first; of the same time, by name, so the order never depends on arrival. */
function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.name < b.name);
}

export class OldestFirst {
  private heap: Entry[] = [];

  /**
   * `current(name)`: the name's time now, or undefined once it is gone; an entry that does not
   * match it is stale.
   */
  constructor(private readonly current: (name: string) => number | undefined) {}

  /** Notes that `name`'s time is now `at`. `live`: how many names are current (for compaction). */
  note(name: string, at: number, live: number): void {
    if (this.heap.length > 2 * live + 16) this.rebuild();
    this.push({ name, at });
  }

  /** The current name with the oldest time, or null when there is none. */
  peek(): Entry | null {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return null;
      if (this.current(top.name) === top.at) return top;
      this.pop();
    }
  }

  private rebuild(): void {
    const entries = this.heap.filter((e) => this.current(e.name) === e.at);
    const seen = new Set<string>();
    this.heap = [];
    for (const e of entries) {
      if (seen.has(e.name)) continue; // a name pushed twice at the same time
      seen.add(e.name);
      this.push(e);
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent] as Entry)) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && before(heap[right] as Entry, heap[left] as Entry) ? right : left;
      if (!before(heap[child] as Entry, last)) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = last;
  }
}
