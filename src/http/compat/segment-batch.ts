// The messages of a Segment batch body. Segment's HTTP Tracking API takes, beside `batch`, a
// `context` (and `integrations`) for the whole request, merged into each message's context:
// a client batching for one device or page sends its `userAgent`, `ip` and `page` once.

import { AppError } from '../../core/index.ts';
import { objectOf } from './ingest.ts';

/**
 * The messages of `body.batch`, each with the batch's `context` under its own: a key of the
 * message's context wins whole (its `page` is its page, never mixed with the batch's).
 */
export function batchOf(body: Record<string, unknown>): unknown[] {
  const batch = body.batch;
  if (!Array.isArray(batch) || batch.length === 0) {
    throw new AppError('bad_request', 'batch must be a non-empty array of messages');
  }
  const shared = objectOf(body.context);
  if (shared === undefined) return batch;
  return batch.map((item) => {
    const message = objectOf(item);
    if (message === undefined) return item;
    return { ...message, context: { ...shared, ...objectOf(message.context) } };
  });
}
