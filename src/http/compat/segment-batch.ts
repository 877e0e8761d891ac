// The messages of a Segment batch body. Segment's HTTP Tracking API takes, beside `batch`, a
// `context` (and `integrations`) for the whole request, merged into each message's context:
// a client batching for one device or page sends its `userAgent`, `ip` and `page` once.

import { AppError, requestLimits } from '../../core/index.ts';
import { objectOf } from './ingest.ts';

/**
 * The messages of `body.batch`, each with the batch's `context` under its own: a key of the
 * message's context wins whole (its `page` is its page, never mixed with the batch's). At most
 * requestLimits.batchEventsMax of them, as on every ingest route (400, Segment's status for a
 * limit): within the 5 MiB of a request, small messages would be some 100,000 events at once.
 */
export function batchOf(body: Record<string, unknown>): unknown[] {
  const batch = body.batch;
  if (!Array.isArray(batch) || batch.length === 0) {
    throw new AppError('bad_request', 'batch must be a non-empty array of messages');
  }
  if (batch.length > requestLimits.batchEventsMax) {
    throw new AppError(
      'bad_request',
      `batch holds at most ${requestLimits.batchEventsMax} messages (got ${batch.length})`,
    );
  }
  const shared = objectOf(body.context);
  if (shared === undefined) return batch;
  return batch.map((item) => {
    const message = objectOf(item);
    if (message === undefined) return item;
    return { ...message, context: { ...shared, ...objectOf(message.context) } };
  });
}
