// Which visitor a Umami session id names. Umami's session reads are by visitor_id (a session
// is a visitor), but the sessionId /api/send answers an item with a distinct `id` is stored as
// its event's anonymous_id while the visitor is that user (visitor_id = user_id): Umami reads
// that session by the id it answered, so a client asks for it. An id names itself when events
// have it as their visitor_id, else the visitor of the newest event with it as anonymous_id.
// Read only when a session read by visitor_id found nothing: one scan of the tenant's events
// (all of them, identify events too, whose data a session's properties are; bots left out, as
// in those reads), hot tier and segments as every read.

import type { EventSource } from '../../storage/index.ts';
import { filterConditions } from '../filters.ts';
import { readSnapshotRows } from '../read.ts';

/**
 * The visitor_id of the session `id` names: `id` itself when it is an event's visitor_id, else
 * the visitor of the newest event (then the smallest visitor_id) whose anonymous_id it is;
 * null when neither. With `name`, only events of that name are looked at: a read of one name's
 * events (a session's identify data) scans what it reads anyway, not every event of all time.
 */
export async function findSessionVisitor(
  source: EventSource,
  tenant: string,
  id: string,
  signal?: AbortSignal,
  name?: string,
): Promise<string | null> {
  const [row] = await readSnapshotRows(source, tenant, {}, signal, (snapshot, params) => {
    const asked = params.add(id);
    const conditions = [
      ...filterConditions({}, params),
      ...(name === undefined ? [] : [`e.name = ${params.add(name)}`]),
      'e.visitor_id IS NOT NULL',
      `(e.visitor_id = ${asked} OR e.anonymous_id = ${asked})`,
    ];
    return `SELECT e.visitor_id FROM ${snapshot.allFrom} AS e
      WHERE ${conditions.join(' AND ')}
      ORDER BY e.visitor_id = ${asked} DESC, e."timestamp" DESC, e.visitor_id LIMIT 1`;
  });
  return row === undefined ? null : String(row.visitor_id);
}
