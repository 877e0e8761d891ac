// The ingest path every compatibility route shares: the facts of a request (receive time, agent,
// client address, the resolver's tenant mapping for an SDK's write key), validation through the
// unified event rules, and one engine call whose refusal becomes an AppError.

import { AppError, type BaseEvent, type FieldIssue } from '../../core/index.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { acceptedOrThrow } from '../routes/events.ts';

export { type ContextOptions, contextOf, type Server } from '../prepare.ts';

/** Writes events through the one engine path; resolves once they are durable. */
export async function ingest(
  deps: AppDeps,
  request: Request,
  events: BaseEvent[],
  locOf: (i: number) => (string | number)[],
) {
  noteTenant(request, [...new Set(events.map((e) => e.tenant))].join(','));
  if (!deps.isAccepting()) throw new AppError('shutting_down', 'the server is shutting down');
  return acceptedOrThrow(await deps.engine.ingestor.ingest(events), locOf);
}

/** Renames the fields of 422 issues to an API's own names (e.g. properties → payload). */
export function renamedIssues(error: unknown, names: Record<string, string>): unknown {
  if (!(error instanceof AppError) || error.issues === undefined) return error;
  const issues: FieldIssue[] = error.issues.map((issue) => ({
    ...issue,
    loc: issue.loc.map((part) => (typeof part === 'string' ? (names[part] ?? part) : part)),
  }));
  return AppError.validation(issues);
}

/** One line per issue, for APIs whose clients expect a 400 with a message. */
export function issuesText(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; ');
}

/** A plain JSON object, or undefined. */
export function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A non-empty string, or undefined (numbers are taken as their decimal text). */
export function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
