// Whether an interval has passed on the hub's clock, which may step back (NTP): the pushes,
// heartbeats, revivals and credentials rounds all ask it. Its own module, importing nothing,
// so the credentials schedule (recheck.ts, which the message schemas import) can use it too.

/** Whether `intervalMs` has passed since `sinceMs`; a clock that stepped back counts as due. */
export function isDue(nowMs: number, sinceMs: number, intervalMs: number): boolean {
  return nowMs - sinceMs >= intervalMs || nowMs < sinceMs;
}
