// The signal that some credential may have lost its access just now: a read key revoked, a
// session ended (a logout, a password changed, a refresh token reused), a member removed, an
// account deleted. A credential kept in use past its request (a live socket, an export being
// sent) is checked every few seconds anyway; a listener (the live hub, the exports:
// http/export-access.ts) checks again at once instead, so access made to end through Tally
// ends then, not seconds later.

export class AccessLost {
  private readonly listeners = new Set<() => void>();

  /** Calls `listener` at every loss of access; the function returned stops that. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Some access was lost: every listener is told (each only notes it; none may throw). */
  notify(): void {
    for (const listener of this.listeners) listener();
  }
}
