// Invariant checks. A failed assert() is a bug, not an expected failure: the process must stop
// (the write-ahead log makes a restart safe) rather than continue with broken state.

export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
